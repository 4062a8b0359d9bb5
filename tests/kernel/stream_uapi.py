"""TM_SUBSCRIBE and the records read() returns (include/uapi/linux/taskmon.h).

ctypes mirrors of struct taskmon_subscribe and struct taskmon_record; the
bounds, flags and request number come from the header itself.
"""
import ctypes
import os
import re

import uapi

_TEXT = uapi.HEADER.read_text()


def _int(name: str) -> int:
    return int(re.search(rf"#define\s+{name}\s+(\d+)", _TEXT)[1])


def _bit(name: str) -> int:
    return 1 << int(re.search(rf"#define\s+{name}\s+\(1U\s*<<\s*(\d+)\)", _TEXT)[1])


PERIOD_MIN_NS = _int("TM_STREAM_PERIOD_MIN_NS")
PERIOD_MAX_NS = _int("TM_STREAM_PERIOD_MAX_NS")
PERIOD_DEFAULT_NS = _int("TM_STREAM_PERIOD_DEFAULT_NS")
PIDS_MAX = _int("TM_STREAM_PIDS_MAX")
RING_DEFAULT = _int("TM_STREAM_RING_DEFAULT")
RING_MAX = _int("TM_STREAM_RING_MAX")
EXIT = _bit("TM_RECORD_EXIT")
REAPED = _bit("TM_RECORD_REAPED")
GAP = _bit("TM_RECORD_GAP")
TM_SUBSCRIBE = uapi.REQUESTS["TM_SUBSCRIBE"]


class Subscribe(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint32), ("count", ctypes.c_uint32),
                ("period_ns", ctypes.c_uint64), ("ring", ctypes.c_uint32),
                ("reserved", ctypes.c_uint32), ("pids", ctypes.c_uint64)]


class Record(ctypes.Structure):
    _fields_ = [("seq", ctypes.c_uint64), ("timestamp_ns", ctypes.c_uint64),
                ("pid", ctypes.c_int32), ("flags", ctypes.c_uint32),
                ("user_ns", ctypes.c_uint64), ("system_ns", ctypes.c_uint64),
                ("lost", ctypes.c_uint64)]

    def __repr__(self) -> str:
        return (f"Record(seq={self.seq}, t={self.timestamp_ns}, pid={self.pid}, "
                f"flags={self.flags:#x}, user={self.user_ns}, sys={self.system_ns}, "
                f"lost={self.lost})")


RECORD_SIZE = ctypes.sizeof(Record)
assert ctypes.sizeof(Subscribe) == 32 and RECORD_SIZE == 48


def subscribe(fd: int, pids, period_ns: int = 0, ring: int = 0, flags: int = 0,
              reserved: int = 0, count=None) -> None:
    """TM_SUBSCRIBE; raises OSError with the kernel's errno."""
    array = (ctypes.c_int32 * max(len(pids), 1))(*pids)
    req = Subscribe(flags=flags, count=len(pids) if count is None else count,
                    period_ns=period_ns, ring=ring, reserved=reserved,
                    pids=ctypes.addressof(array))
    uapi.raw_ioctl(fd, TM_SUBSCRIBE, ctypes.addressof(req))


def parse(data: bytes):
    """The records of one read()'s bytes."""
    assert len(data) % RECORD_SIZE == 0, f"read() returned {len(data)} bytes, not whole records"
    return [Record.from_buffer_copy(data, i) for i in range(0, len(data), RECORD_SIZE)]


def read_records(fd: int, count: int = 64):
    """One read() of up to `count` records."""
    return parse(os.read(fd, count * RECORD_SIZE))
