"""Where a warning points: the first caller outside this package.

A fixed ``stacklevel`` breaks whenever a call path inside the library gains or loses a frame
(and differs between entry points, e.g. ``fit`` on pandas or on Spark); this walks the stack
instead, so every warning names the line of the user's code that caused it.
"""

from __future__ import annotations

import os
import sys

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def outside_stacklevel() -> int:
    """``stacklevel`` for a :func:`warnings.warn` made by the caller of this function.

    Level 1 is that caller; each enclosing frame whose code lives under ``models/`` adds one,
    so the warning is attributed to the first frame outside the package.
    """
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level
