"""TM_SUBSCRIBE_EXITS and the exit records read() returns
(include/uapi/linux/taskmon.h).

ctypes mirrors of struct taskmon_exits_subscribe and struct taskmon_exit;
the bounds, TM_EXIT_SIZE_VER0 and the request number come from the header.
"""
import ctypes
import os
import re

import uapi

_TEXT = uapi.HEADER.read_text()


def _int(name: str) -> int:
    return int(re.search(rf"#define\s+{name}\s+(\d+)", _TEXT)[1])


RING_DEFAULT = _int("TM_EXITS_RING_DEFAULT")
RING_MAX = _int("TM_EXITS_RING_MAX")
EXIT_SIZE_VER0 = _int("TM_EXIT_SIZE_VER0")
TM_SUBSCRIBE_EXITS = uapi.REQUESTS["TM_SUBSCRIBE_EXITS"]


class ExitsSubscribe(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint32), ("ring", ctypes.c_uint32),
                ("record_size", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]


class Exit(ctypes.Structure):
    _fields_ = [("seq", ctypes.c_uint64), ("lost", ctypes.c_uint64),
                ("pid", ctypes.c_int32), ("ppid", ctypes.c_int32),
                ("uid", ctypes.c_uint32), ("status", ctypes.c_int32),
                ("start_time_ns", ctypes.c_uint64), ("exit_time_ns", ctypes.c_uint64),
                ("user_ns", ctypes.c_uint64), ("system_ns", ctypes.c_uint64),
                ("children_user_ns", ctypes.c_uint64),
                ("children_system_ns", ctypes.c_uint64),
                ("max_rss_bytes", ctypes.c_uint64),
                ("minor_faults", ctypes.c_uint64), ("major_faults", ctypes.c_uint64),
                ("voluntary_ctxsw", ctypes.c_uint64),
                ("involuntary_ctxsw", ctypes.c_uint64),
                ("comm", ctypes.c_char * 16)]

    def __repr__(self) -> str:
        return (f"Exit(seq={self.seq}, lost={self.lost}, pid={self.pid}, ppid={self.ppid}, "
                f"uid={self.uid}, status={self.status:#x}, comm={self.comm!r}, "
                f"user={self.user_ns}, sys={self.system_ns})")


EXIT_SIZE = ctypes.sizeof(Exit)
assert ctypes.sizeof(ExitsSubscribe) == 16 and EXIT_SIZE == EXIT_SIZE_VER0 == 136


def subscribe(fd: int, ring: int = 0, record_size: int = 0, flags: int = 0,
              reserved: int = 0) -> ExitsSubscribe:
    """TM_SUBSCRIBE_EXITS; raises OSError with the kernel's errno.  Returns
    the request as the module left it (its @record_size written back)."""
    req = ExitsSubscribe(flags=flags, ring=ring, record_size=record_size,
                         reserved=reserved)
    uapi.raw_ioctl(fd, TM_SUBSCRIBE_EXITS, ctypes.addressof(req))
    return req


def parse(data: bytes, record_size: int = EXIT_SIZE):
    assert len(data) % record_size == 0, f"read() returned {len(data)} bytes, not whole records"
    return [Exit.from_buffer_copy(data, i) for i in range(0, len(data), record_size)]


def read_exits(fd: int, count: int = 256, record_size: int = EXIT_SIZE):
    """One read() of up to `count` records of `record_size` bytes."""
    return parse(os.read(fd, count * record_size), record_size)


def drain(fd: int, record_size: int = EXIT_SIZE):
    """Every record queued now, without blocking (the file is O_NONBLOCK)."""
    out = []
    while True:
        try:
            got = read_exits(fd, 256, record_size)
        except BlockingIOError:
            return out
        out += got
