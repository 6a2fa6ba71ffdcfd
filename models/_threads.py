"""How many threads the library's compiled kernels may use, per execution context.

By default a kernel that splits its work (:func:`models._bgnbd_mean.expected_new`) uses the
machine's cores. Where the caller already runs one task per core, as Spark executors do, more
threads per task only oversubscribe the cores: :func:`limited` lowers the limit for the code
it wraps. The limit is a context variable, so it holds for the current thread (or task) only
and never changes global state.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator

#: Most threads a kernel uses, whatever the machine.
MAX_THREADS = 8

_LIMIT: contextvars.ContextVar[int | None] = contextvars.ContextVar("clv_threads", default=None)


def available() -> int:
    """Threads a kernel may use in the current context.

    The least of the cores this process may run on, the context's limit (:func:`limited`)
    and :data:`MAX_THREADS`.
    """
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
    else:  # pragma: no cover - platforms without CPU affinity
        cores = os.cpu_count() or 1
    limit = _LIMIT.get()
    return max(1, min(cores, MAX_THREADS, limit if limit is not None else MAX_THREADS))


@contextlib.contextmanager
def limited(threads: int) -> Iterator[None]:
    """Run the enclosed code with at most ``threads`` threads per kernel."""
    token = _LIMIT.set(max(1, int(threads)))
    try:
        yield
    finally:
        _LIMIT.reset(token)
