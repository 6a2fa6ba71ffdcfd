"""Keep glibc's allocator from returning a fit's temporaries to the system on every evaluation.

A likelihood evaluation allocates and frees arrays of up to a few MiB (a chunk of 2^17
patterns, with derivatives). glibc's ``malloc`` serves blocks above its mmap threshold (128 KiB
at process start) with fresh ``mmap`` pages, and trims free memory above twice that threshold
from the top of the heap: until the threshold has grown, each evaluation page-faults its
temporaries in again (measured: the first BG/NBD fit of a process on 657k patterns took 2.96 s
with 812k page faults, the next ones 1.4 s with 8k).

glibc raises the threshold by itself when a block it mapped is freed: to the block's size, if at
most 32 MiB, with the trim threshold at twice that (``mallopt(3)``, "M_MMAP_THRESHOLD").
:func:`settle` frees one 31 MiB block once per process, as any program handling such arrays
would sooner or later; nothing else is changed, and on other C libraries it does nothing. The
size matters: after an 8 or 16 MiB block the same fit still took 800k faults (an evaluation
frees more than twice that at the top of the heap); after 24 or 31 MiB, 6k and 1.2 s. The
price, for the whole process: up to about 62 MiB of freed memory (the trim threshold) stays
with it instead of going back to the system, which the driver-memory figures include.
"""

from __future__ import annotations

import functools
import platform

import numpy as np

#: Size of the block freed once: as large as glibc's dynamic threshold goes (32 MiB, header
#: included), so that an evaluation's temporaries stay in the heap between evaluations.
BLOCK_BYTES = 31 << 20


@functools.cache
def settle() -> None:
    """Free one :data:`BLOCK_BYTES` block (mapped by glibc), so later temporaries stay mapped."""
    if platform.libc_ver()[0] != "glibc":
        return
    block = np.empty(BLOCK_BYTES, dtype=np.uint8)  # mapped, never touched: no page is used
    del block
