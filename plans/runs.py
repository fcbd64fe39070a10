"""The outcomes a run (one stage's unit of work, a ``run`` row) can be in or end with.

They live beside the store that records them, so the stages that produce outcomes (the worker's
pull and compute, write-back's push) and the commands that show them share one vocabulary.
"""

from __future__ import annotations

PENDING, RUNNING = "pending", "running"
SUCCEEDED, INCOMPLETE, FAILED, SKIPPED = "succeeded", "incomplete", "failed", "skipped"
INTERRUPTED = "interrupted"
"""Stopped by a signal (Ctrl-C, SIGTERM) before it finished; never resent."""
FINISHED = (SUCCEEDED, INCOMPLETE, FAILED, SKIPPED, INTERRUPTED)
