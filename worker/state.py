"""Stream watermarks: how far each stream has been pulled.

A watermark is read once at the start of a sync and written with every page, in the same
transaction as that page's activities, so it can never run ahead of stored data: a crash
after the commit resumes after the page, a crash before it re-reads the page.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from connectors.base import Watermark
from plans.db import upsert
from plans.store import STATE_VERSION, WatermarkRow
from worker.jobs import now


def get(session: Session, source: str, stream: str) -> WatermarkRow | None:
    """The stored watermark row of a stream, or None before its first sync."""
    return session.scalars(
        select(WatermarkRow).where(
            col(WatermarkRow.source) == source, col(WatermarkRow.stream) == stream
        )
    ).first()


def watermark(session: Session, source: str, stream: str) -> Watermark | None:
    """The position to pull from, or None for a full pull."""
    row = get(session, source, stream)
    if row is None or row.modified_at is None:
        return None
    return Watermark(row.modified_at, row.record_id or "")


def advance(session: Session, source: str, stream: str, mark: Watermark) -> None:
    """Move the stream's watermark forward to ``mark`` (never backwards) in this transaction."""
    current = watermark(session, source, stream)
    if current is not None and mark <= current:
        return
    _write(session, source, stream, modified_at=mark.modified_at, record_id=mark.record_id)


def deletions_checked(session: Session, source: str, stream: str, at: datetime) -> None:
    """Remember when deletions were last listed, so the next run lists only newer ones."""
    _write(session, source, stream, deletions_checked_at=at)


def _write(session: Session, source: str, stream: str, **values: object) -> None:
    row = {"source": source, "stream": stream, "version": STATE_VERSION, "updated_at": now()}
    row.update(values)
    upsert(session, WatermarkRow, [row], keys=["source", "stream"])


def mark_partial(session: Session, source: str, stream: str) -> None:
    """Say, in the transaction of a page that changed stored data, that the stream is partial.

    Until the pull that stored it completes, what is stored of the stream mixes records read
    now with records from the last complete pull: no number may be computed from it.
    """
    _write(session, source, stream, partial=True)


def completed(session: Session, source: str, stream: str, since: datetime) -> None:
    """Say that a pull started at ``since`` completed: every change before then is stored."""
    _write(session, source, stream, partial=False, complete_at=since)


def states(session: Session) -> list[WatermarkRow]:
    """Every stream's stored state (watermark, completeness)."""
    return list(session.scalars(select(WatermarkRow)))
