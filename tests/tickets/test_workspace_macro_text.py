from tickets.workspace.macro_text import render_macro

VALUES = {
    "customer": {"name": "Ana Lima", "first_name": "Ana", "email": "ana@example.com"},
    "ticket": {"reference": "HD-1001", "subject": "Printer"},
    "agent": {"name": "Bo Berg", "first_name": "Bo"},
}


def test_allowed_placeholders_are_replaced_with_or_without_spaces():
    body = "Hi {{ customer.first_name }}, re {{ticket.reference}}: {{  agent.first_name  }}"
    assert render_macro(body, VALUES) == "Hi Ana, re HD-1001: Bo"


def test_expressions_and_template_tags_are_not_executed():
    body = "{{ 7*7 }} {% now 'Y' %} {{ customer.first_name|upper }} {% load static %}"
    assert render_macro(body, VALUES) == body


def test_unknown_objects_and_fields_stay_literal():
    body = "{{ customer.password }} {{ settings.SECRET_KEY }} {{ ticket.__class__ }} {{ user.email }}"
    assert render_macro(body, VALUES) == body


def test_substituted_values_are_not_scanned_again():
    values = {**VALUES, "customer": {**VALUES["customer"], "first_name": "{{ agent.name }}"}}
    assert render_macro("Hi {{ customer.first_name }}", values) == "Hi {{ agent.name }}"


def test_missing_value_becomes_empty():
    assert render_macro("Hi {{ customer.first_name }}!", {"customer": {"first_name": None}}) == "Hi !"


def test_html_in_values_is_left_as_text_for_the_plain_text_reply():
    values = {**VALUES, "ticket": {"reference": "<b>x</b>", "subject": ""}}
    assert render_macro("{{ ticket.reference }}", values) == "<b>x</b>"
