"""The built-in report processor: figures computed from seeded job history and audit
rows, written as CSV, JSON and HTML by a real worker."""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from pgqueue import JobQueueManager
from pgqueue.config import Settings
from pgqueue.errors import UnrecoverableError
from pgqueue.models import Job, JobState
from pgqueue.processors import report as report_processor
from pgqueue.processors.report import parse_period
from pgqueue.registry import Registry
from tests.helpers import RunWorker, wait_for

OCT_1 = datetime(2025, 10, 1, tzinfo=UTC)
PERIOD = {"startDate": "2025-10-01", "endDate": "2025-10-23"}


class History:
    """Job and audit rows with precise timestamps, written straight into the test
    database: the history a report reads, without waiting for it to happen."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def job(
        self,
        queue: str,
        name: str,
        data: dict[str, Any],
        state: str,
        created: datetime,
        *,
        wait: float = 0.0,
        run: float | None = None,
        result: Any = None,
        reason: str | None = None,
        run_at: datetime | None = None,
    ) -> None:
        processed = created + timedelta(seconds=wait) if run is not None else None
        finished = processed + timedelta(seconds=run) if processed and run is not None else None
        self.conn.execute(
            "INSERT INTO pgqueue_jobs (queue, name, data, state, created_at, run_at,"
            " processed_at, finished_at, return_value, failed_reason, attempts_made)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                queue,
                name,
                Jsonb(data),
                state,
                created,
                run_at or created,
                processed,
                finished,
                None if result is None else Jsonb(result),
                reason,
                1 if processed else 0,
            ),
        )

    def audit(self, at: datetime, actor: str, action: str, outcome: str = "ok") -> None:
        self.conn.execute(
            "INSERT INTO pgqueue_audit_log (created_at, actor, role, action, queue, job_id,"
            " outcome, detail) VALUES (%s, %s, 'ADMIN', %s, 'email', '42', %s, %s)",
            (at, actor, action, outcome, Jsonb({"via": "api"})),
        )


@pytest.fixture
def history(db_url: str) -> Iterator[History]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield History(conn)


@pytest.fixture
def report_settings(settings: Settings, tmp_path: Path) -> Settings:
    return dataclasses.replace(settings, artifacts_dir=tmp_path / "artifacts")


async def _run(
    manager: JobQueueManager, run_worker: RunWorker, settings: Settings, name: str, data: Any
) -> Job:
    registry = Registry()
    report_processor.register(registry)
    added = await manager.add_report_job(name, data, attempts=3)

    async def finished() -> Job | None:
        job = await manager.get_job("report", added.id)
        return job if job and job.state in (JobState.COMPLETED, JobState.FAILED) else None

    async with run_worker(registry, {"report": 2}, settings):
        done: Job = await wait_for(finished)
    return done


def _files(job: Job) -> tuple[list[dict[str, str]], dict[str, Any], str]:
    files = job.return_value["files"]
    assert set(files) == {"csv", "json", "html"}
    with open(files["csv"], newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    document = json.loads(Path(files["json"]).read_text(encoding="utf-8"))
    return rows, document, Path(files["html"]).read_text(encoding="utf-8")


async def test_pipeline_report_counts_outcomes_rates_durations_and_reasons(
    manager: JobQueueManager, run_worker: RunWorker, history: History, report_settings: Settings
) -> None:
    day = OCT_1 + timedelta(days=1, hours=9)
    mine = {"pipelineId": "p-1"}
    for run in (10, 20, 30, 40):
        history.job("pipeline", "build", mine, "completed", day, wait=1, run=run)
    for run, reason in ((5, "tests failed"), (50, "tests failed"), (60, "timeout")):
        history.job("pipeline", "build", mine, "failed", day, run=run, reason=reason)
    history.job("pipeline", "build", mine, "waiting", day)
    history.job("pipeline", "build", mine, "waiting", day, run_at=datetime.now(UTC) + timedelta(1))
    history.job("pipeline", "build", {"pipelineId": "p-2"}, "completed", day, run=1)
    history.job("pipeline", "build", mine, "completed", OCT_1 - timedelta(hours=1), run=1)
    history.job("test", "build", mine, "completed", day, run=1)

    job = await _run(
        manager, run_worker, report_settings, "pipeline-report", {**mine, **PERIOD, "userId": "u"}
    )

    assert job.state == JobState.COMPLETED, job.failed_reason
    assert job.progress == 100
    summary = job.return_value["summary"]
    assert summary == {
        "pipelineId": "p-1",
        "runs": 9,
        "byOutcome": {"completed": 4, "failed": 3, "active": 0, "waiting": 1, "delayed": 1},
        "successRate": 0.571,
        "durationP50Seconds": 30.0,
        "durationP95Seconds": 57.0,
    }
    rows, document, html = _files(job)
    assert len(rows) == 9
    assert [r["state"] for r in rows].count("failed") == 3
    assert rows[0]["durationSeconds"] == "10.0"
    assert document["summary"] == summary
    assert document["failureReasons"] == [
        {"reason": "tests failed", "runs": 2},
        {"reason": "timeout", "runs": 1},
    ]
    assert document["parameters"]["start"] == "2025-10-01T00:00:00+00:00"
    assert document["parameters"]["end"] == "2025-10-24T00:00:00+00:00"
    assert "Pipeline report: p-1" in html and "tests failed" in html
    assert (
        Path(job.return_value["files"]["csv"]).parent
        == report_settings.artifacts_dir.joinpath("reports").resolve()
    )


async def test_test_coverage_report_follows_coverage_per_day(
    manager: JobQueueManager, run_worker: RunWorker, history: History, report_settings: Settings
) -> None:
    web = {"projectId": "web"}
    day1, day2 = OCT_1 + timedelta(hours=8), OCT_1 + timedelta(days=1, hours=8)
    history.job("test", "unit", web, "completed", day1, run=60, result={"coverage": 80})
    history.job("test", "unit", web, "completed", day1, wait=60, run=60, result={"coverage": 82})
    history.job("test", "unit", web, "completed", day2, run=60, result={"coverage": 85.5})
    history.job("test", "unit", web, "completed", day2, run=60, result={"passed": 3})
    history.job("test", "unit", web, "failed", day2, run=60, reason="boom")
    history.job("test", "unit", {"projectId": "api"}, "completed", day2, result={"coverage": 1})

    job = await _run(
        manager, run_worker, report_settings, "test-coverage", {"projectId": "web", **PERIOD}
    )

    assert job.state == JobState.COMPLETED, job.failed_reason
    assert job.return_value["summary"] == {
        "projectId": "web",
        "runs": 4,
        "runsWithCoverage": 3,
        "averageCoverage": 82.5,
        "firstCoverage": 80.0,
        "latestCoverage": 85.5,
    }
    rows, document, _ = _files(job)
    assert document["days"] == [
        {
            "day": "2025-10-01",
            "runs": 2,
            "runsWithCoverage": 2,
            "average": 81.0,
            "minimum": 80.0,
            "maximum": 82.0,
            "first": 80.0,
            "latest": 82.0,
        },
        {
            "day": "2025-10-02",
            "runs": 2,
            "runsWithCoverage": 1,
            "average": 85.5,
            "minimum": 85.5,
            "maximum": 85.5,
            "first": 85.5,
            "latest": 85.5,
        },
    ]
    assert [r["day"] for r in rows] == ["2025-10-01", "2025-10-02"]


async def test_security_scan_report_counts_findings_by_severity(
    manager: JobQueueManager, run_worker: RunWorker, history: History, report_settings: Settings
) -> None:
    at = OCT_1 + timedelta(days=3)

    def scan(queue: str, project: str | None, state: str = "completed", found: Any = None) -> None:
        data = {"projectId": project} if project else {}
        result = None if found is None else {"vulnerabilities": found}
        history.job(queue, "security-scan", data, state, at, run=1, result=result)

    listed = [{"severity": "HIGH", "id": "CVE-1"}, {"severity": "low"}, {"severity": "high"}]
    scan("pipeline", "web", found=listed)
    scan("test", "api", found={"critical": 1, "medium": 3})
    scan("test", "api", found=[])
    scan("test", "api", state="failed")
    scan("report", None, found={"critical": 9})

    everything = await _run(manager, run_worker, report_settings, "security-scan", PERIOD)
    web_only = await _run(
        manager, run_worker, report_settings, "security-scan", {**PERIOD, "projectId": "web"}
    )

    assert everything.state == JobState.COMPLETED, everything.failed_reason
    assert everything.return_value["summary"] == {
        "scans": 3,
        "findings": 7,
        "bySeverity": {"critical": 1, "high": 2, "medium": 3, "low": 1},
    }
    rows, _, html = _files(everything)
    assert [(r["projectId"], r["critical"], r["high"], r["low"], r["total"]) for r in rows] == [
        ("web", "0", "2", "1", "3"),
        ("api", "1", "0", "0", "4"),
        ("api", "0", "0", "0", "0"),
    ]
    assert "critical" in html
    assert web_only.return_value["summary"] == {
        "scans": 1,
        "findings": 3,
        "bySeverity": {"high": 2, "low": 1},
    }


async def test_analytics_report_covers_every_queue(
    manager: JobQueueManager, run_worker: RunWorker, history: History, report_settings: Settings
) -> None:
    day1, day2 = OCT_1 + timedelta(hours=10), OCT_1 + timedelta(days=1, hours=10)
    history.job("email", "welcome", {}, "completed", day1, wait=1, run=2)
    history.job("email", "welcome", {}, "completed", day1, wait=3, run=4)
    history.job("email", "welcome", {}, "failed", day1, wait=5, run=6, reason="550")
    history.job("email", "welcome", {}, "completed", day2, wait=0, run=1)
    history.job("report", "analytics", {}, "completed", day2, wait=2, run=10)
    history.job("email", "welcome", {}, "completed", OCT_1 - timedelta(days=1), run=1)
    history.job("email", "welcome", {}, "waiting", day1)

    job = await _run(
        manager,
        run_worker,
        report_settings,
        "analytics",
        {"startDate": "2025-10-01", "endDate": "2025-10-02"},
    )

    assert job.state == JobState.COMPLETED, job.failed_reason
    assert job.return_value["summary"] == {
        "queues": 2,
        "completed": 4,
        "failed": 1,
        "failureRate": 0.2,
        "waitP50Seconds": 2.0,
        "waitP95Seconds": 4.6,
        "runP50Seconds": 4.0,
        "runP95Seconds": 9.2,
    }
    rows, document, _ = _files(job)
    assert [(q["queue"], q["completed"], q["failed"]) for q in document["queues"]] == [
        ("email", 3, 1),
        ("report", 1, 0),
    ]
    email_day1 = rows[0]
    assert (email_day1["queue"], email_day1["day"]) == ("email", "2025-10-01")
    assert (email_day1["completed"], email_day1["failed"], email_day1["failureRate"]) == (
        "2",
        "1",
        "0.333",
    )
    assert (email_day1["waitP50Seconds"], email_day1["runP50Seconds"]) == ("3.0", "4.0")
    assert [(r["queue"], r["day"]) for r in rows[1:]] == [
        ("email", "2025-10-02"),
        ("report", "2025-10-02"),
    ]


async def test_audit_log_report_exports_the_trail_between_the_dates(
    manager: JobQueueManager, run_worker: RunWorker, history: History, report_settings: Settings
) -> None:
    history.audit(OCT_1 + timedelta(hours=1), "alice", "retry_job")
    history.audit(OCT_1 + timedelta(hours=2), "alice", "remove_job")
    history.audit(OCT_1 + timedelta(hours=3), "bob", "retry_job", outcome="denied")
    history.audit(OCT_1 + timedelta(days=30), "bob", "pause_queue")

    job = await _run(manager, run_worker, report_settings, "audit-log", PERIOD)

    assert job.state == JobState.COMPLETED, job.failed_reason
    assert job.return_value["summary"] == {
        "entries": 3,
        "byAction": {"retry_job": 2, "remove_job": 1},
        "byOutcome": {"ok": 2, "denied": 1},
        "byActor": {"alice": 2, "bob": 1},
    }
    rows, document, html = _files(job)
    assert [(r["actor"], r["action"], r["outcome"]) for r in rows] == [
        ("alice", "retry_job", "ok"),
        ("alice", "remove_job", "ok"),
        ("bob", "retry_job", "denied"),
    ]
    assert json.loads(rows[0]["detail"]) == {"via": "api"}
    assert document["entries"][0]["createdAt"] == "2025-10-01T01:00:00+00:00"
    assert "remove_job" in html


async def test_an_empty_period_gives_an_empty_report(
    manager: JobQueueManager, run_worker: RunWorker, report_settings: Settings
) -> None:
    job = await _run(
        manager, run_worker, report_settings, "pipeline-report", {"pipelineId": "p-1", **PERIOD}
    )

    assert job.state == JobState.COMPLETED, job.failed_reason
    assert job.return_value["summary"]["runs"] == 0
    assert job.return_value["summary"]["successRate"] is None
    rows, document, html = _files(job)
    assert rows == [] and document["runs"] == []
    assert "Nothing in this period" in html


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("pipeline-report", PERIOD, "needs pipelineId"),
        ("test-coverage", {**PERIOD, "projectId": ""}, "needs projectId"),
        ("analytics", {"startDate": "2025-10-01"}, "both startDate and endDate"),
        ("audit-log", {"startDate": "yesterday", "endDate": "2025-10-01"}, "ISO date"),
        ("analytics", {"startDate": "2025-10-05", "endDate": "2025-10-01"}, "before startDate"),
        ("analytics", ["2025-10-01"], "must be an object"),
        ("sales", PERIOD, "unknown report type 'sales'"),
    ],
)
async def test_bad_parameters_fail_the_job_at_once(
    manager: JobQueueManager,
    run_worker: RunWorker,
    report_settings: Settings,
    name: str,
    data: Any,
    reason: str,
) -> None:
    job = await _run(manager, run_worker, report_settings, name, data)

    assert job.state == JobState.FAILED
    assert job.attempts_made == 1
    assert reason in (job.failed_reason or "")
    assert not (report_settings.artifacts_dir / "reports").exists()


def test_a_period_is_whole_utc_days_or_exact_times_or_the_last_days() -> None:
    dates = parse_period({"startDate": "2025-10-01", "endDate": "2025-10-01"})
    assert (dates.start, dates.end) == (OCT_1, OCT_1 + timedelta(days=1))
    times = parse_period({"startDate": "2025-10-01T12:00:00+02:00", "endDate": "2025-10-02T00:00"})
    assert times.start == datetime(2025, 10, 1, 10, tzinfo=UTC)
    assert times.end == datetime(2025, 10, 2, tzinfo=UTC)
    default = parse_period({}, today=date(2025, 10, 8))
    assert (default.start, default.end) == (OCT_1, OCT_1 + timedelta(days=7))
    assert parse_period({"days": 1}, today=date(2025, 10, 2)).start == OCT_1
    with pytest.raises(UnrecoverableError, match="days must be a whole number"):
        parse_period({"days": 0})
