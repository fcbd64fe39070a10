"""Loading ``config/mappings/*.yaml``: validate, check against the CRM schema, compile once.

:func:`load_mappings` never raises for a problem in the files: it returns every problem it
found, each located at FILE:LINE, so ``partnerplan validate`` reports them all in one pass. The
result, a :class:`MappingSet`, holds the compiled streams the worker maps records with.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from mappings.catalog import KINDS
from mappings.compiled import CompiledStream
from mappings.compiler import compile_stream
from mappings.paths import PathChecker
from mappings.schema import MappingFile
from partnerplan.config import Document, parse, validate, yaml_files
from partnerplan.errors import ConfigurationError, Problem


@dataclass
class MappingSet:
    """Every compiled stream by name (names are unique across files) and the known kinds."""

    streams: dict[str, CompiledStream] = field(default_factory=dict)
    kinds: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(KINDS))

    def stream(self, name: str) -> CompiledStream:
        """The stream called ``name``, or a configuration error suggesting the closest name."""
        if name in self.streams:
            return self.streams[name]
        hint = difflib.get_close_matches(name, list(self.streams), n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        known = ", ".join(sorted(self.streams)) or "none"
        raise ConfigurationError(f"no stream named {name!r}; {suggestion}streams: {known}")

    def for_source(self, source: str) -> list[CompiledStream]:
        """The streams that read from ``source``, in file order."""
        return [s for s in self.streams.values() if s.source == source]


def _source_type(doc: Document, model: MappingFile) -> str | None:
    if model.type is not None:
        return model.type
    if model.source in ("salesforce", "hubspot"):
        return model.source
    doc.problems.append(
        doc.problem(
            ("source",),
            f"cannot tell what kind of CRM {model.source!r} is; add `type: salesforce` "
            "or `type: hubspot`",
        )
    )
    return None


def _check_source(doc: Document, model: MappingFile, known_sources: set[str] | None) -> None:
    if known_sources is None or model.source in known_sources:
        return
    hint = difflib.get_close_matches(model.source, sorted(known_sources), n=1)
    suggestion = f"did you mean {hint[0]!r}? " if hint else ""
    doc.problems.append(
        doc.problem(
            ("source",),
            f"source {model.source!r} is not defined under `sources:` in settings.yaml; "
            f"{suggestion}defined: {', '.join(sorted(known_sources)) or 'none'}",
        )
    )


def _kinds(doc: Document, model: MappingFile, kinds: dict[str, tuple[str, ...]]) -> None:
    for name, declared in model.kinds.items():
        if name in KINDS:
            doc.problems.append(
                doc.problem(("kinds", name), f"kind {name!r} is built in; choose another name")
            )
        else:
            kinds[name] = tuple(declared.statuses)


def _load_file(
    path: Path,
    known_sources: set[str] | None,
    result: MappingSet,
    origins: dict[str, str],
) -> list[Problem]:
    doc = parse(path)
    model = validate(doc, MappingFile)
    if model is None:
        return doc.problems
    _check_source(doc, model, known_sources)
    source_type = _source_type(doc, model)
    _kinds(doc, model, result.kinds)
    if source_type is None:
        return doc.problems
    for index, stream in enumerate(model.streams):
        loc = ("streams", index)
        if stream.name in origins:
            doc.problems.append(
                doc.problem(
                    (*loc, "name"),
                    f"stream name {stream.name!r} is already used at {origins[stream.name]}; "
                    "stream names must be unique across all mapping files: rename one",
                )
            )
            continue
        origins[stream.name] = f"{path}:{doc.line_of((*loc, 'name'))}"
        checker = PathChecker(source_type, stream.object, tuple(stream.extra_fields))
        compiled = compile_stream(doc, loc, model.source, source_type, stream, checker, result)
        if compiled is not None:
            result.streams[stream.name] = compiled
    return doc.problems


def load_mappings(
    directory: Path, known_sources: set[str] | None = None
) -> tuple[MappingSet | None, list[Problem]]:
    """Load every mapping file of ``directory``; the set is None if any problem is an error.

    Args:
        directory: ``config/mappings``; a missing directory means no mappings.
        known_sources: Source names from settings.yaml; None skips that cross-check.

    Returns:
        The compiled mappings (None when there are errors) and every problem found, warnings
        included, each located at FILE:LINE.
    """
    result = MappingSet()
    origins: dict[str, str] = {}
    problems: list[Problem] = []
    for path in yaml_files(directory):
        for problem in _load_file(path, known_sources, result, origins):
            # A whole-file problem (size, unreadable) still gets a line an editor can open.
            problems.append(problem if problem.line else _at_line_1(problem))
    if any(p.severity == "error" for p in problems):
        return None, problems
    return result, problems


def _at_line_1(problem: Problem) -> Problem:
    return Problem(problem.file, 1, problem.message, problem.key, problem.severity)
