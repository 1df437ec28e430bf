"""The `cleanup` queue's built-in processors: the guide's four maintenance jobs.

- `expired-tokens`: deletes API tokens past their expiry.
- `old-logs`: archives job log lines older than 30 days as gzip JSON lines under
  `<artifacts>/archives/`, then deletes them (a batch is deleted only once written).
- `temp-files`: removes files under the temp directory not modified for 24 hours.
- `old-artifacts`: removes files under the artifacts directory not modified for 7 days,
  except `archives/`, which holds the only copy of archived logs.

Ages can be given in the job's data as `olderThanDays`, `olderThanHours` or
`olderThanSeconds`. The file sweeps never follow a symbolic link, even one swapped in
while they run: a link is removed as a file would be, and what it points to is never
touched. Empty directories left old are removed too, never the swept directory itself,
and `/` or a home directory is refused as the directory to sweep. Each returns what it
removed.
"""

from __future__ import annotations

import errno
import gzip
import json
import os
import stat
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgqueue.errors import UnrecoverableError
from pgqueue.manager import housekeeping
from pgqueue.manager.housekeeping import Row
from pgqueue.models import CleanupJobType, QueueName
from pgqueue.registry import Registry
from pgqueue.worker.job import RunningJob

DAY = 86_400.0
LOG_BATCH = 10_000
ARCHIVES = "archives"
LISTED = 1000
"""At most this many removed paths are listed in a result; the counts are complete."""

_AGE_UNITS = {"olderThanSeconds": 1.0, "olderThanHours": 3600.0, "olderThanDays": DAY}


def older_than(data: Any, default_seconds: float) -> float:
    """The age in seconds a job's data asks for, else the default."""
    if data is None:
        return default_seconds
    if not isinstance(data, Mapping):
        raise UnrecoverableError(f"cleanup job data must be an object, got {data!r}")
    given = {k: v for k, v in data.items() if k in _AGE_UNITS}
    if len(given) > 1:
        raise UnrecoverableError(f"give one of {sorted(_AGE_UNITS)}, got {sorted(given)}")
    for unit, value in given.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise UnrecoverableError(f"{unit} must be a number >= 0, got {value!r}")
        return float(value) * _AGE_UNITS[unit]
    return default_seconds


def expired_tokens(job: RunningJob) -> dict[str, Any]:
    names = housekeeping.delete_expired_tokens(job.database_url)
    return {"removed": len(names), "tokens": names}


def _archive_line(row: Row) -> str:
    return json.dumps({**row, "created_at": row["created_at"].isoformat()}, ensure_ascii=False)


def _write_archive(directory: Path, rows: list[Row]) -> Path:
    """Written under a temporary name, synced, then renamed: a file under its final name
    is always complete."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"job-logs-{stamp}-{rows[0]['id']}-{rows[-1]['id']}.jsonl.gz"
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb") as archive:
            archive.write("".join(_archive_line(r) + "\n" for r in rows).encode())
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(partial, path)
    return path


def old_logs(job: RunningJob) -> dict[str, Any]:
    seconds = older_than(job.data, 30 * DAY)
    directory = job.settings.artifacts_dir / ARCHIVES
    directory.mkdir(parents=True, exist_ok=True)
    files: list[str] = []
    archived = housekeeping.take_old_job_logs(
        job.database_url,
        seconds,
        LOG_BATCH,
        lambda rows: files.append(str(_write_archive(directory, rows))),
    )
    return {"archived": archived, "files": files}


def _forbidden_roots() -> set[Path]:
    """`/` and every home directory: a sweep there would delete a user's files."""
    roots = {Path("/"), Path.home().resolve()}
    try:
        import pwd

        roots.update(Path(user.pw_dir).resolve() for user in pwd.getpwall() if user.pw_dir)
    except ImportError:  # not on Unix
        pass
    return roots


class _Sweep:
    """Removes entries under `root` last modified before `cutoff` (a Unix time).

    The walk goes by directory file descriptor, as `shutil.rmtree` guards itself: each
    name is looked up relative to its parent's descriptor and never followed, and a
    directory is entered only if what was opened is what was inspected. A link planted
    in a race, even where a directory was a moment before, is removed or skipped, never
    followed.
    """

    def __init__(self, root: Path, cutoff: float, keep: frozenset[str]) -> None:
        resolved = root.resolve()
        if resolved in _forbidden_roots():
            raise UnrecoverableError(f"refusing to sweep {resolved}: it is / or a home directory")
        self.root = root
        self.cutoff = cutoff
        self.keep = keep
        self.removed: list[str] = []
        self.count = 0
        self.bytes = 0
        self.failed: list[str] = []

    def run(self) -> dict[str, Any]:
        try:
            root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except (FileNotFoundError, NotADirectoryError):
            root_fd = None
        if root_fd is not None:
            try:
                self._visit(root_fd, "")
            finally:
                os.close(root_fd)
        return {
            "removed": self.count,
            "bytes": self.bytes,
            "files": self.removed,
            "failed": self.failed,
        }

    def _visit(self, dir_fd: int, where: str) -> None:
        with os.scandir(dir_fd) as listing:
            names = [entry.name for entry in listing]
        for name in names:
            if not where and name in self.keep:
                continue
            path = os.path.join(where, name)
            try:
                found = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if stat.S_ISDIR(found.st_mode):
                    self._enter(dir_fd, name, path, found)
                    if found.st_mtime < self.cutoff and self._remove_empty(dir_fd, name):
                        self._note(path, 0)
                elif found.st_mtime < self.cutoff:
                    os.unlink(name, dir_fd=dir_fd)
                    self._note(path, found.st_size)
            except FileNotFoundError:
                continue  # removed by someone else meanwhile
            except OSError:
                self.failed.append(path)

    def _enter(self, dir_fd: int, name: str, path: str, seen: os.stat_result) -> None:
        fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
        try:
            if not os.path.samestat(seen, os.fstat(fd)):
                raise OSError(errno.EXDEV, "the directory was swapped during the sweep", path)
            self._visit(fd, path)
        finally:
            os.close(fd)

    @staticmethod
    def _remove_empty(dir_fd: int, name: str) -> bool:
        try:
            os.rmdir(name, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                return False
            raise
        return True

    def _note(self, path: str, size: int) -> None:
        self.count += 1
        self.bytes += size
        if len(self.removed) < LISTED:
            self.removed.append(path)


def temp_files(job: RunningJob) -> dict[str, Any]:
    cutoff = time.time() - older_than(job.data, DAY)
    return _Sweep(job.settings.temp_dir, cutoff, frozenset()).run()


def old_artifacts(job: RunningJob) -> dict[str, Any]:
    cutoff = time.time() - older_than(job.data, 7 * DAY)
    return _Sweep(job.settings.artifacts_dir, cutoff, frozenset({ARCHIVES})).run()


def register(registry: Registry) -> None:
    queue = QueueName.CLEANUP.value
    registry.add(queue, CleanupJobType.EXPIRED_TOKENS.value, expired_tokens)
    registry.add(queue, CleanupJobType.OLD_LOGS.value, old_logs)
    registry.add(queue, CleanupJobType.TEMP_FILES.value, temp_files)
    registry.add(queue, CleanupJobType.OLD_ARTIFACTS.value, old_artifacts)
