"""TM_SUBSCRIBE and the records read() returns (include/uapi/linux/taskmon.h).

ctypes mirrors of struct taskmon_subscribe and struct taskmon_record; the
bounds, flags, TM_RECORD_SIZE_VER0 and the request number come from the
header itself.  Records are read at the size the subscription agreed on
(@record_size: TM_RECORD_SIZE_VER0 unless a test asks for another).
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
RECORD_SIZE_VER0 = _int("TM_RECORD_SIZE_VER0")
EXIT = _bit("TM_RECORD_EXIT")
REAPED = _bit("TM_RECORD_REAPED")
GAP = _bit("TM_RECORD_GAP")
TM_SUBSCRIBE = uapi.REQUESTS["TM_SUBSCRIBE"]


class Subscribe(ctypes.Structure):
    _fields_ = [("flags", ctypes.c_uint32), ("count", ctypes.c_uint32),
                ("period_ns", ctypes.c_uint64), ("ring", ctypes.c_uint32),
                ("record_size", ctypes.c_uint32), ("pids", ctypes.c_uint64)]


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
assert ctypes.sizeof(Subscribe) == 32 and RECORD_SIZE == RECORD_SIZE_VER0 == 48


def subscribe(fd: int, pids, period_ns: int = 0, ring: int = 0, flags: int = 0,
              record_size: int = 0, count=None) -> Subscribe:
    """TM_SUBSCRIBE; raises OSError with the kernel's errno.  Returns the
    request as the module left it (its @record_size written back)."""
    array = (ctypes.c_int32 * max(len(pids), 1))(*pids)
    req = Subscribe(flags=flags, count=len(pids) if count is None else count,
                    period_ns=period_ns, ring=ring, record_size=record_size,
                    pids=ctypes.addressof(array))
    uapi.raw_ioctl(fd, TM_SUBSCRIBE, ctypes.addressof(req))
    return req


def parse(data: bytes, record_size: int = RECORD_SIZE):
    """The records of one read()'s bytes, each `record_size` bytes long."""
    assert len(data) % record_size == 0, f"read() returned {len(data)} bytes, not whole records"
    return [Record.from_buffer_copy(data, i) for i in range(0, len(data), record_size)]


def read_records(fd: int, count: int = 64, record_size: int = RECORD_SIZE):
    """One read() of up to `count` records of `record_size` bytes."""
    return parse(os.read(fd, count * record_size), record_size)
