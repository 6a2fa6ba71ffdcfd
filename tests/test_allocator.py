"""models._allocator: a fit's temporaries are not page-faulted in again at every evaluation."""

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


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_settled_allocator_keeps_temporaries_mapped():
    def faults(mode: str) -> int:
        out = subprocess.run(
            [sys.executable, "-c", _EVALUATIONS, mode], capture_output=True, text=True, check=True
        )
        return int(out.stdout)

    fresh, settled = faults("fresh"), faults("settled")
    # Fresh: every evaluation maps its 40 MiB again (~10k pages each time); settled: once.
    assert fresh > 50_000
    assert settled < fresh / 10
