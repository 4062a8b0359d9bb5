# SPDX-License-Identifier: GPL-2.0-only
"""A sleeping child process: the target the single-call benchmarks read."""

from __future__ import annotations

import contextlib
import os
import signal
from typing import Iterator


@contextlib.contextmanager
def sleeper() -> Iterator[int]:
    """Forks a child that sleeps until killed; yields its pid, then kills and reaps it."""
    pid = os.fork()
    if pid == 0:  # the child: nothing of the parent's Python runs here but pause()
        try:
            while True:
                signal.pause()
        finally:
            os._exit(0)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
