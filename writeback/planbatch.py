"""The plan push's writes in full CRM batches, whatever the chunks of plans they are built in.

The plan push builds its records a chunk of plans at a time (memory holds one chunk, not every
plan). Sent chunk by chunk, each part would end every chunk with a short batch: more calls than
the minimum. So the records wait here, one buffer per part, and go out a full batch at a time
(the dialect's ``write_batch``), as the progress push's do (:mod:`writeback.push`); only the
last batch of a part may be short. A record waits, too, while a parent it names (its plan, its
section) is still waiting or in a call not answered yet: Salesforce sets parents inline by
their keys, so a parent is written first, as the unchunked push wrote every part's records
after its parent part's. Batches of one part go several at once (:mod:`writeback.sender`); a
part's last batches wait only for the calls holding their parents.

What the end of the push needs of every record (its plan, its state key, its fingerprint, the
associations it wants) is kept as a small :class:`Mark`, not the record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from writeback.manifest import ObjectEntry
from writeback.payloads import ASSOCIATED
from writeback.planparts import PartRecord, Ref
from writeback.planpusher import Pusher, state_key
from writeback.planwire import Wired


@dataclass(frozen=True)
class Mark:
    """One built record, as the end of the push checks it settled."""

    plan: str
    key: str
    fingerprint: str
    links: tuple[str, ...]


def _parents(wired: Wired) -> list[str]:
    record = wired.record
    if not isinstance(record, PartRecord):
        return []
    return [f"{v.part}:{v.key}" for v in record.values.values() if isinstance(v, Ref) and v.part]


def slim(wired: Wired) -> Wired:
    """What associating a record reads of it (its key, object, links and fingerprint), kept
    after it is sent without the values it was sent with."""
    record = wired.record
    if isinstance(record, PartRecord):
        record = PartRecord(record.part, record.key, record.plan, {}, target_id=record.target_id)
    return Wired(record, wired.object, {}, wired.links, wired.fingerprint)


class Batches:
    """Buffers one destination's plan records per part and sends them in full batches."""

    def __init__(self, pusher: Pusher, parts: Iterable[tuple[str, ObjectEntry]]) -> None:
        self.pusher = pusher
        self.size = max(1, pusher.dialect.write_batch)
        self.parts = list(parts)
        self.buffers: dict[str, list[Wired]] = {part: [] for part, _ in self.parts}
        self.waiting: set[str] = set()
        self.marks: list[Mark] = []
        self.linked: list[Wired] = []
        """Records with associations to make once every record is written (HubSpot)."""

    def offer(self, part: str, records: Iterable[Wired]) -> None:
        """Take one chunk's records of ``part``: those changed wait to be sent."""
        for wired in records:
            key = state_key(wired)
            links = tuple(to for to, _ in wired.links)
            self.marks.append(Mark(wired.record.plan, key, wired.fingerprint, links))
            if links:
                self.linked.append(slim(wired))
            if self.pusher.due(key, wired.fingerprint):
                self.buffers[part].append(wired)
                self.waiting.add(key)

    def flush(self, *, final: bool = False) -> None:
        """Send every full batch whose parents are written (``final``: send everything, each
        part once the calls holding its records' parents were answered)."""
        for part, entry in self.parts:
            buffer = self.buffers[part]
            if final and any(self._waits(w) for w in buffer):
                self.pusher.wait()
            while buffer:
                ready = buffer if final else [w for w in buffer if not self._waits(w)]
                if not final and len(ready) < self.size:
                    break
                batch = ready[: self.size]
                self._send(entry, batch)
                sent = {id(w) for w in batch}
                buffer = [w for w in buffer if id(w) not in sent]
                self.buffers[part] = buffer

    def _waits(self, wired: Wired) -> bool:
        return any(parent in self.waiting for parent in _parents(wired))

    def _send(self, entry: ObjectEntry, batch: list[Wired]) -> None:
        self.pusher.upsert(entry, batch, landed=self._landed)

    def _landed(self, batch: list[Wired]) -> None:
        """A batch's call was answered: its records no longer hold their children back."""
        self.waiting -= {state_key(w) for w in batch}

    def unsettled(self) -> set[str]:
        """The plans with a record not in the CRM as built: rejected, waiting out a backoff,
        or not associated."""
        out: set[str] = set()
        for mark in self.marks:
            state = self.pusher.states.get(mark.key)
            if state is None or state.fingerprint != mark.fingerprint:
                out.add(mark.plan)
                continue
            done = (state.pushed or {}).get(ASSOCIATED) or {}
            if any(to not in done for to in mark.links):
                out.add(mark.plan)
        return out
