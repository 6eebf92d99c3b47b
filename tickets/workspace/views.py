"""The agent workspace: server-rendered pages that htmx enhances; every write goes through services.

Permissions are the API's (`tickets.permissions` / `tickets.selectors`): a ticket, attachment or
customer the user may not see answers 404, exactly like /api/v1/.
"""

import re
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from helpdesk.pagination import CappedCountPaginator
from tickets import customers, search, selectors, services
from tickets import permissions as perms
from tickets.adapters import sla as sla_adapter
from tickets.adapters import surveys as survey_adapter
from tickets.api.filtersets import TicketFilterSet
from tickets.customer_profile import (
    TICKET_PAGE_CONTACTS,
    customer_find,
    customer_get,
    customer_profile,
    customer_recent_contacts,
)
from tickets.customers import customer_get_or_create
from tickets.deflection import selectors as deflection_selectors
from tickets.deflection import services as deflection
from tickets.exceptions import DomainError
from tickets.intake.services import ticket_open_for_customer
from tickets.models import (
    Agent,
    Attachment,
    Channel,
    Customer,
    Macro,
    Message,
    Notification,
    Priority,
    Status,
    Team,
    Ticket,
)
from tickets.outbox.replies import reply_route
from tickets.reporting import health
from tickets.reporting.dashboard import DashboardForm, dashboard_context
from tickets.similar import selectors as similar_selectors
from tickets.workspace import selectors as ws
from tickets.workspace import services as ws_services
from tickets.workspace.forms import CustomerMergeForm, NewTicketForm, ProfileForm, PublicAnswerForm, ReplyForm

PAGE_SIZE = 50
# The filters a queue page keeps in its links; the reports' drill-down links use the date, organization,
# customer and assignee filters.
QUEUE_FILTER_KEYS = (
    "q",
    "team",
    "channel",
    "priority",
    "tag",
    "ordering",
    "status",
    "assignee",
    "organization",
    "customer",
    "created_after",
    "created_before",
    "solved_after",
    "solved_before",
)
# Query parameters that leave a queue view's tickets as they are.
UNFILTERED_KEYS = {"view", "page", "ordering", "saved"}


def staff_required(view: Callable) -> Callable:
    """Logged in and an agent, team lead or admin (the API's IsHelpdeskStaff)."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not perms.user_is_helpdesk_staff(request.user):
            raise PermissionDenied(perms.IsHelpdeskStaff.message)
        return view(request, *args, **kwargs)

    return wrapper


def lead_required(view: Callable) -> Callable:
    @staff_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not ws.board_team_ids(request.user):
            raise PermissionDenied(perms.IsTeamLeadOrAdmin.message)
        return view(request, *args, **kwargs)

    return wrapper


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _nav(request: HttpRequest, is_lead: bool | None = None) -> dict:
    """The top bar's: unread notifications (their number and the latest) and whether the user leads a team
    (`is_lead` when the caller knows it already)."""
    unread_count, latest = selectors.notification_unread_latest(user=request.user, limit=6)
    return {
        "unread_count": unread_count,
        "latest": latest,
        "is_lead": bool(ws.board_team_ids(request.user)) if is_lead is None else is_lead,
    }


def _page(
    request: HttpRequest, template: str, context: dict, status: int = 200, is_lead: bool | None = None
) -> HttpResponse:
    return render(request, template, {"nav": _nav(request, is_lead), **context}, status=status)


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def _visible_ticket(request: HttpRequest, pk: int) -> Ticket:
    try:
        return selectors.ticket_get(user=request.user, pk=pk)
    except Ticket.DoesNotExist:
        raise Http404("No such ticket that you can see.") from None


# --- queue ---------------------------------------------------------------------------------------


def _queue_context(request: HttpRequest, desk: ws.DeskTeams) -> dict:
    now = timezone.now()
    view = request.GET.get("view") or ws.DEFAULT_QUEUE_VIEW
    teams = desk.user_teams  # once for the views, the list, the counts and the saved views
    views = ws.queue_views(request.user, teams)
    if view not in {v.slug for v in views}:
        raise Http404(f"There is no view {view!r}; pick one of the views on the left.")
    queue_view = ws.QUEUE_VIEW_BY_SLUG[view]
    tickets = ws.queue_tickets(user=request.user, view=view, now=now, teams=teams)
    # The filter form sends its empty choices ("Any channel" is `channel=`): they mean no filter.
    params = request.GET.copy()
    for key in params:
        params.setlist(key, [value for value in params.getlist(key) if value])
    filterset = TicketFilterSet(params, queryset=tickets, request=request)
    valid = filterset.is_valid()
    tickets = filterset.qs if valid else tickets.none()
    search_text = filterset.form.cleaned_data.get("q") if valid else ""
    ordering = selectors.ticket_ordering_name(
        filterset.form.cleaned_data.get("ordering") if valid else None, search_text
    )
    tickets = tickets.order_by(*selectors.TICKET_ORDERINGS[ordering])
    counts = ws.queue_counts(user=request.user, now=now, teams=teams, views=views)
    filters = {key: params.getlist(key) for key in QUEUE_FILTER_KEYS if params.getlist(key)}
    # Unfiltered, the view's count is already known; filtered, it is counted up to a cap.
    filtered = {key for key in params if params.getlist(key)} - UNFILTERED_KEYS
    known = counts[view] if valid and not filtered else None
    page = CappedCountPaginator(tickets, PAGE_SIZE, count=known).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    if search_text:
        highlights = search.ticket_search_highlights(rows, search_text)
        for ticket in rows:
            ticket.search_highlight = highlights.get(ticket.pk, "")  # shown under the subject
    summaries = sla_adapter.ticket_sla_summaries(rows, now)
    tags = selectors.ticket_tag_names([ticket.pk for ticket in rows])
    for ticket in rows:
        ticket.tag_names = tags.get(ticket.pk, ())  # shown under the subject
    base_query = urlencode({"view": view, **filters}, doseq=True)
    saved = request.GET.get("saved", "")
    return {
        "view": queue_view,
        "views": views,
        "saved_views": ws.saved_view_list(user=request.user, team_ids=teams.ids),
        "active_saved": int(saved) if saved.isdigit() else None,
        "my_teams": desk.mine,
        "counts": counts,
        "rows": [(ticket, summaries[ticket.pk]) for ticket in rows],
        "page": page,
        "filterset": filterset,
        "filters": filters,
        "ordering": ordering,
        "base_query": base_query,
        "filter_query": urlencode(filters, doseq=True),
        "now": now,
    }


@require_GET
@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    desk = ws.desk_teams(request.user)
    context = _queue_context(request, desk)
    context.update(
        teams=desk.all,
        channels=Channel.choices,
        priorities=Priority.choices,
        statuses=Status.choices,
        agents=ws.assignable_agent_names(user=request.user, team_ids=desk.user_teams.ids),
    )
    is_lead = bool(desk.all) if selectors.user_is_admin(request.user) else bool(desk.user_teams.led)
    return _page(request, "workspace/queue.html", context, is_lead=is_lead)


@require_GET
@staff_required
def queue_rows(request: HttpRequest) -> HttpResponse:
    """The table body alone, for the 20-second refresh."""
    return render(request, "workspace/_queue_rows.html", _queue_context(request, ws.desk_teams(request.user)))


@require_POST
@staff_required
def bulk(request: HttpRequest) -> HttpResponse:
    back = _safe_next(request, reverse("workspace:queue"))
    ids = []
    for raw in request.POST.getlist("ticket"):
        if raw.isdigit() and 0 < int(raw) <= 2**63 - 1:
            ids.append(int(raw))
    if not ids:
        messages.error(request, "Select at least one ticket first.")
        return redirect(back)
    action = request.POST.get("action", "")
    value = request.POST.get(f"value_{action}", request.POST.get("value", ""))
    try:
        results = ws_services.tickets_bulk_update(
            user=request.user, ticket_ids=ids, action=action, value=value
        )
    except DomainError as error:
        messages.error(request, str(error))
        return redirect(back)
    done = [r.reference for r in results if r.ok]
    if done:
        messages.success(request, f"Updated {len(done)} ticket(s): {', '.join(done)}.")
    for result in results:
        if not result.ok:
            messages.error(request, f"{result.reference}: {result.error}")
    return redirect(back)


@require_POST
@staff_required
def saved_view_save(request: HttpRequest) -> HttpResponse:
    """Save the current view, filters and sort (the query string the form carries) under a name."""
    params = {
        key: request.POST.getlist(key) for key in ("view", *QUEUE_FILTER_KEYS) if request.POST.getlist(key)
    }
    query = urlencode(params, doseq=True)
    team_id = request.POST.get("team", "")
    team = Team.objects.filter(pk=int(team_id)).first() if team_id.isdigit() else None
    try:
        saved = ws_services.saved_view_create(
            owner=request.user, name=request.POST.get("name", ""), query=query, team=team
        )
    except DomainError as error:
        messages.error(request, str(error))
        return redirect(f"{reverse('workspace:queue')}?{query}")
    shared = f", shared with {team}" if team else ""
    messages.success(request, f"Saved the view “{saved.name}”{shared}.")
    return redirect(f"{reverse('workspace:queue')}?{query}&saved={saved.pk}")


@require_POST
@staff_required
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    saved = get_object_or_404(ws.saved_view_list_q(user=request.user), pk=pk)
    try:
        ws_services.saved_view_delete(saved_view=saved, user=request.user)
    except DomainError as error:
        raise PermissionDenied(str(error)) from error
    messages.success(request, f"Deleted the view “{saved.name}”.")
    return redirect("workspace:queue")


# --- ticket page ---------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_required
def ticket_new(request: HttpRequest) -> HttpResponse:
    """Open a ticket on a customer's behalf (phone call, walk-in, outbound contact)."""
    teams = ws.my_teams(request.user)
    form = NewTicketForm(request.POST or None, teams=teams)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = customer_get_or_create(
                email=data["customer_email"] or None,
                phone=data["customer_phone"] or None,
                name=data["customer_name"],
            )
            ticket = ticket_open_for_customer(
                agent=request.user,
                customer=customer,
                channel=data["channel"],
                team=data["team"],
                priority=data["priority"],
                subject=data["subject"],
                message=data["message"],
            )
        except DomainError as error:
            form.add_error(None, str(error))
        else:
            sent = " and the first message is on its way to them" if customer.email else ""
            messages.success(request, f"Opened {ticket.reference} for {customer}{sent}.")
            return redirect("workspace:ticket", pk=ticket.pk)
    status = 400 if request.method == "POST" else 200
    return _page(request, "workspace/ticket_new.html", {"form": form}, status=status)


def _remote_images_param(request: HttpRequest) -> int | None:
    """`?remote_images=<message id>`: the message whose remote images the agent asked to see."""
    value = request.GET.get("remote_images", "")
    return int(value) if value.isascii() and value.isdigit() and len(value) < 19 else None


def _ticket_context(request: HttpRequest, ticket: Ticket, form: ReplyForm | None = None) -> dict:
    now = timezone.now()
    return {
        "ticket": ticket,
        "thread": ws.ticket_thread(ticket=ticket, show_remote_images_of=_remote_images_param(request)),
        "audit": ticket.audit_entries.select_related("actor").order_by("-created_at", "-pk")[:100],
        "form": form or ReplyForm(),
        "macros": ws.macro_list(ticket=ticket),
        "sla": sla_adapter.ticket_sla_summaries([ticket], now)[ticket.pk],
        "surveys": survey_adapter.ticket_survey_results(ticket),
        "other_tickets": ws.customer_other_tickets(user=request.user, ticket=ticket),
        "presence": ws.presence_others(ticket=ticket, user=request.user, now=now),
        "reply_route": reply_route(ticket),
        "public_answer": deflection_selectors.public_answer_draft(ticket=ticket),
        "reply_statuses": ws.reply_statuses(ticket.status),
        "recent_contacts": customer_recent_contacts(
            user=request.user, customer_id=ticket.customer_id, limit=TICKET_PAGE_CONTACTS
        ),
        **_people_context(request, ticket),
        **_properties_context(ticket),
    }


def _people_context(request: HttpRequest, ticket: Ticket, error: str = "") -> dict:
    followers = list(ticket.followers.order_by("username"))
    following = {user.pk for user in followers}
    # The team's agents and anyone already following (a lead or admin outside the team stays checked).
    candidates = {agent.user.pk: agent.user for agent in ws.assignable_agents(team_id=ticket.team_id)}
    candidates.update({user.pk: user for user in followers})
    return {
        "cc_addresses": list(ticket.participants.filter(is_cc=True).values_list("email", flat=True)),
        "followers": followers,
        "is_following": request.user.pk in following,
        "follow_choices": [
            (user, user.pk in following)
            for user in sorted(candidates.values(), key=lambda user: user.get_username())
        ],
        "people_error": error,
    }


def _properties_context(
    ticket: Ticket, error: str = "", saved: tuple[str, ...] = (), away: Agent | None = None
) -> dict:
    """The properties card: only the statuses the ticket may move to are offered (tickets/transitions.py).

    `saved` names the fields the last change saved (each shows "Saved" by its control); `away` is the
    agent marked away whom the post chose as assignee, awaiting confirmation.
    """
    return {
        "ticket": ticket,
        "statuses": ws.status_choices(ticket.status),
        "priorities": Priority.choices,
        "teams": Team.objects.all(),
        "agents": ws.assignable_agents(team_id=ticket.team_id),
        "tags_text": ", ".join(tag.name for tag in ticket.tags.all()),
        "properties_error": error,
        "saved": saved,
        "away": away,
        "assignee_id": away.user_id if away else ticket.assignee_id,
    }


@require_http_methods(["GET", "POST"])
@staff_required
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The ticket page; a POST is a reply (post-redirect-get: the address stays the ticket's own)."""
    ticket = _visible_ticket(request, pk)
    if request.method == "POST":
        return _ticket_reply(request, ticket)
    ws_services.presence_touch(ticket=ticket, user=request.user, activity="viewing")
    return _page(request, "workspace/ticket.html", _ticket_context(request, ticket))


def _ticket_reply(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """Send a reply or note, then redirect to the ticket; a refused one re-renders the page with a 400,
    the draft kept and the error at the reply box, which takes the focus.

    The reply form is a plain form (no htmx), so browsers with and without JavaScript take this one path."""
    form = ReplyForm(request.POST, request.FILES)
    if request.POST.get("insert_macro"):
        # The no-JavaScript way to use a macro: the page comes back with the text in the box.
        return _insert_macro(request, ticket)
    if not form.is_valid():
        return _page(request, "workspace/ticket.html", _ticket_context(request, ticket, form), status=400)
    data = form.cleaned_data
    macro = None
    if data["macro"]:
        macro = ws.macro_list(ticket=ticket).filter(pk=data["macro"]).first()
    try:
        message = services.message_add(
            ticket=ticket,
            author_role=Message.AuthorRole.AGENT,
            author_user=request.user,
            body_text=data["body"],
            visibility=data["visibility"],
            new_status=data["submit_as"] or None,
            attachments=form.attachment_inputs(),
        )
        if macro is not None:
            ws_services.message_record_macro(message=message, macro=macro)
        if macro is not None and macro.add_tags.exists():
            services.ticket_add_tags(
                ticket=message.ticket, names=[t.name for t in macro.add_tags.all()], actor=request.user
            )
    except DomainError as error:
        form.add_error(None, str(error))
        return _page(request, "workspace/ticket.html", _ticket_context(request, ticket, form), status=400)
    status_note = ""
    if data["submit_as"]:
        status_note = f"; ticket is now {message.ticket.get_status_display().lower()}"
    if data["visibility"] == Message.Visibility.INTERNAL:
        messages.success(request, f"Internal note added{status_note}.")
    elif message.delivery_status == Message.DeliveryStatus.NO_ROUTE:
        messages.warning(
            request,
            f"Reply saved on the ticket but not delivered: there is no route to the customer{status_note}.",
        )
    else:
        messages.success(request, f"Reply queued for delivery by {reply_route(message.ticket)}{status_note}.")
    return redirect(f"{reverse('workspace:ticket', args=[message.ticket.pk])}#message-{message.pk}")


def _insert_macro(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    macro_id = request.POST.get("macro", "")
    macro = ws.macro_list(ticket=ticket).filter(pk=int(macro_id)).first() if macro_id.isdigit() else None
    if macro is None:
        messages.error(request, "Choose a canned response to insert.")
        return redirect("workspace:ticket", pk=ticket.pk)
    text = ws.macro_render(macro=macro, ticket=ticket, agent=request.user)
    body = request.POST.get("body", "").rstrip()
    form = ReplyForm(
        initial={
            "body": f"{body}\n\n{text}" if body else text,
            "visibility": request.POST.get("visibility") or Message.Visibility.PUBLIC,
            "submit_as": macro.set_status,
            "macro": macro.pk,
        }
    )
    return _page(request, "workspace/ticket.html", _ticket_context(request, ticket, form))


@require_GET
@staff_required
def macro_preview(request: HttpRequest, pk: int, macro_pk: int) -> JsonResponse:
    ticket = _visible_ticket(request, pk)
    try:
        macro = ws.macro_get(ticket=ticket, pk=macro_pk)
    except Macro.DoesNotExist:
        raise Http404("No such canned response for this ticket.") from None
    return JsonResponse(
        {
            "body": ws.macro_render(macro=macro, ticket=ticket, agent=request.user),
            "set_status": macro.set_status,
            "tags": [tag.name for tag in macro.add_tags.all()],
        }
    )


def _parse_properties(request: HttpRequest, ticket: Ticket) -> dict:
    """Only the fields present in the POST change; an unknown team or agent is a DomainError."""
    changes: dict = {}
    post = request.POST
    if "status" in post:
        changes["status"] = post["status"]
    if "priority" in post:
        changes["priority"] = post["priority"]
    if "team" in post:
        raw = post["team"]
        team = Team.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        if raw and team is None:
            raise DomainError("That team does not exist; pick one from the list.")
        changes["team"] = team
    if "assignee" in post:
        raw = post["assignee"]
        user = get_user_model().objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        if raw and user is None:
            raise DomainError("That agent does not exist; pick one from the list.")
        changes["assignee"] = user
    if "tags" in post:
        changes["tags"] = [name.strip() for name in post["tags"].split(",") if name.strip()]
    if changes.get("status") not in (None, *Status.values):
        raise DomainError(f"Unknown status {changes['status']!r}.")
    team_changes = "team" in changes and getattr(changes["team"], "pk", None) != ticket.team_id
    if (
        team_changes
        and "assignee" in changes
        and getattr(changes["assignee"], "pk", None) == ticket.assignee_id
    ):
        # The form always posts the current assignee: on a transfer, let the service keep them only if
        # they are in the new team instead of refusing the move.
        del changes["assignee"]
    return changes


def _property_values(ticket: Ticket) -> dict:
    return {
        "status": ticket.status,
        "priority": ticket.priority,
        "team": ticket.team_id,
        "assignee": ticket.assignee_id,
        "tags": sorted(tag.name for tag in ticket.tags.all()),
    }


@require_POST
@staff_required
def ticket_update(request: HttpRequest, pk: int) -> HttpResponse:
    """Change the properties; with htmx the answer is the card with "Saved" by each changed control and,
    out of band, the page's header and SLA card. Choosing an agent marked away asks first (`confirm_away`)."""
    ticket = _visible_ticket(request, pk)
    error = ""
    before = _property_values(ticket)
    back = _safe_next(request, reverse("workspace:ticket", args=[ticket.pk]))
    try:
        changes = _parse_properties(request, ticket)
        away = ws.away_agent(changes.get("assignee"), current_id=ticket.assignee_id)
        if away is not None and not request.POST.get("confirm_away"):
            return _confirm_away(request, ticket, away, back)
        services.ticket_update(ticket=ticket, actor=request.user, **changes)
    except DomainError as exc:
        error = str(exc)
    try:
        ticket = selectors.ticket_get(user=request.user, pk=pk)
    except Ticket.DoesNotExist:
        # Moved to a team the user is not in: it is out of their sight now.
        messages.info(request, "The ticket moved to a team you are not in.")
        if _is_htmx(request):
            return HttpResponse(headers={"HX-Redirect": reverse("workspace:queue")})
        return redirect("workspace:queue")
    if _is_htmx(request) and not request.POST.get("next"):
        after = _property_values(ticket)
        saved = tuple(name for name, value in after.items() if value != before[name])
        context = {
            **_properties_context(ticket, error, saved),
            "sla": sla_adapter.ticket_sla_summaries([ticket], timezone.now())[ticket.pk],
            "oob": True,
        }
        return render(request, "workspace/_properties_saved.html", context)
    if error:
        messages.error(request, f"{ticket.reference}: {error}")
    else:
        messages.success(request, f"{ticket.reference} updated.")
    return redirect(back)


def _confirm_away(request: HttpRequest, ticket: Ticket, away: Agent, back: str) -> HttpResponse:
    """The confirm step before assigning to an agent marked away: nothing is saved until it is answered."""
    if _is_htmx(request) and not request.POST.get("next"):
        return render(request, "workspace/_properties.html", _properties_context(ticket, away=away))
    fields = [
        (key, value)
        for key in ("status", "priority", "team", "assignee", "tags")
        for value in request.POST.getlist(key)
    ]
    return _page(
        request,
        "workspace/assign_confirm.html",
        {"ticket": ticket, "away": away, "fields": fields, "back": back},
    )


@require_POST
@staff_required
def ticket_presence(request: HttpRequest, pk: int) -> HttpResponse:
    ticket = _visible_ticket(request, pk)
    activity = request.POST.get("activity", "viewing")
    try:
        ws_services.presence_touch(ticket=ticket, user=request.user, activity=activity)
    except DomainError as error:
        return HttpResponse(str(error), status=400)
    others = ws.presence_others(ticket=ticket, user=request.user, now=timezone.now())
    return render(request, "workspace/_presence.html", {"presence": others, "ticket": ticket})


def _agent_zone(request: HttpRequest) -> ZoneInfo:
    """The time zone the agent's browser reports (`tz`), else their desk's; an unknown name is a 400."""
    name = request.GET.get("tz") or timezone.get_current_timezone_name()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"{name!r} is not an IANA time zone such as 'Europe/Copenhagen'.") from None


@require_GET
@staff_required
def ticket_sla_explain(request: HttpRequest, pk: int) -> HttpResponse:
    """The SLA explainer panel's body: policy match, calendar, pauses and the due arithmetic."""
    ticket = _visible_ticket(request, pk)
    tz = _agent_zone(request)
    explanation = sla_adapter.ticket_sla_explanation(ticket, timezone.now(), tz)
    with timezone.override(tz):
        return render(request, "workspace/_sla_explain.html", {"ticket": ticket, "explain": explanation})


@require_GET
@staff_required
def ticket_similar(request: HttpRequest, pk: int) -> HttpResponse:
    """The similar-tickets panel's body: solved tickets like this one, their replies as drafts, macros."""
    ticket = _visible_ticket(request, pk)
    answers = similar_selectors.similar_answers(
        user=request.user, ticket=ticket, macros=ws.macro_list(ticket=ticket), now=timezone.now()
    )
    return render(request, "workspace/_similar.html", {"ticket": ticket, "answers": answers})


@require_POST
@staff_required
def ticket_similar_link(request: HttpRequest, pk: int, similar_pk: int) -> HttpResponse:
    ticket = _visible_ticket(request, pk)
    similar = _visible_ticket(request, similar_pk)
    try:
        ws_services.ticket_link_similar(ticket=ticket, similar=similar, actor=request.user)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Linked {similar.reference} in an internal note.")
    return redirect("workspace:ticket", pk=ticket.pk)


@require_POST
@staff_required
def ticket_public_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Write (or edit, publish, withdraw) the public answer of a solved ticket for the support form."""
    ticket = _visible_ticket(request, pk)
    form = PublicAnswerForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[name].label}: {' '.join(e)}" for name, e in form.errors.items())
        messages.error(request, f"The public answer was not saved. {errors}")
        return redirect("workspace:ticket", pk=ticket.pk)
    data = form.cleaned_data
    try:
        answer = deflection.published_answer_save(
            ticket=ticket,
            title=data["title"],
            body=data["body"],
            is_published=data["is_published"],
            actor=request.user,
            now=timezone.now(),
        )
    except DomainError as error:
        messages.error(request, str(error))
    else:
        shown = "is shown on the support form" if answer.is_published else "is saved, not shown"
        messages.success(request, f"The public answer “{answer.title}” {shown}.")
    return redirect("workspace:ticket", pk=ticket.pk)


@require_POST
@staff_required
def ticket_people(request: HttpRequest, pk: int) -> HttpResponse:
    """CC addresses and followers: the whole form (`cc`, `followers`), or `follow=1|0` for oneself."""
    ticket = _visible_ticket(request, pk)
    post = request.POST
    try:
        if "follow" in post:
            users = [user for user in ticket.followers.all() if user.pk != request.user.pk]
            if post["follow"] == "1":
                users.append(request.user)
            services.ticket_set_followers(ticket=ticket, users=users, actor=request.user)
            note = "You follow this ticket now." if post["follow"] == "1" else "You no longer follow it."
        else:
            ids = post.getlist("followers")
            if not all(raw.isdigit() and len(raw) < 19 for raw in ids):
                raise DomainError("Pick followers from the list.")
            users = list(get_user_model().objects.filter(pk__in={int(raw) for raw in ids}))
            if len(users) != len(set(ids)):
                raise DomainError("That agent does not exist; pick followers from the list.")
            cc = [address for address in re.split(r"[,;\s]+", post.get("cc", "")) if address]
            services.ticket_update(ticket=ticket, actor=request.user, cc=cc, followers=users)
            note = "CC and followers saved."
    except DomainError as error:
        context = {**_ticket_context(request, ticket), **_people_context(request, ticket, str(error))}
        return _page(request, "workspace/ticket.html", context, status=400)
    messages.success(request, note)
    return redirect(f"{reverse('workspace:ticket', args=[ticket.pk])}#people-title")


# --- customers -----------------------------------------------------------------------------------


def _visible_customer(request: HttpRequest, pk: int) -> Customer:
    try:
        return customer_get(user=request.user, pk=pk)
    except Customer.DoesNotExist:
        raise Http404("No such customer that you can see.") from None


@require_GET
@staff_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _visible_customer(request, pk)
    if customer.merged_into_id is not None:
        messages.info(request, f"{customer} was merged into this customer.")
        return redirect("workspace:customer", pk=customer.merged_into_id)
    return _page(
        request,
        "workspace/customer.html",
        {
            "profile": customer_profile(user=request.user, customer=customer),
            "can_merge": bool(ws.board_team_ids(request.user)),
        },
    )


@require_http_methods(["GET", "POST"])
@lead_required
def customer_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge another customer into this one: name them, confirm what moves, merge."""
    target = _visible_customer(request, pk)
    if target.merged_into_id is not None:
        return redirect("workspace:customer_merge", pk=target.merged_into_id)
    form = CustomerMergeForm(request.POST or None)
    source = None
    if request.method == "POST" and form.is_valid():
        source = customer_find(user=request.user, text=form.cleaned_data["source"])
        if source is None or source.pk == target.pk:
            form.add_error("source", "No other customer with that number, email or phone that you can see.")
            source = None
        elif form.cleaned_data["confirm"]:
            try:
                customers.customer_merge(source=source, target=target, actor=request.user)
            except DomainError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Merged {source} into {target}.")
                return redirect("workspace:customer", pk=target.pk)
    context = {"target": target, "source": source, "form": form}
    if source is not None:
        context["source_profile"] = customer_profile(user=request.user, customer=source)
    return _page(request, "workspace/customer_merge.html", context, status=400 if form.errors else 200)


@require_GET
@staff_required
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    visible = Ticket.objects.filter(perms.visible_tickets_q(request.user))
    attachment = get_object_or_404(Attachment, pk=pk, message__ticket__in=visible)
    if attachment.is_rejected or not attachment.file:
        raise Http404(f"This attachment's content was not stored: {attachment.rejected_reason or 'empty'}.")
    # As a download and never with its own type: stored HTML or SVG must not render in our origin.
    return FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.filename,
        content_type="application/octet-stream",
    )


# --- notifications -------------------------------------------------------------------------------


@require_GET
@staff_required
def notification_list(request: HttpRequest) -> HttpResponse:
    notifications = selectors.notification_list(user=request.user)
    page = Paginator(notifications, PAGE_SIZE).get_page(request.GET.get("page"))
    return _page(request, "workspace/notifications.html", {"page": page})


@require_GET
@staff_required
def notification_bell(request: HttpRequest) -> HttpResponse:
    return render(request, "workspace/_bell.html", {"nav": _nav(request)})


@require_POST
@staff_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    notification = get_object_or_404(selectors.notification_list(user=request.user), pk=pk)
    services.notification_mark_read(notification=notification)
    if (
        notification.ticket_id
        and Ticket.objects.filter(perms.visible_tickets_q(request.user), pk=notification.ticket_id).exists()
    ):
        return redirect("workspace:ticket", pk=notification.ticket_id)
    return redirect("workspace:notifications")


@require_POST
@staff_required
def notification_read_all(request: HttpRequest) -> HttpResponse:
    count = services.notification_mark_all_read(recipient=request.user)
    messages.success(request, f"Marked {count} notification(s) read.")
    return redirect(_safe_next(request, reverse("workspace:notifications")))


# --- profile -------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@staff_required
def profile(request: HttpRequest) -> HttpResponse:
    """The person's desk settings: the time zone their desk pages show times in."""
    zone = timezone.get_current_timezone_name()  # theirs: DeskTimeZoneMiddleware activated it
    form = ProfileForm(
        request.POST or None, initial={"time_zone": "" if zone == settings.TIME_ZONE else zone}
    )
    if request.method == "POST" and form.is_valid():
        try:
            ws_services.desk_profile_update(user=request.user, time_zone=form.cleaned_data["time_zone"])
        except DomainError as error:
            form.add_error("time_zone", str(error))
        else:
            messages.success(request, "Profile saved: times now show in your time zone.")
            return redirect("workspace:profile")
    status = 400 if request.method == "POST" else 200
    return _profile_page(request, form, status=status)


def _profile_page(
    request: HttpRequest, form: ProfileForm, status: int = 200, emailed_error: str = ""
) -> HttpResponse:
    now = timezone.now()  # shown in the zone DeskTimeZoneMiddleware activated
    emailed = services.emailed_notification_kinds([request.user.pk])[request.user.pk]
    kinds = [(value, label, value in emailed) for value, label in Notification.Kind.choices]
    context = {"form": form, "now": now, "kinds": kinds, "emailed_error": emailed_error}
    return _page(request, "workspace/profile.html", context, status=status)


@require_POST
@staff_required
def profile_notifications(request: HttpRequest) -> HttpResponse:
    """Which notification kinds the person also gets by email."""
    try:
        services.notification_preferences_set(
            user=request.user, emailed_kinds=request.POST.getlist("emailed")
        )
    except DomainError as error:
        zone = timezone.get_current_timezone_name()  # theirs: DeskTimeZoneMiddleware activated it
        form = ProfileForm(initial={"time_zone": "" if zone == settings.TIME_ZONE else zone})
        return _profile_page(request, form, status=400, emailed_error=str(error))
    messages.success(request, "Notification emails saved.")
    return redirect("workspace:profile")


# --- team lead -----------------------------------------------------------------------------------


BOARD_PAGE_SIZE = 25


@require_GET
@lead_required
def board(request: HttpRequest) -> HttpResponse:
    """The lead's board: each team's agents (availability, load against capacity, SLA counts) and every
    unassigned ticket of their teams, paged, most urgent SLA first."""
    now = timezone.now()
    boards = ws.team_board(user=request.user, now=now)
    page = Paginator(ws.board_unassigned(user=request.user), BOARD_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    unassigned = list(page.object_list)
    summaries = sla_adapter.ticket_sla_summaries(unassigned, now)
    rows_by_team = {b.team.pk: b.rows for b in boards}
    return _page(
        request,
        "workspace/board.html",
        {
            "boards": boards,
            "page": page,
            "unassigned": [(t, summaries[t.pk], rows_by_team.get(t.team_id, ())) for t in unassigned],
            "many_teams": len(boards) > 1,
        },
    )


@require_GET
@lead_required
def team_forecast(request: HttpRequest, pk: int) -> HttpResponse:
    """The board's breach forecast panel for one team the user leads (or any team, for an admin)."""
    team = get_object_or_404(Team, pk=pk)
    if not perms.can_manage_team(request.user, team):
        raise PermissionDenied("Only the team's lead or an admin may see its breach forecast.")
    forecast = sla_adapter.team_breach_forecast(team, timezone.now())
    return render(request, "workspace/_breach_forecast.html", {"forecast": forecast, "team": team})


@require_POST
@staff_required
def agent_availability(request: HttpRequest, pk: int) -> HttpResponse:
    agent = get_object_or_404(Agent.objects.filter(perms.visible_agents_q(request.user)).distinct(), pk=pk)
    if not perms.can_set_agent_availability(request.user, agent):
        raise PermissionDenied("Only the agent, a lead of one of their teams or an admin may do this.")
    available = request.POST.get("is_available") == "true"
    services.agent_set_availability(agent=agent, is_available=available)
    messages.success(request, f"{agent} is now {'available' if available else 'away'}.")
    return redirect(_safe_next(request, reverse("workspace:board")))


@require_GET
@lead_required
def metrics_page(request: HttpRequest) -> HttpResponse:
    team_ids = perms.metrics_team_ids(request.user)
    teams = Team.objects.all() if team_ids is None else Team.objects.filter(pk__in=team_ids)
    form = DashboardForm(request.GET, teams=teams)
    context: dict = {"form": form}
    if form.is_valid():
        period = form.cleaned_data
        context.update(
            dashboard_context(
                team_ids=team_ids, team=period["team"], start=period["start"], end=period["end"]
            )
        )
        csv_query = {"format": "csv", "start": period["start"], "end": period["end"]}
        if period["team"]:
            csv_query["team"] = period["team"]
        context.update(
            csv_trend=urlencode({**csv_query, "group_by": context["period"]}),
            csv_agents=urlencode({**csv_query, "group_by": "agent"}),
        )
    return _page(request, "workspace/metrics.html", context, status=200 if form.is_valid() else 400)


HEALTH_COLUMNS = (
    ("name", "Organization"),
    ("risk_score", "Risk"),
    ("tickets_recent", "Tickets (30 d)"),
    ("csat_recent", "CSAT (90 d)"),
    ("nps_recent", "NPS (90 d)"),
    ("breaches_recent", "SLA breaches (30 d)"),
    ("repeat_contacts", "Repeat contacts (90 d)"),
    ("last_contact_at", "Last contact"),
)


@require_GET
@lead_required
def health_page(request: HttpRequest) -> HttpResponse:
    """Customer health for leads: organizations (or customers) at risk, sortable, each with its tickets."""
    level = request.GET.get("level") or "organization"
    sort = request.GET.get("sort") or "-risk_score"
    if level not in health.LEVELS or sort.lstrip("-") not in health.SORTS:
        return _page(request, "workspace/health.html", {"error": "Unknown level or sort column."}, status=400)
    now = timezone.now()
    team_ids = perms.metrics_team_ids(request.user)
    tickets = Ticket.objects.all() if team_ids is None else Ticket.objects.filter(team_id__in=team_ids)
    rows = health.customer_health(tickets=tickets, level=level, now=now, sort=sort)
    since = (now - timedelta(days=health.VOLUME_DAYS)).isoformat()
    links = [
        {
            "row": row,
            "tickets": health.tickets_url(level, row.key),
            "recent": health.tickets_url(level, row.key, created_after=since),
            "breached": f"{reverse('workspace:queue')}?{urlencode({'view': 'breached', level: row.key})}",
        }
        for row in rows
    ]
    # A click on a column sorts by it (names A-Z, numbers highest first); a second click reverses.
    current, reversed_sort = sort.lstrip("-"), (sort[1:] if sort.startswith("-") else f"-{sort}")
    columns = [
        {
            "label": "Customer" if name == "name" and level == "customer" else label,
            "sort": reversed_sort if current == name else (name if name == "name" else f"-{name}"),
            "current": current == name,
            "descending": sort.startswith("-"),
        }
        for name, label in HEALTH_COLUMNS
    ]
    return _page(request, "workspace/health.html", {"links": links, "columns": columns, "level": level})
