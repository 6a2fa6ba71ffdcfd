"""models._allocator: a fit's temporaries are not page-faulted in again at every evaluation."""

import os
import platform
import subprocess
import sys

import pytest

# A fresh process allocates, touches and frees what a chunked likelihood evaluation does (a few
# MiB-sized arrays, 40 MiB in all) 30 times, and prints its minor page faults.
_EVALUATIONS = """
import resource, sys
import numpy as np
from models import _allocator
if sys.argv[1] == "settled":
    _allocator.settle()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):
    temporaries = [np.ones(655_360) for _ in range(8)]  # 8 x 5 MiB
    del temporaries
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


_TUNED = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
@pytest.mark.skipif(
    any(name in os.environ for name in _TUNED), reason="malloc thresholds set by the environment"
)
def test_settled_allocator_keeps_temporaries_mapped():
    def faults(mode: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", _EVALUATIONS, mode], capture_output=True, text=True, check=True
        )
        return int(out.stdout)

    fresh, settled = faults("fresh"), faults("settled")
    # Fresh: every evaluation maps its 8 blocks again, at least one fault each (one per page,
    # or per huge page where the kernel gives those); settled: mapped once, for 30 evaluations.
    assert fresh >= 30 * 8
    assert settled < fresh / 10
