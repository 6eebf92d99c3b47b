"""The additive sums behind every metric, named once for the raw computation and the daily rollup (pure).

`tickets.reporting.metrics` computes these sums per group from the raw tables, or adds them up from the
rollup rows (`tickets.reporting.models.MetricsRollup`, one column per name), and derives every measure
(rates, means, compliance) from the sums; so both paths agree exactly by construction.
"""

#: Duration summaries: name -> (family, per-ticket column). The response family places a ticket by its
#: first reply, the solved family by its (last) solve.
DURATIONS = {
    "first_response_hours": ("response", "first_response_seconds"),
    "first_response_business_hours": ("response", "first_response_business_seconds"),
    "first_resolution_hours": ("solved", "first_resolution_seconds"),
    "first_resolution_business_hours": ("solved", "first_resolution_business_seconds"),
    "resolution_hours": ("solved", "resolution_seconds"),
    "resolution_business_hours": ("solved", "resolution_business_seconds"),
    "requester_wait_hours": ("solved", "requester_wait_seconds"),
    "requester_wait_business_hours": ("solved", "requester_wait_business_seconds"),
    "agent_work_hours": ("solved", "agent_work_seconds"),
    "agent_work_business_hours": ("solved", "agent_work_business_seconds"),
    "agent_wait_hours": ("solved", "agent_wait_seconds"),
    "agent_wait_business_hours": ("solved", "agent_wait_business_seconds"),
    "on_hold_hours": ("solved", "on_hold_seconds"),
    "on_hold_business_hours": ("solved", "on_hold_business_seconds"),
}
#: The per-ticket duration columns, in a fixed order (histogram rows store the index).
DURATION_COLUMNS = tuple(column for _, column in DURATIONS.values())
#: `tickets.adapters.sla.SlaMetric.values` (a test keeps the two equal; this module imports nothing).
SLA_METRICS = ("first_response", "next_response", "periodic_update", "resolution")

CREATED = ("created",)
RESOLVED = ("resolved",)
SOLVED = (
    "solved",
    "fcr",
    "reopened",
    "reopens",
    "replies",
    "one_touch",
    "two_touch",
    "no_transfer",
    "team_stations",
    "assignee_stations",
    "repeat",
)
PHONE = (
    "phone_calls",
    "phone_answered",
    "phone_abandoned",
    "phone_short",
    "phone_within",
    "phone_wait",
    "phone_handle",
    "phone_fcr",
)
SLA = tuple(f"sla_{metric}_{outcome}" for metric in SLA_METRICS for outcome in ("achieved", "breached"))


#: Survey scales (`surveys.scoring.SCALES`; a test keeps the two equal). The rollup counts scored answers
#: per kind and score, placed by their first answer, and invitations sent and answered, placed by sending;
#: both in the group of the invitation's snapshot (team, agent, channel, priority at solve time).
SURVEY_SCALES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}


def survey_score(kind: str, score: int) -> str:
    """The sum that counts the answers of one kind with one score."""
    return f"survey_{kind}_{score}"


SURVEY = (
    *(
        survey_score(kind, score)
        for kind, (low, high) in SURVEY_SCALES.items()
        for score in range(low, high + 1)
    ),
    "survey_sent",
    "survey_responded",
)


def duration_sums(column: str) -> tuple[str, str]:
    """The count and total of one duration column."""
    return f"{column}_n", f"{column}_sum"


DURATION_SUMS = tuple(name for column in DURATION_COLUMNS for name in duration_sums(column))
#: The sums of the ticket families (the reports' measures but surveys), then every rollup column.
FAMILY_COLUMNS = CREATED + RESOLVED + SOLVED + DURATION_SUMS + PHONE + SLA
SUM_COLUMNS = FAMILY_COLUMNS + SURVEY
