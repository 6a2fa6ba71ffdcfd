"""models._threads: the per-context limit on the threads of the compiled kernels."""

import os
import threading

from models import _bgnbd_mean, _threads


def test_the_limit_holds_inside_its_context_only():
    cores = len(os.sched_getaffinity(0))
    default = _threads.available()
    assert default == min(cores, _threads.MAX_THREADS)
    with _threads.limited(1):
        assert _threads.available() == 1
        assert _bgnbd_mean._thread_parts(10**7) == (1, [slice(0, 10**7)])
        seen = []
        other = threading.Thread(target=lambda: seen.append(_threads.available()))
        other.start()
        other.join()
        assert seen == [default]  # another thread keeps the default
        with _threads.limited(64):
            assert _threads.available() == default  # never above the cores
    assert _threads.available() == default
