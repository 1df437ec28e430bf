"""Store operations behind the built-in reports (SQL in `sql/reports.sql`).

Every figure is computed in SQL; these operations only turn the rows into JSON-ready
values for the report files: camelCase keys (the guide's spelling), ISO times, rounded
numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pgqueue.store.ops import Op, Row
from pgqueue.store.queries import query

DECIMALS = 3
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info", "unknown")


@dataclass(frozen=True)
class Period:
    """[start, end): aware datetimes."""

    start: datetime
    end: datetime

    def params(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end}


def _camel(name: str) -> str:
    return re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)


def plain(value: Any) -> Any:
    """A value as JSON holds it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        return round(value, DECIMALS)
    return value


def _record(row: Row) -> dict[str, Any]:
    return {_camel(k): plain(v) for k, v in row.items()}


def _records(rows: list[Row]) -> list[dict[str, Any]]:
    return [_record(r) for r in rows]


def severity_key(severity: str) -> tuple[int, str]:
    """Most severe first; severities of other scanners after the usual ones, by name."""
    known = SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)
    return known, severity


# --- pipeline-report -------------------------------------------------------------------


def _pipeline(queue: str, pipeline_id: str, period: Period) -> dict[str, Any]:
    return {"queue": queue, "pipeline_id": pipeline_id, **period.params()}


def pipeline_summary(queue: str, pipeline_id: str, period: Period) -> Op[dict[str, Any]]:
    return Op(
        query("report_pipeline_summary"),
        _pipeline(queue, pipeline_id, period),
        lambda rows: _record(rows[0]),
    )


def pipeline_failures(queue: str, pipeline_id: str, period: Period) -> Op[list[dict[str, Any]]]:
    return Op(query("report_pipeline_failures"), _pipeline(queue, pipeline_id, period), _records)


def pipeline_runs(queue: str, pipeline_id: str, period: Period) -> Op[list[dict[str, Any]]]:
    return Op(query("report_pipeline_runs"), _pipeline(queue, pipeline_id, period), _records)


# --- test-coverage ---------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    total: dict[str, Any]
    days: list[dict[str, Any]]


def coverage_by_day(queue: str, project_id: str, period: Period) -> Op[Coverage]:
    def read(rows: list[Row]) -> Coverage:
        records = _records(rows)
        return Coverage(records[0], records[1:])

    return Op(
        query("report_test_coverage"),
        {"queue": queue, "project_id": project_id, **period.params()},
        read,
    )


# --- security-scan ---------------------------------------------------------------------


@dataclass(frozen=True)
class Findings:
    by_severity: dict[str, int]
    """Findings of the period by severity, most severe first."""
    scans: list[dict[str, Any]]
    """One entry per scan: id, queue, projectId, finishedAt and `findings` by severity."""


def security_findings(
    name: str, report_queue: str, project_id: str | None, period: Period
) -> Op[Findings]:
    def read(rows: list[Row]) -> Findings:
        totals: dict[str, int] = {}
        scans: dict[int, dict[str, Any]] = {}
        for row in rows:
            severity, count = row["severity"], int(row["findings"])
            if row["id"] is None:
                if severity is not None:
                    totals[severity] = count
                continue
            scan = scans.setdefault(
                row["id"],
                {
                    "id": str(row["id"]),
                    "queue": row["queue"],
                    "projectId": row["project_id"],
                    "finishedAt": plain(row["finished_at"]),
                    "findings": {},
                },
            )
            if severity is not None:
                scan["findings"][severity] = count
        ordered = {s: totals[s] for s in sorted(totals, key=severity_key)}
        return Findings(ordered, list(scans.values()))

    return Op(
        query("report_security_findings"),
        {
            "name": name,
            "report_queue": report_queue,
            "project_id": project_id,
            **period.params(),
        },
        read,
    )


# --- analytics -------------------------------------------------------------------------


@dataclass(frozen=True)
class Analytics:
    overall: dict[str, Any]
    queues: list[dict[str, Any]]
    """Each queue over the whole period."""
    days: list[dict[str, Any]]
    """Each queue on each day it finished jobs."""


def queue_analytics(period: Period) -> Op[Analytics]:
    def read(rows: list[Row]) -> Analytics:
        overall: dict[str, Any] = {}
        queues: list[dict[str, Any]] = []
        days: list[dict[str, Any]] = []
        for row in rows:
            record = _record(row)
            if row["queue"] is None:
                record.pop("queue")
                record.pop("day")
                overall = record
            elif row["day"] is None:
                record.pop("day")
                queues.append(record)
            else:
                days.append(record)
        return Analytics(overall, queues, days)

    return Op(query("report_queue_analytics"), period.params(), read)


# --- audit-log -------------------------------------------------------------------------


def audit_entries(period: Period) -> Op[list[dict[str, Any]]]:
    return Op(query("report_audit_log"), period.params(), _records)


@dataclass(frozen=True)
class AuditSummary:
    entries: int
    by_action: dict[str, int]
    by_outcome: dict[str, int]
    by_actor: dict[str, int]


def audit_summary(period: Period) -> Op[AuditSummary]:
    def read(rows: list[Row]) -> AuditSummary:
        found: dict[str, dict[str, int]] = {"action": {}, "outcome": {}, "actor": {}}
        total = 0
        for row in rows:
            if row["dimension"] == "total":
                total = int(row["entries"])
            else:
                found[row["dimension"]][row["value"]] = int(row["entries"])
        return AuditSummary(total, found["action"], found["outcome"], found["actor"])

    return Op(query("report_audit_summary"), period.params(), read)
