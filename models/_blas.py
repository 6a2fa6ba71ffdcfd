"""scipy's bundled OpenBLAS held to one thread around small linear algebra.

L-BFGS-B's linear algebra is on matrices of a few rows, where waking a second BLAS thread costs
far more than the work (:mod:`models._mle` runs the optimiser inside :func:`one_blas_thread`).
The thread count is set for the calling thread only and restored after, through OpenBLAS's own
``openblas_set_num_threads_local`` of the library scipy has already loaded (nothing is loaded
or scanned; 0.3 ms once per process).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import glob
import os
from collections.abc import Callable, Iterator

import scipy


@functools.cache
def openblas_thread_setter() -> Callable[[int], int] | None:
    """``openblas_set_num_threads_local`` of the OpenBLAS bundled with scipy, if loaded.

    The function (OpenBLAS >= 0.3.27) sets the number of threads of the calling thread only
    and returns the previous number. ``None`` where scipy uses another BLAS, an older OpenBLAS
    or one not bundled in the wheel (nothing is changed then).
    """
    no_load = getattr(os, "RTLD_NOLOAD", None)
    if no_load is None:
        return None
    root = os.path.dirname(scipy.__file__)
    patterns = [os.path.join(root, os.pardir, "scipy.libs", "libscipy_openblas*")]
    patterns.append(os.path.join(root, ".dylibs", "libscipy_openblas*"))
    for path in (p for pattern in patterns for p in sorted(glob.glob(pattern))):
        try:
            library = ctypes.CDLL(path, mode=no_load | os.RTLD_LAZY)  # already loaded: no load
            setter = library.openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        setter.argtypes, setter.restype = [ctypes.c_int], ctypes.c_int
        return setter
    return None


@contextlib.contextmanager
def one_blas_thread() -> Iterator[None]:
    """Hold scipy's OpenBLAS to one thread (this thread only) inside the block."""
    setter = openblas_thread_setter()
    if setter is None:
        yield
        return
    previous = setter(1)
    try:
        yield
    finally:
        setter(previous)
