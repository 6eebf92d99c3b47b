"""The team-lead dashboard in the admin: charts drawn on the server from `tickets.reporting.metrics`."""

from datetime import timedelta

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.safestring import mark_safe

from tickets.adapters import sla as sla_adapter
from tickets.models import Channel, Team, Ticket
from tickets.permissions import metrics_team_ids
from tickets.reporting import charts as svg_charts
from tickets.reporting import metrics


class DashboardForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="All my teams")

    def clean(self) -> dict:
        data = super().clean()
        today = timezone.localdate()
        data["end"] = data.get("end") or today
        # Near date.min the default start would overflow; the range check below refuses such an end.
        default_start = (
            data["end"] - timedelta(days=29) if data["end"] > metrics.EARLIEST_DATE else data["end"]
        )
        data["start"] = data.get("start") or default_start
        if error := metrics.date_range_error(data["start"], data["end"]):
            raise forms.ValidationError(error)
        return data


def _sla_context(tickets, trend: dict, labels: list[str]) -> dict:
    """SLA compliance per period and the tickets breaching right now."""
    return {
        "sla_chart": mark_safe(
            svg_charts.line_chart(
                title="SLA compliance (%)",
                labels=labels,
                series=metrics.sla_compliance_series(trend),
                unit="%",
            )
        ),
        "sla_live": sla_adapter.live_breaches(tickets, timezone.now()),
    }


def metrics_dashboard(request: HttpRequest) -> HttpResponse:
    team_ids = metrics_team_ids(request.user)
    if team_ids == []:
        raise PermissionDenied("The metrics dashboard is for team leads and admins.")
    teams = Team.objects.all() if team_ids is None else Team.objects.filter(pk__in=team_ids)
    form = DashboardForm(request.GET)
    form.fields["team"].queryset = teams
    context = {**admin.site.each_context(request), "title": "Metrics dashboard", "form": form}
    if not form.is_valid():
        return TemplateResponse(request, "admin/tickets/metrics_dashboard.html", context, status=400)
    data = form.cleaned_data
    tickets = Ticket.objects.filter(team__in=[data["team"]] if data.get("team") else teams)
    period = "day" if (data["end"] - data["start"]).days <= 62 else "week"
    trend = metrics.ticket_metrics(tickets=tickets, start=data["start"], end=data["end"], group_by=period)
    volume = metrics.ticket_volume_by_channel(
        tickets=tickets, start=data["start"], end=data["end"], group_by=period
    )
    agents = metrics.ticket_metrics(tickets=tickets, start=data["start"], end=data["end"], group_by="agent")
    labels = [group["key"][5:] for group in trend["groups"]]  # MM-DD is enough on an axis
    channel_names = dict(Channel.choices)

    def line(measure: str) -> list:
        return {
            "median": [group[measure]["median"] for group in trend["groups"]],
            "p90": [group[measure]["p90"] for group in trend["groups"]],
        }

    context.update(_sla_context(tickets, trend, labels))
    context.update(
        start=data["start"],
        end=data["end"],
        period=period,
        totals=trend["totals"],
        leaderboard=sorted(
            (group for group in agents["groups"] if group["key"] is not None),
            key=lambda group: (-group["tickets_solved"], group["label"]),
        ),
        volume_chart=mark_safe(
            svg_charts.stacked_bar_chart(
                title=f"Tickets created per {period}, by channel",
                labels=labels,
                series={channel_names[c]: counts for c, counts in volume["channels"].items()},
            )
        ),
        first_response_chart=mark_safe(
            svg_charts.line_chart(
                title="First response time (hours)",
                labels=labels,
                series=line("first_response_hours"),
                unit="h",
            )
        ),
        resolution_chart=mark_safe(
            svg_charts.line_chart(
                title="Resolution time (hours)", labels=labels, series=line("resolution_hours"), unit="h"
            )
        ),
        **_survey_and_phone_context(trend, labels),
    )
    return TemplateResponse(request, "admin/tickets/metrics_dashboard.html", context)


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def _survey_and_phone_context(trend: dict, labels: list[str]) -> dict:
    """Survey trend charts and the phone table; empty states when nothing was sent or called."""
    groups, totals = trend["groups"], trend["totals"]
    has_surveys = bool(totals["surveys_sent"] or any(totals[f"{k}_responses"] for k in metrics.SURVEY_KINDS))
    context: dict = {
        "has_surveys": has_surveys,
        "phone_rows": [group for group in groups if group["phone_calls"]],
        "phone_abandonment_percent": _percent(totals["phone_abandonment_rate"]),
        "survey_response_percent": _percent(totals["survey_response_rate"]),
    }
    if has_surveys:
        context.update(
            satisfaction_chart=mark_safe(
                svg_charts.line_chart(
                    title="CSAT, CES easy and survey response rate (%)",
                    labels=labels,
                    series={
                        "CSAT % satisfied": [group["csat"] for group in groups],
                        "CES % easy": [group["ces_percent_easy"] for group in groups],
                        "Response rate": [_percent(group["survey_response_rate"]) for group in groups],
                    },
                    unit="%",
                )
            ),
            nps_chart=mark_safe(
                svg_charts.line_chart(
                    title="Net Promoter Score", labels=labels, series={"NPS": [g["nps"] for g in groups]}
                )
            ),
            ces_chart=mark_safe(
                svg_charts.line_chart(
                    title="Customer effort (mean answer, 1-7, higher is easier)",
                    labels=labels,
                    series={"CES mean": [group["ces"] for group in groups]},
                )
            ),
        )
    return context
