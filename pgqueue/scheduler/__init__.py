"""Scheduler processes: repeating jobs from the schedules table, one job per slot."""

from pgqueue.scheduler.runner import Scheduler, run_scheduler

__all__ = ["Scheduler", "run_scheduler"]
