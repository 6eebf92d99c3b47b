"""Customer health: which organizations (or customers) are at risk, and why.

For each organization (or customer) with a ticket in the last 180 days, computed in a fixed number of
grouped queries whatever the number of tickets:

- ticket volume: tickets opened in the last 30 days against the 30 days before;
- CSAT and NPS: the last 90 days against the 90 days before (survey answers by first-answer time);
- detractors: NPS answers 0-6 in the last 90 days;
- SLA breaches: clocks breached in the last 30 days, and unsolved tickets breaching now;
- repeat contacts: tickets solved in the last 90 days whose customer opened another ticket within
  HELPDESK_REPEAT_CONTACT_DAYS (the same rule as the metrics);
- last contact: the latest customer message.

The risk score (0-100) adds points for each warning sign and states each as a reason; RISK_RULES
documents them (docs/metrics.md repeats the table). It is deliberately simple and explainable: a lead
should be able to check it by hand.
"""

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, Count, Exists, F, Max, OuterRef, Q, QuerySet, Value, When
from django.urls import reverse
from django.utils.http import urlencode

from tickets import transitions
from tickets.adapters.sla import SlaClock
from tickets.adapters.surveys import HEADLINE, SurveyResponse
from tickets.models import Customer, Message, Organization, Ticket

LEVELS = ("organization", "customer")
SORTS = (
    "risk_score",
    "name",
    "tickets_recent",
    "csat_recent",
    "nps_recent",
    "breaches_recent",
    "repeat_contacts",
    "last_contact_at",
)
VOLUME_DAYS, SCORE_DAYS, ACTIVE_DAYS = 30, 90, 180

#: (points, cap) of each warning sign, in the order reasons are listed.
RISK_RULES = {
    "nps_fell": (25, 25),  # NPS fell by 10 points or more between the two 90-day windows
    "csat_fell": (20, 20),  # CSAT fell by 10 points or more between the two 90-day windows
    "negative_nps": (15, 15),  # NPS below 0 over the last 90 days
    "open_breaches": (10, 10),  # an unsolved ticket is breaching its SLA now
    "breaches": (5, 20),  # per SLA breach in the last 30 days
    "detractors": (5, 20),  # per NPS detractor in the last 90 days
    "repeat_contacts": (5, 15),  # per repeat contact in the last 90 days
    "volume_up": (10, 10),  # at least 3 tickets in 30 days and 50 % more than the 30 days before
}
FALL_POINTS = 10


@dataclass
class HealthRow:
    key: int
    name: str
    tickets_recent: int = 0
    tickets_previous: int = 0
    csat_recent: float | None = None
    csat_previous: float | None = None
    nps_recent: float | None = None
    nps_previous: float | None = None
    detractors: int = 0
    breaches_recent: int = 0
    open_breaches: int = 0
    repeat_contacts: int = 0
    last_contact_at: datetime | None = None
    risk_score: int = 0
    reasons: list[str] = field(default_factory=list)


def _risk(row: HealthRow) -> tuple[int, list[str]]:
    signs: dict[str, tuple[int, str]] = {}
    nps_before, nps_now = row.nps_previous, row.nps_recent
    if nps_now is not None and nps_before is not None and nps_before - nps_now >= FALL_POINTS:
        signs["nps_fell"] = (1, f"NPS fell from {nps_before:.0f} to {nps_now:.0f} in {SCORE_DAYS} days")
    csat_before, csat_now = row.csat_previous, row.csat_recent
    if csat_now is not None and csat_before is not None and csat_before - csat_now >= FALL_POINTS:
        signs["csat_fell"] = (1, f"CSAT fell from {csat_before:.0f}% to {csat_now:.0f}% in {SCORE_DAYS} days")
    if row.nps_recent is not None and row.nps_recent < 0 and "nps_fell" not in signs:
        signs["negative_nps"] = (1, f"NPS {row.nps_recent:.0f} over the last {SCORE_DAYS} days")
    if row.open_breaches:
        signs["open_breaches"] = (1, f"{row.open_breaches} unsolved ticket(s) breaching their SLA now")
    if row.breaches_recent:
        signs["breaches"] = (
            row.breaches_recent,
            f"{row.breaches_recent} SLA breach(es) in {VOLUME_DAYS} days",
        )
    if row.detractors:
        signs["detractors"] = (row.detractors, f"{row.detractors} detractor(s) in {SCORE_DAYS} days")
    if row.repeat_contacts:
        signs["repeat_contacts"] = (
            row.repeat_contacts,
            f"{row.repeat_contacts} repeat contact(s) in {SCORE_DAYS} days",
        )
    if row.tickets_recent >= 3 and row.tickets_recent >= 1.5 * row.tickets_previous:
        signs["volume_up"] = (
            1,
            f"{row.tickets_recent} tickets in {VOLUME_DAYS} days, up from {row.tickets_previous}",
        )
    score, reasons = 0, []
    for name, (points, cap) in RISK_RULES.items():
        if name in signs:
            times, reason = signs[name]
            score += min(cap, points * times)
            reasons.append(reason)
    return min(score, 100), reasons


def _scores(responses: QuerySet, kind: str, now: datetime) -> dict[tuple[int, str], float]:
    """{(key, "recent" | "previous"): headline score} of one survey kind, in one query."""
    recent_start = now - timedelta(days=SCORE_DAYS)
    rows = (
        responses.filter(kind=kind)
        .annotate(
            window=Case(When(created_at__gte=recent_start, then=Value("recent")), default=Value("previous"))
        )
        .values("key", "window", "score")
        .annotate(n=Count("pk"))
        .values_list("key", "window", "score", "n")
        .order_by()
    )
    counts: dict[tuple[int, str], dict[int, int]] = defaultdict(dict)
    for key, window, score, n in rows:
        counts[(key, window)][score] = n
    return {group: round(HEADLINE[kind](by_score), 1) for group, by_score in counts.items()}


def customer_health(
    *, tickets: QuerySet[Ticket], level: str = "organization", now: datetime, sort: str = "-risk_score"
) -> list[HealthRow]:
    """Health rows of the organizations (or customers) of `tickets` (already scoped to the reader).

    Sorted by `sort` (a name from SORTS, '-' for descending; ties by name). Eight queries.
    """
    if level not in LEVELS:
        raise ValueError(f"Unknown level {level!r}; expected one of {', '.join(LEVELS)}.")
    descending, sort_field = sort.startswith("-"), sort.lstrip("-")
    if sort_field not in SORTS:
        raise ValueError(
            f"Unknown sort {sort!r}; expected one of {', '.join(SORTS)} (prefix '-' to reverse)."
        )
    path = "customer__organization" if level == "organization" else "customer"
    tickets = tickets.order_by().filter(**{f"{path}__isnull": False})
    volume_start, previous_start = now - timedelta(days=VOLUME_DAYS), now - timedelta(days=2 * VOLUME_DAYS)
    rows: dict[int, HealthRow] = {}
    for key, recent, previous in (
        tickets.filter(created_at__gte=now - timedelta(days=ACTIVE_DAYS))
        .values(path)
        .annotate(
            recent=Count("pk", filter=Q(created_at__gte=volume_start)),
            previous=Count("pk", filter=Q(created_at__gte=previous_start, created_at__lt=volume_start)),
        )
        .values_list(path, "recent", "previous")
    ):
        rows[key] = HealthRow(key=key, name="", tickets_recent=recent, tickets_previous=previous)
    if not rows:
        return []
    tickets = tickets.filter(**{f"{path}__in": list(rows)})
    model = Organization if level == "organization" else Customer
    for entity in model.objects.filter(pk__in=list(rows)):
        rows[entity.pk].name = str(entity.name or entity)

    responses = SurveyResponse.objects.filter(
        invitation__ticket__in=tickets.values("pk"),
        score__isnull=False,
        created_at__gte=now - timedelta(days=2 * SCORE_DAYS),
    ).annotate(key=F(f"invitation__ticket__{path}"))
    for (key, window), score in _scores(responses, "csat", now).items():
        setattr(rows[key], f"csat_{window}", score)
    for (key, window), score in _scores(responses, "nps", now).items():
        setattr(rows[key], f"nps_{window}", score)
    for key, n in (
        responses.filter(kind="nps", score__lte=6, created_at__gte=now - timedelta(days=SCORE_DAYS))
        .values("key")
        .annotate(n=Count("pk"))
        .values_list("key", "n")
        .order_by()
    ):
        rows[key].detractors = n

    for key, recent, open_now in (
        SlaClock.objects.filter(ticket__in=tickets.values("pk"), breached_at__isnull=False)
        .values(f"ticket__{path}")
        .annotate(
            recent=Count("pk", filter=Q(breached_at__gte=volume_start)),
            open_now=Count("ticket", distinct=True, filter=Q(ticket__status__in=transitions.UNSOLVED)),
        )
        .values_list(f"ticket__{path}", "recent", "open_now")
        .order_by()
    ):
        rows[key].breaches_recent, rows[key].open_breaches = recent, open_now

    came_back = Exists(
        Ticket.objects.filter(
            customer=OuterRef("customer"),
            created_at__gt=OuterRef("solved_at"),
            created_at__lte=OuterRef("solved_at") + timedelta(days=settings.HELPDESK_REPEAT_CONTACT_DAYS),
        )
    )
    for key, n in (
        tickets.filter(came_back, solved_at__gte=now - timedelta(days=SCORE_DAYS))
        .values(path)
        .annotate(n=Count("pk"))
        .values_list(path, "n")
    ):
        rows[key].repeat_contacts = n

    for key, last in (
        Message.objects.filter(ticket__in=tickets.values("pk"), author_role=Message.AuthorRole.CUSTOMER)
        .values(f"ticket__{path}")
        .annotate(last=Max("created_at"))
        .values_list(f"ticket__{path}", "last")
        .order_by()
    ):
        rows[key].last_contact_at = last

    for row in rows.values():
        row.risk_score, row.reasons = _risk(row)
    ordered = sorted(rows.values(), key=lambda row: row.name.lower())
    present = [row for row in ordered if getattr(row, sort_field) is not None]
    missing = [row for row in ordered if getattr(row, sort_field) is None]
    present.sort(key=lambda row: getattr(row, sort_field), reverse=descending)
    return present + missing


def tickets_url(level: str, key: int, **filters: str) -> str:
    """The desk queue listing every ticket (any status) of one organization or customer."""
    return f"{reverse('workspace:queue')}?{urlencode({'view': 'all', level: key, **filters})}"


def row_as_dict(row: HealthRow, level: str) -> dict:
    return {**asdict(row), "tickets_url": tickets_url(level, row.key)}
