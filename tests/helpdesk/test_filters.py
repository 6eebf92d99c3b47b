"""FilterSets that build their form class once (helpdesk/filters.py)."""

import pytest
from django.http import QueryDict
from django_filters import rest_framework as filters

from helpdesk.filters import FormClassOnceMixin
from tickets.api.views import TicketListFilterSet
from tickets.models import Team, Ticket


def test_the_ticket_lists_filters_build_their_form_class_once_and_still_validate_each_request():
    first = TicketListFilterSet(data=QueryDict("status=open"), queryset=Ticket.objects.none())
    second = TicketListFilterSet(data=QueryDict("status=exploded"), queryset=Ticket.objects.none())

    assert type(first.form) is type(second.form)
    assert first.form is not second.form
    assert first.is_valid()
    assert not second.is_valid()
    assert "status" in second.errors


class _PerRequestChoices(FormClassOnceMixin, filters.FilterSet):
    team = filters.ModelChoiceFilter(queryset=lambda request: Team.objects.filter(lead=request.user))

    class Meta:
        model = Ticket
        fields = []


@pytest.mark.django_db
def test_a_filterset_whose_choices_depend_on_the_request_builds_its_form_per_request(rf, admin_user):
    request = rf.get("/")
    request.user = admin_user
    first = _PerRequestChoices(data=QueryDict(), queryset=Ticket.objects.none(), request=request)
    second = _PerRequestChoices(data=QueryDict(), queryset=Ticket.objects.none(), request=request)

    assert type(first.form) is not type(second.form)
