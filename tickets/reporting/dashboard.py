"""The metrics dashboard: one implementation behind the admin's /admin/metrics/ and the workspace's
/desk/metrics/ (each view only checks access and renders its own page around this context).

Numbers come from `tickets.reporting.metrics` (the same as GET /api/v1/metrics/); charts from
`tickets.reporting.charts`.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from tickets.adapters import sla as sla_adapter
from tickets.deflection.selectors import Deflection, deflection_measures
from tickets.models import Channel, Team, Ticket
from tickets.reporting import charts, metrics

DEFAULT_DAYS = 30
DAILY_UP_TO_DAYS = 62  # longer periods are drawn per week


class DashboardForm(forms.Form):
    """The period (default: the last 30 days) and optionally one of the reader's teams."""

    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    team = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Team")

    def __init__(self, *args, teams: QuerySet[Team], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "All my teams"), *((t.pk, t.name) for t in teams)]

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        data["end"] = data.get("end") or timezone.localdate()
        # Near date.min the default start would overflow; the range check below refuses such an end.
        early = data["end"] <= metrics.EARLIEST_DATE
        data["start"] = data.get("start") or data["end"] - timedelta(days=0 if early else DEFAULT_DAYS - 1)
        # The same limits as GET /api/v1/metrics/.
        if error := metrics.date_range_error(data["start"], data["end"]):
            raise forms.ValidationError(error)
        return data


def dashboard_context(
    *, team_ids: list[int] | None, team: int | None, start: date, end: date, now: datetime | None = None
) -> dict:
    """Everything both dashboard pages show, for the reader's teams (`team_ids`, None: all) or one team.

    Keys: `period` ("day" or "week"), `start`, `end`, `totals`, `trend` (the `ticket_metrics` result),
    `leaderboard` (agents, most solved first), the charts (`chart_*`, safe SVG markup), `has_times`,
    `has_sla`, `has_surveys`, `sla_live` (tickets breaching now), `phone_rows` and percentages, and
    `deflection` (published answers viewed from the support form, and forms left unsent after; all teams).
    """
    tickets = Ticket.objects.all() if team_ids is None else Ticket.objects.filter(team_id__in=team_ids)
    period = "day" if (end - start).days <= DAILY_UP_TO_DAYS else "week"
    common = {
        "tickets": tickets,
        "start": start,
        "end": end,
        "filters": metrics.MetricsFilters(team=team),
        "scope_teams": team_ids,
    }
    trend = metrics.ticket_metrics(group_by=period, **common)
    by_agent = metrics.ticket_metrics(group_by="agent", **common)
    team_tickets = tickets if team is None else tickets.filter(team_id=team)
    volume = metrics.ticket_volume_by_channel(tickets=team_tickets, start=start, end=end, group_by=period)
    groups, totals = trend["groups"], trend["totals"]
    labels = [_short_date(group["key"], group["label"]) for group in groups]
    channel_names = dict(Channel.choices)
    drill = DrillDown(start=start, end=end, team=team)
    return {
        "period": period,
        "start": start,
        "end": end,
        "trend": trend,
        "totals": totals,
        "links": drill.totals(),
        "presets": period_presets(team),
        # Most solved first; the "(unassigned)" row last, so the rows add up to the totals.
        "leaderboard": sorted(
            ({**group, "links": drill.agent(group["key"])} for group in by_agent["groups"]),
            key=lambda group: (group["key"] is None, -group["tickets_solved"], group["label"]),
        ),
        "chart_volume": _svg(
            charts.stacked_bar_chart(
                title=f"Tickets created per {period}, by channel",
                labels=labels,
                series={channel_names[c]: counts for c, counts in volume["channels"].items()},
            )
        ),
        "chart_backlog": _svg(
            charts.line_chart(
                title="Tickets created, solved and backlog",
                labels=labels,
                series={
                    "Created": [g["tickets_created"] for g in groups],
                    "Solved": [g["tickets_solved"] for g in groups],
                    "Backlog": [g["backlog"] for g in groups],
                },
            )
        ),
        "chart_first_response": _svg(
            charts.line_chart(
                title="First response time (hours)",
                labels=labels,
                series=_median_and_p90(groups, "first_response_hours"),
                unit="h",
            )
        ),
        "chart_resolution": _svg(
            charts.line_chart(
                title="Resolution time (hours)",
                labels=labels,
                series=_median_and_p90(groups, "resolution_hours"),
                unit="h",
            )
        ),
        "has_times": any(
            (totals.get(name) or {}).get("median") is not None
            for name in ("first_response_hours", "resolution_hours")
        ),
        "chart_sla": _svg(
            charts.line_chart(
                title="SLA compliance (%)",
                labels=labels,
                series=metrics.sla_compliance_series(trend),
                unit="%",
            )
        ),
        "chart_waits": _svg(
            charts.line_chart(
                title="Median status times of solved tickets (hours)",
                labels=labels,
                series={
                    name: [(g[measure] or {}).get("median") for g in groups]
                    for name, measure in (
                        ("Requester wait", "requester_wait_hours"),
                        ("Agent work", "agent_work_hours"),
                        ("Agent wait (pending)", "agent_wait_hours"),
                        ("On hold", "on_hold_hours"),
                    )
                },
                unit="h",
            )
        ),
        "has_waits": totals["tickets_solved"] > 0,
        "has_sla": totals["sla_compliance_rate"] is not None,
        "sla_live": sla_adapter.live_breaches(team_tickets, now or timezone.now()),
        "deflection": _deflection(start, end, now or timezone.now()),
        **_survey_and_phone_context(groups, totals, labels),
    }


def _deflection(start: date, end: date, now: datetime) -> Deflection:
    start_at, end_at = metrics.range_bounds(start, end, ZoneInfo(settings.TIME_ZONE))
    return deflection_measures(start_at=start_at, end_at=end_at, now=now)


def period_presets(team: int | None) -> list[tuple[str, str]]:
    """(label, query) of the period shortcuts: the last 7, 30 and 90 days and this quarter."""
    today = timezone.localdate()
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    periods = [(f"Last {days} days", today - timedelta(days=days - 1)) for days in (7, 30, 90)]
    periods.append(("This quarter", quarter_start))
    extra = {"team": team} if team else {}
    return [(label, urlencode({"start": start, "end": today, **extra})) for label, start in periods]


class DrillDown:
    """Links from a dashboard number to the tickets behind it: the desk queue's "All tickets" view with
    the same team and the period on the instant that placed the tickets in the number (created or solved)."""

    def __init__(self, *, start: date, end: date, team: int | None) -> None:
        start_at, end_at = metrics.range_bounds(start, end, timezone.get_current_timezone())
        self.base = {"team": team} if team else {}
        self.created = {"created_after": start_at.isoformat(), "created_before": end_at.isoformat()}
        self.solved = {"solved_after": start_at.isoformat(), "solved_before": end_at.isoformat()}

    def _url(self, view: str = "all", **filters: object) -> str:
        return f"{reverse('workspace:queue')}?{urlencode({'view': view, **self.base, **filters})}"

    def totals(self) -> dict[str, str]:
        return {
            "created": self._url(**self.created),
            "solved": self._url(**self.solved),
            "backlog": self._url("open"),
            "breached": self._url("breached"),
        }

    def agent(self, key: str | None) -> dict[str, str]:
        assignee = {"assignee": key if key is not None else metrics.UNASSIGNED_FILTER}
        return {
            "created": self._url(**self.created, **assignee),
            "solved": self._url(**self.solved, **assignee),
            "backlog": self._url("open", **assignee),
        }


def _svg(markup: str) -> str:
    # The chart module escapes every text itself, so its output is safe markup.
    return mark_safe(markup)


def _median_and_p90(groups: list[dict], measure: str) -> dict[str, list[float | None]]:
    return {
        "median": [(g[measure] or {}).get("median") for g in groups],
        "p90": [(g[measure] or {}).get("p90") for g in groups],
    }


def _short_date(key: str | None, label: str) -> str:
    try:
        return date.fromisoformat(key or "").strftime("%d %b")
    except ValueError:
        return label


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def _survey_and_phone_context(groups: list[dict], totals: dict, labels: list[str]) -> dict:
    """Survey trend charts and the phone table; the pages show empty states when there is nothing."""
    has_surveys = bool(totals["surveys_sent"] or any(totals[f"{k}_responses"] for k in metrics.SURVEY_KINDS))
    context: dict = {
        "has_surveys": has_surveys,
        "survey_response_percent": _percent(totals["survey_response_rate"]),
        "phone_rows": [group for group in groups if group["phone_calls"]],
        "phone_abandonment_percent": _percent(totals["phone_abandonment_rate"]),
        "phone_service_target": settings.HELPDESK_PHONE_SERVICE_LEVEL_TARGET,
        "phone_service_seconds": settings.HELPDESK_PHONE_SERVICE_LEVEL_SECONDS,
    }
    if totals["phone_calls"]:
        context["chart_service_level"] = _svg(
            charts.line_chart(
                title="Phone service level against its target (%)",
                labels=labels,
                series={
                    "Service level": [_percent(g["phone_service_level"]) for g in groups],
                    "Target": [settings.HELPDESK_PHONE_SERVICE_LEVEL_TARGET] * len(groups),
                },
                unit="%",
            )
        )
    if has_surveys:
        context.update(
            chart_satisfaction=_svg(
                charts.line_chart(
                    title="CSAT, CES easy and survey response rate (%)",
                    labels=labels,
                    series={
                        "CSAT % satisfied": [g["csat"] for g in groups],
                        "CES % easy": [g["ces_percent_easy"] for g in groups],
                        "Response rate": [_percent(g["survey_response_rate"]) for g in groups],
                    },
                    unit="%",
                )
            ),
            chart_nps=_svg(
                charts.line_chart(
                    title="Net Promoter Score", labels=labels, series={"NPS": [g["nps"] for g in groups]}
                )
            ),
            chart_ces=_svg(
                charts.line_chart(
                    title="Customer effort (mean answer, 1-7, higher is easier)",
                    labels=labels,
                    series={"CES mean": [g["ces"] for g in groups]},
                )
            ),
        )
    return context
