import functools
from datetime import datetime

from django import template
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.html import escape, format_html, format_html_join, linebreaks
from django.utils.safestring import mark_safe
from django.utils.timesince import TIME_STRINGS, timesince, timeuntil

from tickets import transitions
from tickets.adapters.sla import ClockState, SlaMetric, SlaSummary
from tickets.mentions import MENTION
from tickets.models import AuditEntry, Priority, Ticket

register = template.Library()

# 24x24 outline icons (paths drawn for this project); the label is what assistive tech reads.
CHANNEL_ICONS = {
    "email": ("Email", "M3 6h18v12H3z M3 6l9 7 9-7"),
    "web": (
        "Web form",
        "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z M3 12h18 M12 3c3 3 3 15 0 18 M12 3c-3 3-3 15 0 18",
    ),
    "chat": ("Chat", "M4 5h16v11H9l-5 4z"),
    "phone": (
        "Phone",
        "M5 3h4l2 5-3 2a12 12 0 0 0 6 6l2-3 5 2v4a2 2 0 0 1-2 2A17 17 0 0 1 3 5a2 2 0 0 1 2-2z",
    ),
    "social": ("Social", "M4 10v4h3l6 4V6l-6 4z M17 9a4 4 0 0 1 0 6"),
    "api": ("API", "M8 7l-5 5 5 5 M16 7l5 5-5 5 M14 4l-4 16"),
}


@register.simple_tag
@functools.lru_cache(maxsize=64)  # the same few icons on every row: built once per channel
def channel_icon(channel: str) -> str:
    label, path = CHANNEL_ICONS.get(channel, (channel, "M12 12h.01"))
    return format_html(
        '<span class="channel-icon" role="img" aria-label="{}" title="{}"><svg viewBox="0 0 24 24" '
        'fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" '
        'stroke-linejoin="round" aria-hidden="true"><path d="{}"/></svg></span>',
        label,
        label,
        path,
    )


SLA_METRIC_LABELS = dict(SlaMetric.choices)


@register.filter
def sla_metric_label(metric: str) -> str:
    """ "First response", not "First_response": the SLA app's own label for a metric."""
    return str(SLA_METRIC_LABELS.get(metric, metric))


@register.filter
def status_label(status: str) -> str:
    """ "On hold", not "on_hold"."""
    return transitions.LABELS.get(status, status)


@register.filter
def sla_metric_phrase(metric: str) -> str:
    """The metric's label inside a sentence: "first response"."""
    return sla_metric_label(metric).lower()


@register.filter
def sla_state_label(state: str) -> str:
    return str(dict(ClockState.choices).get(state, state)).lower()


@register.filter
def duration(seconds: int | None) -> str:
    """A short human duration for SLA badges: 'in 2h 05m' or '1d 3h overdue'."""
    if seconds is None:
        return ""
    overdue = seconds < 0
    rest = abs(int(seconds))
    days, rest = divmod(rest, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days}d {hours}h"
    elif hours:
        text = f"{hours}h {minutes:02d}m"
    else:
        text = f"{minutes}m"
    return f"{text} overdue" if overdue else f"{text} left"


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (None removes one)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    return params.urlencode()


@register.filter
def get_item(mapping: dict, key: str):
    return mapping.get(key)


# The full local time, shown as a tooltip of relative times: "Thu 3 Dec 2026, 14:05 CET".
FULL_TIME = "D j M Y, H:i T"


@functools.lru_cache(maxsize=16)
def _date_names(language: str | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(weekday abbreviations Monday first, month abbreviations January first) in `language`, the active
    one: Django's are lazy translations, each resolved on every use (two a row of the queue)."""
    weekdays = tuple(str(WEEKDAYS_ABBR[day]) for day in range(7))
    return weekdays, tuple(str(MONTHS_3[month]).title() for month in range(1, 13))


def local_full(value: datetime) -> str:
    """`value` in the active zone as `FULL_TIME` formats it; written out rather than through
    `dateformat.format`, which took most of a millisecond a call and the queue shows two a row."""
    local = timezone.localtime(value)
    weekdays, months = _date_names(translation.get_language())
    weekday, month = weekdays[local.weekday()], months[local.month - 1]
    return f"{weekday} {local.day} {month} {local.year}, {local:%H:%M} {local.tzname() or ''}"


class _KeptUnit:
    """One of Django's `TIME_STRINGS` ("%(num)d minutes"), its text kept per language and number: the
    lazy plural's lookup on every relative time cost more than the rest of `when` (two a queue row)."""

    def __init__(self, text) -> None:
        self.text, self.kept = text, {}

    def __mod__(self, params: dict) -> str:
        key = (translation.get_language(), params["num"])
        if key not in self.kept:
            self.kept[key] = self.text % params
        return self.kept[key]


KEPT_TIME_STRINGS = {name: _KeptUnit(text) for name, text in TIME_STRINGS.items()}


@register.simple_tag
def when(value: datetime | None) -> str:
    """A relative time ("3 minutes ago", "in 2 hours") whose title is the full time in the agent's zone."""
    if value is None:
        return ""
    now = timezone.now()
    if abs((now - value).total_seconds()) < 60:
        relative = "just now"
    elif value <= now:
        relative = f"{timesince(value, now, depth=1, time_strings=KEPT_TIME_STRINGS)} ago"
    else:
        relative = f"in {timeuntil(value, now, depth=1, time_strings=KEPT_TIME_STRINGS)}"
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', value.isoformat(), local_full(value), relative
    )


def _sla_field(field: str) -> tuple[str, bool] | None:
    """("first_response", True) for "sla_first_response_due"; None for fields that are not a metric's."""
    if not field.startswith("sla_"):
        return None
    name = field.removeprefix("sla_")
    due = name.endswith("_due")
    name = name.removesuffix("_due")
    return (name, due) if name in SlaMetric.values else None


@register.filter
def audit_field_label(field: str) -> str:
    """ "SLA first response due", "Status": what the audit trail's field names mean, without slugs."""
    sla = _sla_field(field)
    if sla is not None:
        name, due = sla
        return f"SLA {sla_metric_phrase(name)}{' due' if due else ''}"
    if field == "sla_escalation":
        return "SLA escalation"
    return field.replace("_", " ").capitalize()


@register.filter
def audit_value(entry: AuditEntry, value: str) -> str:
    """An audit value as people read it: status and priority labels, due times in the agent's zone."""
    if entry.field == "status":
        return status_label(value)
    if entry.field == "priority":
        return str(dict(Priority.choices).get(value, value))
    sla = _sla_field(entry.field)
    if sla is not None and sla[1]:
        moment = parse_datetime(value) if value else None
        return local_full(moment) if moment is not None and timezone.is_aware(moment) else value
    if sla is not None:
        return sla_state_label(value)
    return value


@register.filter
def with_mentions(text: str) -> str:
    """Plain note text as paragraphs with each @mention highlighted (escaped first: safe to render)."""
    html = linebreaks(escape(text or ""))
    return mark_safe(MENTION.sub(r'<mark class="mention">@\1</mark>', html))


# The queue's rows are built here rather than in a template: fifty rows of a dozen tags and an include
# each were most of the queue page's time (its HTML cost more than its SQL).

SLA_BADGE_LEVELS = ("ok", "warning", "breached")


@register.simple_tag
def sla_badge_html(sla: SlaSummary) -> str:
    """The SLA badge of a ticket's summary (`tickets.adapters.sla.summarize`): the most urgent clock's time
    left or overdue, its due time in the agent's zone as the title; "Paused"; nothing for done clocks."""
    if sla.level in SLA_BADGE_LEVELS:
        due = sla.due_at
        return format_html(
            '<span class="sla sla-{}" data-due="{}" title="{} due {}"><span class="visually-hidden">'
            'SLA {}: </span><span class="sla-text">{}</span></span>',
            sla.level,
            timezone.localtime(due).isoformat() if due else "",
            sla_metric_label(sla.metric),
            local_full(due) if due else "",
            sla_metric_phrase(sla.metric),
            duration(sla.seconds_left),
        )
    if sla.level == "paused":
        return mark_safe('<span class="sla sla-paused">Paused</span>')
    return ""


PRIORITY_LABELS = dict(Priority.choices)
# A ticket id no real ticket has, replaced in the reversed URL by each row's (one reverse per table).
_URL_PK = 987654321987654321


@register.simple_tag(takes_context=True)
def queue_row(context: template.Context, ticket: Ticket, sla: SlaSummary) -> str:
    """One row of the queue table (`workspace/_queue_rows.html`) for a ticket of `queue_tickets` with its
    `tag_names` set, and its SLA summary."""
    pattern = context.render_context.get("queue_row_url")
    if pattern is None:
        pattern = context.render_context["queue_row_url"] = reverse("workspace:ticket", args=[_URL_PK])
    url = pattern.replace(str(_URL_PK), str(ticket.pk))
    customer = ticket.customer
    vip = mark_safe(' <span class="vip" title="VIP customer">VIP</span>') if customer.is_vip else ""
    hit = ""
    if getattr(ticket, "search_highlight", ""):
        hit = format_html('<div class="search-hit">{}</div>', ticket.search_highlight)
    tags = format_html_join("", '<span class="tag">{}</span>', ((name,) for name in ticket.tag_names))
    if ticket.assignee is not None:
        assignee = ticket.assignee.get_full_name() or ticket.assignee.get_username()
    else:
        assignee = mark_safe('<span class="muted">Unassigned</span>')
    return format_html(
        '<tr class="queue-row row-{priority}" tabindex="0" data-id="{pk}" data-href="{url}">\n'
        '  <td class="col-select"><input type="checkbox" name="ticket" value="{pk}" form="bulk-form" '
        'aria-label="Select {reference}"></td>\n'
        '  <td class="col-ref"><a href="{url}" tabindex="-1">{reference}</a></td>\n'
        '  <td class="col-subject"><a href="{url}" class="subject-link" tabindex="-1">{subject}</a>\n'
        "    {hit}{tags}</td>\n"
        '  <td class="col-customer">{customer}{vip}</td>\n'
        '  <td class="col-channel">{channel}</td>\n'
        '  <td><span class="pill priority priority-{priority}">{priority_label}</span></td>\n'
        '  <td><span class="pill status status-{status}">{status_label}</span></td>\n'
        '  <td class="col-assignee">{assignee}</td>\n'
        '  <td class="col-sla">{badge}</td>\n'
        '  <td class="col-updated">{updated}</td>\n'
        "</tr>\n",
        priority=ticket.priority,
        pk=ticket.pk,
        url=url,
        reference=ticket.reference,
        subject=ticket.subject,
        hit=hit,
        tags=tags,
        customer=customer.name or customer.email,
        vip=vip,
        channel=channel_icon(ticket.channel),
        priority_label=PRIORITY_LABELS.get(ticket.priority, ticket.priority),
        status=ticket.status,
        status_label=transitions.LABELS.get(ticket.status, ticket.status),
        assignee=assignee,
        badge=sla_badge_html(sla),
        updated=when(ticket.updated_at),
    )
