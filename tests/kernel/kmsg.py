"""Reading the kernel log from a point on, through /dev/kmsg."""
import os
import re
import time


class Kmsg:
    """The kernel log lines written since this object was made."""

    def __init__(self):
        self._fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        os.lseek(self._fd, 0, os.SEEK_END)
        self._lines = []
        self._usecs = []  # each line's kernel timestamp (microseconds since boot)
        self.lost = 0  # records overwritten before they were read

    def close(self):
        os.close(self._fd)

    def lines(self):
        """Every message since creation, without the kmsg record prefix.

        Call it often while the kernel logs a lot: the ring buffer keeps
        only so much, and records overwritten before being read are lost.
        """
        while True:
            try:
                record = os.read(self._fd, 8192)
            except BlockingIOError:
                break
            except BrokenPipeError:  # overwritten before read: skip ahead
                self.lost += 1
                continue
            prefix, text = record.decode(errors="replace").split(";", 1)
            self._lines.append(text.split("\n", 1)[0])
            self._usecs.append(int(prefix.split(",")[2]))
        return list(self._lines)

    def timed(self, pattern):
        """(timestamp in seconds since boot, line) of each line matching pattern."""
        lines = self.lines()
        return [(usec / 1e6, line) for usec, line in zip(self._usecs, lines)
                if re.search(pattern, line)]

    def matching(self, pattern):
        return [line for line in self.lines() if re.search(pattern, line)]

    def wait_for(self, pattern, timeout=10.0):
        """Wait until a line matches pattern; return the matches so far."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.matching(pattern)
            if found:
                return found
            time.sleep(0.1)
        raise AssertionError(f"no kernel log line matching {pattern!r} within {timeout} s; "
                             f"log since start: {self.lines()[-20:]}")
