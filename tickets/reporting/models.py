"""The daily metrics rollup: additive sums and duration histograms per day and group (app label `tickets`).

Rows are written only by `tickets.reporting.rollup` (recompute a whole day from the raw tables) and read
by `tickets.reporting.metrics`; see docs/metrics.md ("The daily rollup").
"""

from django.db import models

from tickets.reporting import sums


class MetricsRollupDay(models.Model):
    """One local day of the rollup: when it was last computed, whether a change made it stale, who holds it.

    A day is read from the rollup only when `computed_at` is set and `dirty_at` is not; otherwise the
    metrics read the raw tables for it.
    """

    day = models.DateField(primary_key=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    dirty_at = models.DateTimeField(
        null=True, blank=True, help_text="A change touched this day after it was computed (the latest one)."
    )
    claimed_until = models.DateTimeField(
        null=True, blank=True, help_text="Lease of the worker recomputing the day; expired leases are free."
    )

    class Meta:
        app_label = "tickets"
        indexes = [
            models.Index(fields=["day"], condition=models.Q(dirty_at__isnull=False), name="rollup_day_dirty")
        ]

    def __str__(self) -> str:
        return f"Metrics rollup of {self.day}"


class Grain(models.IntegerChoices):
    """How finely a rollup row is grouped; reports read the coarsest grain that answers them.

    The coarser grains are sums of the full one, kept for speed: a year of an installation's totals is
    365 rows, where the full grain holds a row per day and combination that occurred.
    """

    FULL = 0, "Day, team, agent, channel and priority"
    TEAM = 1, "Day and team"
    DAY = 2, "Day"
    TEAM_AGENT = 3, "Day, team and agent"


class Span(models.IntegerChoices):
    """How many days a histogram row counts. Month and week rows (coarser grains only) let a report over
    whole months and weeks read a row per month or week instead of one per day; they are used only when
    every day they count is in the rollup and clean."""

    DAY = 0, "The day"
    MONTH = 1, "The month starting on the day"
    WEEK = 2, "The week (Monday to Sunday) starting on the day"


class MetricsRollup(models.Model):
    """Sums of one day and group: team, agent, channel and priority as each family groups them.

    `team_id` / `agent_id` are plain ids (None: the "(unassigned)" group), not foreign keys: the rollup
    is derived data, recomputed from the tickets, and must not block deleting a team or a user. In the
    coarser grains the columns a grain leaves out are None / empty and mean "all".
    """

    grain = models.PositiveSmallIntegerField(choices=Grain.choices, default=Grain.FULL)
    day = models.DateField()
    team_id = models.BigIntegerField(null=True, blank=True)
    agent_id = models.BigIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=10)
    priority = models.CharField(max_length=10)

    class Meta:
        app_label = "tickets"
        indexes = [models.Index(fields=["grain", "day", "team_id"], name="rollup_grain_day_team")]

    def __str__(self) -> str:
        return f"Metrics of {self.day} (team {self.team_id}, agent {self.agent_id})"


for _name in sums.SUM_COLUMNS:
    MetricsRollup.add_to_class(_name, models.BigIntegerField(default=0))


class MetricsHistogram(models.Model):
    """How many values of one duration column fell into one bucket (`tickets.reporting.histogram`), per
    day (or month, `span`) and group in each grain, as `MetricsRollup`.

    A month or week row is the sum of its day rows of its grain, rewritten whenever one of them is. A
    histogram is the rows of one grain, span, day, group and column.
    """

    grain = models.PositiveSmallIntegerField(choices=Grain.choices, default=Grain.FULL)
    span = models.PositiveSmallIntegerField(choices=Span.choices, default=Span.DAY)
    day = models.DateField()
    team_id = models.BigIntegerField(null=True, blank=True)
    agent_id = models.BigIntegerField(null=True, blank=True)
    channel = models.CharField(max_length=10)
    priority = models.CharField(max_length=10)
    column = models.PositiveSmallIntegerField(help_text="Index into tickets.reporting.sums.DURATION_COLUMNS.")
    bucket = models.PositiveSmallIntegerField()
    count = models.PositiveIntegerField()
    # The histogram cumulated and its percentile buckets marked, so where a report's group is a single
    # histogram (an admin's year by day reads 365 times 14 of them) its median and p90 are read from the
    # marked rows alone, through a covering index, without adding any rows up.
    below = models.PositiveBigIntegerField(default=0, help_text="Values of this histogram in lower buckets.")
    total = models.PositiveBigIntegerField(default=0, help_text="Values in this histogram, all buckets.")
    ranked = models.BooleanField(
        default=False, help_text="This bucket holds a rank that the histogram's median or p90 interpolates."
    )

    class Meta:
        app_label = "tickets"
        indexes = [
            models.Index(fields=["grain", "span", "day", "team_id"], name="rollup_histogram_span_day"),
            models.Index(
                fields=["grain", "span", "day", "team_id"],
                include=["column", "bucket", "count", "below", "total"],
                condition=models.Q(ranked=True),
                name="rollup_histogram_ranked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.count} in bucket {self.bucket} of column {self.column} on {self.day}"
