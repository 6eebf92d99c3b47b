"""The metrics dashboard in the admin (/admin/metrics/); the workspace shows the same at /desk/metrics/."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from tickets.models import Team
from tickets.permissions import metrics_team_ids
from tickets.reporting.dashboard import DashboardForm, dashboard_context


def metrics_dashboard(request: HttpRequest) -> HttpResponse:
    team_ids = metrics_team_ids(request.user)
    if team_ids == []:
        raise PermissionDenied("The metrics dashboard is for team leads and admins.")
    teams = Team.objects.all() if team_ids is None else Team.objects.filter(pk__in=team_ids)
    form = DashboardForm(request.GET, teams=teams)
    context = {**admin.site.each_context(request), "title": "Metrics dashboard", "form": form}
    if not form.is_valid():
        return TemplateResponse(request, "admin/tickets/metrics_dashboard.html", context, status=400)
    data = form.cleaned_data
    context.update(
        dashboard_context(team_ids=team_ids, team=data["team"], start=data["start"], end=data["end"])
    )
    return TemplateResponse(request, "admin/tickets/metrics_dashboard.html", context)
