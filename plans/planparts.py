"""The parts of a plan file beyond its targets: sections, action items, investment lines, target
accounts and attachments, as stored in a plan's definition, and the checks on them.

Each part gets its key here (its own, else a slug of its name or title): CRM records of the part
are keyed ``<plan key>:<section>:<part>``, so keys are checked unique where they must be. An
attached file must exist; its content's SHA-256 is part of the definition, so a changed file is
a changed plan (and is uploaded again). A legacy status name is read with a warning.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from partnerplan.config import Document
from partnerplan.errors import Problem
from plans.planchecks import target_key
from plans.planspec import LEGACY_STATUSES, Attachment, SectionSpec, slug

Loc = tuple[str | int, ...]


def section_data(section: SectionSpec) -> dict[str, Any]:
    """A section as stored: its key, kind, summary, targets' keys and keyed parts."""
    data = section.model_dump(mode="json", exclude={"targets"})
    data["key"] = section.section_key
    data["kind"] = section.section_kind
    data["targets"] = [target_key(t) for t in section.targets]
    data["action_items"] = [
        {**a.model_dump(mode="json"), "key": a.key or slug(a.title), "status": a.state}
        for a in section.action_items
    ]
    data["investments"] = [
        {**line.model_dump(mode="json"), "key": line.key or slug(line.title)}
        for line in section.investments
    ]
    data["target_accounts"] = [
        {**account.model_dump(mode="json"), "key": account.key or slug(account.name)}
        for account in section.target_accounts
    ]
    return data


def attachment_data(attachment: Attachment, root: Path | None) -> dict[str, Any]:
    """An attachment as stored: title, link or path, and the hash of what is uploaded."""
    data = attachment.model_dump(mode="json")
    if attachment.path is not None and root is not None:
        path = root / attachment.path
        content = path.read_bytes() if path.is_file() else b""
        data["sha256"] = hashlib.sha256(content).hexdigest()
        data["size"] = len(content)
    else:
        data["sha256"] = hashlib.sha256(str(attachment.url).encode()).hexdigest()
    data["key"] = slug(attachment.title)
    return data


def check_parts(doc: Document, loc: Loc, spec: Any, root: Path | None) -> list[Problem]:
    """Unique keys of sections and of their parts; attached files that exist."""
    problems: list[Problem] = []
    sections: set[str] = set()
    for s_index, section in enumerate(spec.sections):
        here = (*loc, "sections", s_index)
        if section.section_key in sections:
            problems.append(
                doc.problem(
                    here,
                    f"section key {section.section_key!r} is used twice in this plan; give one "
                    "of the sections its own `key:` (or a different name)",
                )
            )
        sections.add(section.section_key)
        for part, items, name in (
            ("action_items", section.action_items, "title"),
            ("investments", section.investments, "title"),
            ("target_accounts", section.target_accounts, "name"),
        ):
            seen: set[str] = set()
            for index, item in enumerate(items):
                key = item.key or slug(getattr(item, name))
                if key in seen:
                    problems.append(
                        doc.problem(
                            (*here, part, index),
                            f"{part.replace('_', ' ')} key {key!r} is used twice in section "
                            f"{section.name!r}; give one a `key:`",
                        )
                    )
                seen.add(key)
    titles: set[str] = set()
    for index, attachment in enumerate(spec.attachments):
        where = (*loc, "attachments", index)
        if slug(attachment.title) in titles:
            problems.append(doc.problem(where, f"two attachments are titled {attachment.title!r}"))
        titles.add(slug(attachment.title))
        if (
            attachment.path is not None
            and root is not None
            and not (root / attachment.path).is_file()
        ):
            problems.append(
                doc.problem(
                    (*where, "path"),
                    f"no file {attachment.path!r} (paths are relative to {root})",
                )
            )
    return problems


def declared_status(doc: Document, loc: Loc, status: str) -> tuple[str, list[Problem]]:
    """The declared status, a legacy name read as its successor with a warning."""
    if status not in LEGACY_STATUSES:
        return status, []
    new = LEGACY_STATUSES[status]
    return new, [
        doc.problem(
            (*loc, "status"),
            f"status {status!r} is now called {new!r}; write status: {new}",
            severity="warning",
        )
    ]
