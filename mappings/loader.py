"""Loading ``config/mappings/*.yaml``: validate, check against the CRM schema, compile once.

:func:`load_mappings` never raises for a problem in the files: it returns every problem it
found, each located at FILE:LINE, so ``partnerplan validate`` reports them all in one pass. The
result, a :class:`MappingSet`, holds the compiled streams the worker maps records with.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from connectors.crms import REGISTRY
from connectors.dialect import Dialect
from mappings.compiled import CompiledStream
from mappings.compiler import compile_stream
from mappings.kinds import KINDS
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

    def ordered(self, source: str | None = None) -> list[str]:
        """Stream names (of ``source``, or all), partner streams first.

        Partners first: an activity stored before its partner waits unlinked until the partner
        arrives, so syncing partners first links most activities as they are stored.
        """
        chosen = [s for s in self.streams.values() if source is None or s.source == source]
        return [s.name for s in sorted(chosen, key=lambda s: (s.kind != "partner", s.name))]


def _dialect(
    doc: Document, model: MappingFile, sources: Mapping[str, str] | None
) -> Dialect | None:
    """The dialect of the CRM the file reads from: settings.yaml says which kind its source is.

    Without settings (a lone mappings directory), ``type:`` says it, or a source named after a
    kind (``source: salesforce``) is taken as that kind.
    """
    configured = sources.get(model.source) if sources is not None else None
    if configured is not None and model.type is not None and model.type != configured:
        doc.problems.append(
            doc.problem(
                ("type",),
                f"source {model.source!r} is a {configured} source in settings.yaml, but this "
                f"file says `type: {model.type}`; remove `type:` or fix it",
            )
        )
        return None
    kind = configured or model.type
    if kind is None and model.source in REGISTRY.kinds():
        kind = model.source
    if kind is None:
        doc.problems.append(
            doc.problem(
                ("source",),
                f"cannot tell what kind of CRM {model.source!r} is; add `type:` "
                f"({' or '.join(REGISTRY.kinds())})",
            )
        )
        return None
    if kind not in REGISTRY.kinds():
        where = ("type",) if model.type is not None else ("source",)
        hint = difflib.get_close_matches(kind, REGISTRY.kinds(), n=1)
        suggestion = f"did you mean {hint[0]!r}? " if hint else ""
        doc.problems.append(
            doc.problem(
                where,
                f"unknown CRM kind {kind!r}; {suggestion}known kinds: "
                f"{', '.join(REGISTRY.kinds())}",
            )
        )
        return None
    return REGISTRY.dialect(kind)


def _check_source(doc: Document, model: MappingFile, sources: Mapping[str, str] | None) -> None:
    if sources is None or model.source in sources:
        return
    known_sources = sorted(sources)
    hint = difflib.get_close_matches(model.source, known_sources, n=1)
    suggestion = f"did you mean {hint[0]!r}? " if hint else ""
    doc.problems.append(
        doc.problem(
            ("source",),
            f"source {model.source!r} is not defined under `sources:` in settings.yaml; "
            f"{suggestion}defined: {', '.join(known_sources) or 'none'}",
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
    sources: Mapping[str, str] | None,
    result: MappingSet,
    origins: dict[str, str],
) -> list[Problem]:
    doc = parse(path)
    model = validate(doc, MappingFile)
    if model is None:
        return doc.problems
    _check_source(doc, model, sources)
    dialect = _dialect(doc, model, sources)
    _kinds(doc, model, result.kinds)
    if dialect is None:
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
        checker = PathChecker(dialect, stream.object, tuple(stream.extra_fields))
        compiled = compile_stream(doc, loc, model.source, stream, checker, result.kinds)
        if compiled is not None:
            result.streams[stream.name] = compiled
    return doc.problems


def load_mappings(
    directory: Path, sources: Mapping[str, str] | None = None
) -> tuple[MappingSet | None, list[Problem]]:
    """Load every mapping file of ``directory``; the set is None if any problem is an error.

    Args:
        directory: ``config/mappings``; a missing directory means no mappings.
        sources: Each source of settings.yaml and its CRM kind; None (settings did not load)
            skips that cross-check.

    Returns:
        The compiled mappings (None when there are errors) and every problem found, warnings
        included, each located at FILE:LINE.
    """
    result = MappingSet()
    origins: dict[str, str] = {}
    problems: list[Problem] = []
    for path in yaml_files(directory):
        for problem in _load_file(path, sources, result, origins):
            # A whole-file problem (size, unreadable) still gets a line an editor can open.
            problems.append(problem if problem.line else _at_line_1(problem))
    if any(p.severity == "error" for p in problems):
        return None, problems
    return result, problems


def _at_line_1(problem: Problem) -> Problem:
    return Problem(problem.file, 1, problem.message, problem.key, problem.severity)
