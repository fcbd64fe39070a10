"""The process set-up every worker and CLI run gets: the C heap's arena cap."""

from __future__ import annotations

from typing import Any

from worker.runtime import MALLOC_ARENAS, limit_malloc_arenas


class FakeGlibc:
    """Records ``mallopt`` calls, as glibc would take them."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, param: int, value: int) -> int:
        """glibc returns 1 on success."""
        self.calls.append((param, value))
        return 1

    def gnu_get_libc_version(self) -> bytes:
        """Present only in glibc."""
        return b"2.36"


class FakeMusl:
    """A C library without glibc's allocator knobs."""


def test_caps_glibc_arenas() -> None:
    """On glibc the process keeps at most MALLOC_ARENAS arenas (mallopt M_ARENA_MAX = -8)."""
    libc = FakeGlibc()
    assert limit_malloc_arenas(libc, {}) is True
    assert libc.calls == [(-8, MALLOC_ARENAS)]


def test_operator_setting_wins() -> None:
    """An operator's MALLOC_ARENA_MAX is left as they set it: no mallopt call."""
    libc = FakeGlibc()
    assert limit_malloc_arenas(libc, {"MALLOC_ARENA_MAX": "4"}) is False
    assert libc.calls == []


def test_other_c_libraries_are_left_alone() -> None:
    """A C library that is not glibc (musl, macOS) gets no call."""
    libc: Any = FakeMusl()
    assert limit_malloc_arenas(libc, {}) is False


def test_real_process() -> None:
    """In this process the call does not fail, whatever the C library."""
    assert limit_malloc_arenas(environ={"MALLOC_ARENA_MAX": ""}) in (True, False)
