"""Raw access to /dev/taskmonitor and /sys/kernel/taskmonitor for the tests."""
import fcntl
import os
import pathlib
import re
import struct

import uapi

DEV = pathlib.Path("/dev/taskmonitor")
SYSFS = pathlib.Path("/sys/kernel/taskmonitor")
LINE = re.compile(r"^pid (\d+) usr (\d+) sys (\d+)\n$")


def open_dev(flags: int = 0) -> int:
    """A read-only file of the device (a subscription's own), O_CLOEXEC."""
    return os.open(DEV, os.O_RDONLY | os.O_CLOEXEC | flags)


def errno_of(fn, *args, **kwargs) -> int:
    """The errno fn(*args, **kwargs) fails with, 0 if it succeeds."""
    try:
        fn(*args, **kwargs)
    except OSError as e:
        return e.errno
    return 0


def parse_line(line: str):
    """(pid, utime, stime) of a "pid N usr U sys S" line; fails otherwise."""
    m = LINE.match(line)
    assert m, f"not a sample line: {line!r}"
    return tuple(int(g) for g in m.groups())


class Device:
    """An open /dev/taskmonitor; every method is one ioctl."""

    def __init__(self, path=DEV):
        self.fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)

    def close(self):
        os.close(self.fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get(self):
        sample = uapi.TaskSample()
        fcntl.ioctl(self.fd, uapi.TM_GET, sample)
        return sample.utime, sample.stime

    def get_text(self) -> str:
        buf = bytearray(uapi.TM_TEXT_LEN)
        fcntl.ioctl(self.fd, uapi.TM_GET_TEXT, buf)
        return buf.split(b"\0", 1)[0].decode()

    def start(self):
        fcntl.ioctl(self.fd, uapi.TM_START)

    def stop(self):
        fcntl.ioctl(self.fd, uapi.TM_STOP)

    def pid(self, nr: int) -> int:
        buf = bytearray(struct.pack("i", nr))
        fcntl.ioctl(self.fd, uapi.TM_PID, buf)
        return struct.unpack("i", buf)[0]


def sysfs_read() -> str:
    return SYSFS.read_text()


def sysfs_write(data: bytes) -> None:
    fd = os.open(SYSFS, os.O_WRONLY)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
