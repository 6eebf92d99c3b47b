import logging

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db


def test_a_403_explains_why_offers_a_way_back_and_logs_one_line_without_traceback(
    desk_client, agent_user, caplog
):
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = desk_client(agent_user).get("/desk/team/")
    body = response.content.decode()
    assert response.status_code == 403
    assert "You cannot open this page" in body
    assert "team lead" in body  # the reason the permission gives
    assert 'href="/desk/"' in body and "helpdesk/app.css" in body
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None and "Forbidden" in record.getMessage()


def test_an_unknown_address_gets_the_404_page_in_the_shell(client):
    response = client.get("/desk/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "There is nothing here" in body and "Go to the ticket queue" in body


def test_a_404_with_a_reason_shows_it(desk_client, agent_user):
    body = desk_client(agent_user).get("/desk/?view=bogus").content.decode()
    assert "There is no view &#x27;bogus&#x27;" in body


def test_the_500_page_renders_without_a_request_context():
    response = server_error(RequestFactory().get("/"))
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in body and 'href="/desk/"' in body


def test_pages_have_a_favicon(client):
    assert "helpdesk/favicon.svg" in client.get("/desk/login/").content.decode()
