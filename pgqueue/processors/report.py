"""The built-in report processor: the guide's five report types, from pgqueue's own rows.

Reports read what pgqueue holds — the job history of the platform's queues and the admin
audit log — in one read-only snapshot of the worker's database, and write
`<type>-<job id>.csv`, `.json` and `.html` under `PGQUEUE_ARTIFACTS_DIR/reports/`. The
job's return value names the files and carries the summary.

Every report takes a period: `startDate` and `endDate` (ISO dates, both days included,
in UTC; or ISO times, the end excluded), or `days` (the last N whole UTC days before
today, 7 when nothing is given, which suits a repeating report). Bad parameters fail the
job at once; a period without data gives an empty report.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pgqueue.errors import UnrecoverableError
from pgqueue.manager.reports import Period, ReportReader, report_snapshot
from pgqueue.models import QueueName, ReportJobType
from pgqueue.processors.report_files import Report, write_report
from pgqueue.processors.templates import template_environment
from pgqueue.registry import ANY_NAME, Registry
from pgqueue.worker.job import RunningJob

CONCURRENCY = 2
DEFAULT_DAYS = 7
MAX_DAYS = 3660
SECURITY_SCAN_JOB = "security-scan"

Data = dict[str, Any]
Builder = Callable[[ReportReader, Data, Period], Report]


# --- parameters ------------------------------------------------------------------------


def _moment(raw: Any, field: str, *, end: bool) -> datetime:
    if not isinstance(raw, str):
        raise UnrecoverableError(f"{field} must be an ISO date such as 2025-10-01, got {raw!r}")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        pass
    else:
        return datetime.combine(day + timedelta(days=1 if end else 0), time(), UTC)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise UnrecoverableError(
            f"{field} must be an ISO date such as 2025-10-01, got {raw!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_period(data: Data, today: date | None = None) -> Period:
    start, end = data.get("startDate"), data.get("endDate")
    if start is None and end is None:
        days = data.get("days", DEFAULT_DAYS)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            raise UnrecoverableError(f"days must be a whole number from 1 to {MAX_DAYS}")
        last = datetime.combine(today or datetime.now(UTC).date(), time(), UTC)
        return Period(last - timedelta(days=days), last)
    if start is None or end is None:
        raise UnrecoverableError("give both startDate and endDate, or neither")
    period = Period(_moment(start, "startDate", end=False), _moment(end, "endDate", end=True))
    if period.end <= period.start:
        raise UnrecoverableError(f"endDate {end!r} is before startDate {start!r}")
    return period


def _identifier(data: Data, field: str) -> str:
    value = data.get(field)
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise UnrecoverableError(f"this report needs {field}: a non-empty string, got {value!r}")
    return str(value)


def _parameters(period: Period, **more: Any) -> dict[str, Any]:
    return {
        **{k: v for k, v in more.items() if v is not None},
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
    }


# --- the five reports ------------------------------------------------------------------


def pipeline_report(db: ReportReader, data: Data, period: Period) -> Report:
    pipeline_id = _identifier(data, "pipelineId")
    queue = QueueName.PIPELINE.value
    figures = db.pipeline_summary(queue, pipeline_id, period)
    reasons = db.pipeline_failures(queue, pipeline_id, period)
    runs = db.pipeline_runs(queue, pipeline_id, period)
    outcomes = ("completed", "failed", "active", "waiting", "delayed")
    summary = {
        "pipelineId": pipeline_id,
        "runs": figures["runs"],
        "byOutcome": {o: figures[o] for o in outcomes},
        "successRate": figures["successRate"],
        "durationP50Seconds": figures["durationP50Seconds"],
        "durationP95Seconds": figures["durationP95Seconds"],
    }
    return Report(
        ReportJobType.PIPELINE_REPORT.value,
        f"Pipeline report: {pipeline_id}",
        _parameters(period, pipelineId=pipeline_id),
        summary,
        {"failureReasons": reasons, "runs": runs},
        "runs",
        (
            "id",
            "name",
            "state",
            "attemptsMade",
            "createdAt",
            "processedAt",
            "finishedAt",
            "durationSeconds",
            "failedReason",
        ),
    )


def coverage_report(db: ReportReader, data: Data, period: Period) -> Report:
    project_id = _identifier(data, "projectId")
    found = db.coverage_by_day(QueueName.TEST.value, project_id, period)
    total = found.total
    summary = {
        "projectId": project_id,
        "runs": total["runs"],
        "runsWithCoverage": total["runsWithCoverage"],
        "averageCoverage": total["average"],
        "firstCoverage": total["first"],
        "latestCoverage": total["latest"],
    }
    return Report(
        ReportJobType.TEST_COVERAGE.value,
        f"Test coverage: {project_id}",
        _parameters(period, projectId=project_id),
        summary,
        {"days": found.days},
        "days",
        ("day", "runs", "runsWithCoverage", "average", "minimum", "maximum", "first", "latest"),
    )


def security_scan_report(db: ReportReader, data: Data, period: Period) -> Report:
    project_id = None if data.get("projectId") is None else _identifier(data, "projectId")
    found = db.security_findings(SECURITY_SCAN_JOB, QueueName.REPORT.value, project_id, period)
    severities = list(found.by_severity)
    scans = [
        {
            **{k: v for k, v in scan.items() if k != "findings"},
            **{s: scan["findings"].get(s, 0) for s in severities},
            "total": sum(scan["findings"].values()),
        }
        for scan in found.scans
    ]
    summary = {
        "scans": len(scans),
        "findings": sum(found.by_severity.values()),
        "bySeverity": found.by_severity,
    }
    return Report(
        ReportJobType.SECURITY_SCAN.value,
        "Security scan findings" + (f": {project_id}" if project_id else ""),
        _parameters(period, projectId=project_id),
        summary,
        {
            "bySeverity": [{"severity": s, "findings": n} for s, n in found.by_severity.items()],
            "scans": scans,
        },
        "scans",
        ("id", "queue", "projectId", "finishedAt", *severities, "total"),
    )


def analytics_report(db: ReportReader, data: Data, period: Period) -> Report:
    found = db.queue_analytics(period)
    return Report(
        ReportJobType.ANALYTICS.value,
        "Queue analytics",
        _parameters(period),
        {"queues": len(found.queues), **found.overall},
        {"queues": found.queues, "days": found.days},
        "days",
        (
            "queue",
            "day",
            "completed",
            "failed",
            "failureRate",
            "waitP50Seconds",
            "waitP95Seconds",
            "runP50Seconds",
            "runP95Seconds",
        ),
    )


def audit_log_report(db: ReportReader, data: Data, period: Period) -> Report:
    summary = db.audit_summary(period)
    entries = db.audit_entries(period)
    return Report(
        ReportJobType.AUDIT_LOG.value,
        "Admin audit log",
        _parameters(period),
        {
            "entries": summary.entries,
            "byAction": summary.by_action,
            "byOutcome": summary.by_outcome,
            "byActor": summary.by_actor,
        },
        {"entries": entries},
        "entries",
        ("id", "createdAt", "actor", "role", "action", "queue", "jobId", "outcome", "detail"),
    )


BUILDERS: dict[str, Builder] = {
    ReportJobType.PIPELINE_REPORT.value: pipeline_report,
    ReportJobType.TEST_COVERAGE.value: coverage_report,
    ReportJobType.SECURITY_SCAN.value: security_scan_report,
    ReportJobType.ANALYTICS.value: analytics_report,
    ReportJobType.AUDIT_LOG.value: audit_log_report,
}


# --- the processor ---------------------------------------------------------------------


def process_report(job: RunningJob) -> dict[str, Any]:
    builder = BUILDERS.get(job.name)
    if builder is None:
        raise UnrecoverableError(
            f"unknown report type {job.name!r}; known: {', '.join(sorted(BUILDERS))}"
        )
    data = {} if job.data is None else job.data
    if not isinstance(data, dict):
        raise UnrecoverableError(f"report job data must be an object, got {data!r}")
    period = parse_period(data)
    job.progress(25)
    with report_snapshot(job.database_url) as db:
        report = builder(db, data, period)
    job.progress(75)
    settings = job.settings
    files = write_report(
        report,
        settings.artifacts_dir / "reports",
        f"{report.kind}-{job.id}",
        template_environment(settings.template_dir),
    )
    job.progress(100)
    return {
        "report": report.kind,
        "parameters": report.parameters,
        "files": files,
        "summary": report.summary,
    }


def register(registry: Registry) -> None:
    registry.add(QueueName.REPORT.value, ANY_NAME, process_report, CONCURRENCY)
