import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from surveys import scoring
from tickets.models import Channel, Priority, Team, Ticket


class Kind(models.TextChoices):
    CSAT = scoring.CSAT, "CSAT (satisfaction, 1-5)"
    CES = scoring.CES, "CES (effort, 1-7)"
    NPS = scoring.NPS, "NPS (recommend, 0-10)"


DEFAULT_QUESTIONS: dict[str, str] = {
    scoring.CSAT: "How satisfied are you with the support you received?",
    scoring.CES: "How easy was it to get your issue resolved?",
    scoring.NPS: "How likely are you to recommend us to a friend or colleague?",
}

#: Labels under the ends (and, for CSAT, every point) of each scale.
SCALE_LABELS: dict[str, dict[int, str]] = {
    scoring.CSAT: {
        1: "Very unsatisfied",
        2: "Unsatisfied",
        3: "Neutral",
        4: "Satisfied",
        5: "Very satisfied",
    },
    scoring.CES: {1: "Very difficult", 4: "Neutral", 7: "Very easy"},
    scoring.NPS: {0: "Not at all likely", 10: "Extremely likely"},
}


class PoorAnswerAction(models.TextChoices):
    NOTHING = "nothing", "Notify only"
    REOPEN = "reopen", "Notify and reopen the ticket"
    FOLLOW_UP = "follow_up", "Notify and open a linked follow-up ticket"


def default_kinds() -> list[str]:
    return [scoring.CSAT]


def validate_kinds(value: object) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError('List at least one survey kind, e.g. ["csat"].')
    unknown = [kind for kind in value if kind not in scoring.KINDS]
    if unknown:
        raise ValidationError(f"Unknown survey kind(s) {unknown}; use {', '.join(scoring.KINDS)}.")
    if len(set(value)) != len(value):
        raise ValidationError("List each survey kind once.")


class SurveySettings(models.Model):
    """How a team surveys its customers; a row with a channel overrides the team's all-channel row.

    Tickets of teams without a row use the project defaults (HELPDESK_SURVEY_* settings).
    """

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="survey_settings")
    channel = models.CharField(
        max_length=10, choices=Channel.choices, blank=True, help_text="Blank: every channel of the team."
    )
    enabled = models.BooleanField(default=True)
    kinds = models.JSONField(
        default=default_kinds,
        validators=[validate_kinds],
        help_text='Survey kinds to ask, first one in the email with one-click links, e.g. ["csat", "nps"].',
    )
    csat_question = models.CharField(max_length=250, blank=True, help_text="Blank: the default wording.")
    ces_question = models.CharField(max_length=250, blank=True, help_text="Blank: the default wording.")
    nps_question = models.CharField(max_length=250, blank=True, help_text="Blank: the default wording.")
    delay_minutes = models.PositiveIntegerField(default=60, help_text="Wait this long after solving.")
    token_lifetime_days = models.PositiveIntegerField(
        default=28, help_text="Links and replies are accepted this long after sending."
    )
    throttle_days = models.PositiveIntegerField(
        default=30, help_text="Don't survey a customer who was surveyed within this many days (0: no limit)."
    )
    poor_answer_action = models.CharField(
        max_length=10, choices=PoorAnswerAction.choices, default=PoorAnswerAction.NOTHING
    )

    class Meta:
        verbose_name = "survey settings"
        verbose_name_plural = "survey settings"
        ordering = ["team__name", "channel"]
        constraints = [
            models.UniqueConstraint(fields=["team", "channel"], name="survey_settings_team_channel_unique"),
            models.CheckConstraint(condition=Q(token_lifetime_days__gte=1), name="survey_token_lifetime_min"),
        ]

    def __str__(self) -> str:
        return f"{self.team} ({self.get_channel_display() or 'all channels'})"

    def question(self, kind: str) -> str:
        return getattr(self, f"{kind}_question", "") or DEFAULT_QUESTIONS[kind]


def new_invitation_secret() -> str:
    return secrets.token_hex(16)


class SurveyInvitation(models.Model):
    """One survey email for one solve of a ticket: scheduled, then sent, cancelled or skipped."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        CANCELLED = "cancelled", "Cancelled"
        SKIPPED = "skipped", "Skipped"
        FAILED = "failed", "Failed"

    class SkipReason(models.TextChoices):
        NONE = "", "—"
        DISABLED = "disabled", "Surveys disabled for the team/channel"
        REOPENED = "reopened", "Ticket reopened before the send time"
        NO_EMAIL = "no_email", "Customer has no email address"
        MERGED = "merged", "Ticket was merged into another"
        AUTO_GENERATED = "auto_generated", "Ticket came from automatically generated mail"
        THROTTLED = "throttled", "Customer was surveyed recently"
        NOT_SOLVED = "not_solved", "Ticket no longer solved or closed"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="survey_invitations")
    # Snapshots at solve time: reports group by who solved it, not by whoever holds the ticket later.
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="survey_invitations",
        help_text="The ticket's assignee when it was solved.",
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    priority = models.CharField(max_length=10, choices=Priority.choices)
    kinds = models.JSONField(default=list, validators=[validate_kinds])
    questions = models.JSONField(default=dict, help_text="Question wording per kind, fixed at scheduling.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED)
    skip_reason = models.CharField(max_length=20, choices=SkipReason.choices, default="", blank=True)
    secret = models.CharField(max_length=64, default=new_invitation_secret, editable=False)
    send_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was cancelled, skipped or given up."
    )
    poor_follow_up_action = models.CharField(
        max_length=10,
        choices=PoorAnswerAction.choices,
        blank=True,
        help_text="Taken once, on the first poor answer.",
    )
    poor_follow_up_at = models.DateTimeField(null=True, blank=True)
    follow_up_ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["send_at"], condition=Q(state="scheduled"), name="survey_inv_due"),
            models.Index(fields=["claimed_at"], condition=Q(state="sending"), name="survey_inv_sending"),
            models.Index(fields=["ticket", "state"], name="survey_inv_ticket_state"),
            models.Index(fields=["sent_at"], name="survey_inv_sent"),
        ]
        constraints = [
            # At most one invitation in flight per ticket: a second solve without a reopen adds none.
            models.UniqueConstraint(
                fields=["ticket"],
                condition=Q(state__in=["scheduled", "sending"]),
                name="survey_inv_one_active_per_ticket",
            ),
            models.CheckConstraint(
                condition=Q(state="skipped", skip_reason__gt="") | ~Q(state="skipped"),
                name="survey_inv_skip_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Survey #{self.pk} for ticket {self.ticket_id} ({self.state})"

    @property
    def primary_kind(self) -> str:
        return self.kinds[0]

    def question(self, kind: str) -> str:
        return self.questions.get(kind) or DEFAULT_QUESTIONS[kind]


class SurveyResponse(models.Model):
    """The current answer to one question of an invitation; earlier answers are in `changes`."""

    class Source(models.TextChoices):
        WEB = "web", "Survey page"
        EMAIL = "email", "Email reply"

    invitation = models.ForeignKey(SurveyInvitation, on_delete=models.CASCADE, related_name="responses")
    kind = models.CharField(max_length=4, choices=Kind.choices)
    score = models.SmallIntegerField(
        null=True, blank=True, help_text="Empty: an email reply we could not read."
    )
    comment = models.TextField(blank=True)
    source = models.CharField(max_length=5, choices=Source.choices)
    needs_review = models.BooleanField(
        default=False, help_text="An emailed reply whose score could not be read with confidence."
    )
    is_poor = models.BooleanField(default=False)
    created_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["invitation", "kind"], name="survey_response_one_per_kind"),
            models.CheckConstraint(
                condition=(
                    Q(score__isnull=True)
                    | Q(kind="csat", score__gte=1, score__lte=5)
                    | Q(kind="ces", score__gte=1, score__lte=7)
                    | Q(kind="nps", score__gte=0, score__lte=10)
                ),
                name="survey_response_score_on_scale",
            ),
        ]
        indexes = [models.Index(fields=["kind", "created_at"], name="survey_resp_kind_created")]

    def __str__(self) -> str:
        score = "no score" if self.score is None else self.score
        return f"{self.kind.upper()} {score} (survey #{self.invitation_id})"


class SurveyResponseChange(models.Model):
    """Every answer as given, oldest first: the history behind a response's current value."""

    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="changes")
    score = models.SmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    source = models.CharField(max_length=5, choices=SurveyResponse.Source.choices)
    raw_message_id = models.CharField(max_length=998, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.score} at {self.created_at:%Y-%m-%d %H:%M}"
