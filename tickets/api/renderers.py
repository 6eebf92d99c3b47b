import csv
import io

from rest_framework.renderers import BaseRenderer

from tickets.reporting import metrics

SLA_PARTS = ("achieved", "breached", "compliance_rate")


def _sla_columns() -> list[str]:
    return [f"sla_{metric}_{part}" for metric in metrics.SLA_METRICS for part in SLA_PARTS]


def metrics_csv_rows(data: dict) -> list[list]:
    """The metrics answer as a table: one row per group, duration summaries spread over columns."""
    header = ["key", "label", "tickets_created", "tickets_solved", "backlog"]
    for name in metrics.DURATIONS:
        header += [f"{name}_{part}" for part in ("count", "mean", "median", "p90")]
    header += list(metrics.FLAT_MEASURES)
    header += _sla_columns()
    rows = [header]
    for group in [*data["groups"], {"key": "total", "label": "Total", **data["totals"]}]:
        row = [
            group["key"],
            group["label"],
            group["tickets_created"],
            group["tickets_solved"],
            group["backlog"],
        ]
        for name in metrics.DURATIONS:
            row += [group[name][part] for part in ("count", "mean", "median", "p90")]
        row += [group[name] for name in metrics.FLAT_MEASURES]
        row += [group["sla"][metric][part] for metric in metrics.SLA_METRICS for part in SLA_PARTS]
        rows.append(["" if value is None else value for value in row])
    return rows


class MetricsCSVRenderer(BaseRenderer):
    """`?format=csv` on the metrics endpoint; errors render as a one-row table with the message."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        rows = (
            metrics_csv_rows(data)
            if "groups" in data
            else [["detail", "code"], [data.get("detail"), data.get("code")]]
        )
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        return buffer.getvalue().encode("utf-8")
