"""A report as files: CSV and JSON for machines, HTML for people.

Files are written next to their final name and renamed into place, so a reader never
sees half a report; a retried job rewrites the same names.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment


@dataclass(frozen=True)
class Report:
    """What a report job found. `sections` are named tables; `table` is the one the CSV
    file holds, with `columns` in that order."""

    kind: str
    title: str
    parameters: dict[str, Any]
    summary: dict[str, Any]
    sections: dict[str, list[dict[str, Any]]]
    table: str
    columns: tuple[str, ...]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet reads a cell starting with one of these as a formula (OWASP's list)."""


def neutralise(text: str) -> str:
    """A leading `'` makes a spreadsheet show the text instead of running it as a
    formula; job data and names are whatever producers sent."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return neutralise(value) if isinstance(value, str) else value


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([neutralise(c) for c in report.columns])
    for row in report.sections[report.table]:
        writer.writerow([_cell(row.get(c)) for c in report.columns])
    return out.getvalue()


def to_json(report: Report, generated_at: datetime) -> str:
    document = {
        "report": report.kind,
        "generatedAt": generated_at.isoformat(),
        "parameters": report.parameters,
        "summary": report.summary,
        **report.sections,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def to_html(report: Report, generated_at: datetime, env: Environment) -> str:
    """`report/<kind>.html` if there is one (say, in PGQUEUE_TEMPLATE_DIR), else the
    generic `report/report.html`."""
    template = env.select_template([f"report/{report.kind}.html", "report/report.html"])
    return template.render(report=report, generated_at=generated_at.isoformat())


def _write(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def write_report(report: Report, directory: Path, stem: str, env: Environment) -> dict[str, str]:
    """Write `<stem>.csv`, `.json` and `.html` under `directory`; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    generated_at = datetime.now(UTC)
    texts = {
        "csv": to_csv(report),
        "json": to_json(report, generated_at),
        "html": to_html(report, generated_at, env),
    }
    files: dict[str, str] = {}
    for kind, text in texts.items():
        path = directory / f"{stem}.{kind}"
        _write(path, text)
        files[kind] = str(path.resolve())
    return files
