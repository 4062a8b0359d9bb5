"""TM_STATS and TM_STATS_BATCH of include/uapi/linux/taskmon.h, for the tests.

A ctypes mirror of struct taskmon_stats and struct taskmon_stats_batch; the
constants (mask bits, flags, sizes, the bound) and the request numbers are
read from the header itself, and the mirror's layout is checked against
TM_STATS_SIZE_VER0 at import.  Calls go through raw ioctl(2) on buffers
this module allocates, so a test can give any size, request mask, tail
(bytes past the struct, which the module must clear), guard bytes (past
@size, which it must not touch) or pointer.
"""
import ctypes
import re
import time

import uapi

_TEXT = uapi.HEADER.read_text()


def _bits():
    """Every `#define NAME (1U << N)` / `(1ULL << N)` of the header."""
    return {m[1]: 1 << int(m[2]) for m in
            re.finditer(r"#define\s+(TM_\w+)\s+\(1U?L?L?\s*<<\s*(\d+)\)", _TEXT)}


BITS = _bits()
TM_STATS_THREAD = BITS["TM_STATS_THREAD"]
MASK_NAMES = ("TM_STATS_IDS", "TM_STATS_PPID", "TM_STATS_STATE", "TM_STATS_THREADS",
              "TM_STATS_COMM", "TM_STATS_CREDS", "TM_STATS_CPU", "TM_STATS_FAULTS",
              "TM_STATS_CTXSW", "TM_STATS_RSS", "TM_STATS_VSIZE", "TM_STATS_START_TIME",
              "TM_STATS_SAMPLE_TIME")
MASK_ALL = sum(BITS[name] for name in MASK_NAMES)
# TM_STATS_ALL is ((1ULL << 13) - 1): every group of the header.
assert MASK_ALL == (1 << 13) - 1 and "TM_STATS_ALL" in _TEXT
RESERVED = BITS["TM_STATS__RESERVED"]
MEMORY_BITS = BITS["TM_STATS_RSS"] | BITS["TM_STATS_VSIZE"]
# The groups one walk over the threads fills (all three, if any is asked).
WALK_BITS = BITS["TM_STATS_CPU"] | BITS["TM_STATS_FAULTS"] | BITS["TM_STATS_CTXSW"]
# The groups filled whatever the mask asks (docs/abi.md: they cost nothing).
CHEAP_BITS = MASK_ALL & ~WALK_BITS & ~BITS["TM_STATS_RSS"]
GUARD = 0xFF
SIZE_VER0 = uapi.CONSTANTS["TM_STATS_SIZE_VER0"]
BATCH_MAX = uapi.CONSTANTS["TM_STATS_BATCH_MAX"]
COMM_LEN = uapi.CONSTANTS["TM_COMM_LEN"]


class Stats(ctypes.Structure):
    _fields_ = [
        ("size", ctypes.c_uint32), ("flags", ctypes.c_uint32),
        ("pid", ctypes.c_int32), ("error", ctypes.c_int32),
        ("mask", ctypes.c_uint64),
        ("tgid", ctypes.c_int32), ("ppid", ctypes.c_int32),
        ("state", ctypes.c_uint32), ("threads", ctypes.c_uint32),
        ("uid", ctypes.c_uint32), ("euid", ctypes.c_uint32),
        ("gid", ctypes.c_uint32), ("egid", ctypes.c_uint32),
        ("comm", ctypes.c_char * COMM_LEN),
        ("user_ns", ctypes.c_uint64), ("system_ns", ctypes.c_uint64),
        ("minor_faults", ctypes.c_uint64), ("major_faults", ctypes.c_uint64),
        ("voluntary_ctxsw", ctypes.c_uint64), ("involuntary_ctxsw", ctypes.c_uint64),
        ("rss_anon_bytes", ctypes.c_uint64), ("rss_file_bytes", ctypes.c_uint64),
        ("rss_shmem_bytes", ctypes.c_uint64), ("vsize_bytes", ctypes.c_uint64),
        ("start_time_ns", ctypes.c_uint64), ("sample_time_ns", ctypes.c_uint64),
    ]

    def has(self, name: str) -> bool:
        return bool(self.mask & BITS[name])

    @property
    def state_char(self) -> str:
        return chr(self.state)

    @property
    def cpu_ns(self) -> int:
        return self.user_ns + self.system_ns


class Batch(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("count", ctypes.c_uint32), ("reserved", ctypes.c_uint32),
                ("records", ctypes.c_uint64)]


assert ctypes.sizeof(Stats) == SIZE_VER0, "the mirror does not match TM_STATS_SIZE_VER0"
assert ctypes.sizeof(Batch) == 24

TM_STATS = uapi.REQUESTS["TM_STATS"]
TM_STATS_BATCH = uapi.REQUESTS["TM_STATS_BATCH"]


def stats(fd: int, pid: int, flags: int = 0, size: int = SIZE_VER0,
          tail: bytes = b"", mask: int = 0) -> Stats:
    """TM_STATS for pid asking for the groups of `mask` (0: all); `size`
    bytes given, the part past the struct filled with `tail` (zeros by
    default).  Raises OSError."""
    buf = make_record(pid, flags, size, tail, mask)
    uapi.raw_ioctl(fd, TM_STATS, ctypes.addressof(buf))
    return Stats.from_buffer_copy(buf[:SIZE_VER0])


def make_record(pid: int, flags: int = 0, size: int = SIZE_VER0, tail: bytes = b"",
                mask: int = 0, guard: int = 0):
    """A record of `size` bytes (at least the struct), then `guard` bytes of
    GUARD that no call may write."""
    length = max(size, SIZE_VER0)
    buf = (ctypes.c_char * (length + guard))()
    rec = Stats.from_buffer(buf)
    rec.size, rec.flags, rec.pid, rec.mask = size, flags, pid, mask
    del rec
    if size > SIZE_VER0 and tail:
        ctypes.memmove(ctypes.addressof(buf) + SIZE_VER0, tail, min(len(tail), size - SIZE_VER0))
    if guard:
        ctypes.memset(ctypes.addressof(buf) + length, GUARD, guard)
    return buf


def batch(fd: int, pids, flags: int = 0, size: int = SIZE_VER0, tails=None,
          count=None, reserved: int = 0, records_address=None, masks=None,
          guard: int = SIZE_VER0):
    """TM_STATS_BATCH for pids; returns (records, raw buffer).

    `count` overrides the count given (default len(pids)); `tails` gives
    each record's bytes past the struct when size > SIZE_VER0; `masks`
    each record's request mask (default 0: every group).  After the last
    record, `guard` bytes of GUARD, which the call must leave alone
    (guard_intact())."""
    n = len(pids)
    buf = (ctypes.c_char * (max(n, 1) * size + guard))()
    ctypes.memset(ctypes.addressof(buf) + n * size, GUARD, len(buf) - n * size)
    for i, pid in enumerate(pids):
        rec = Stats.from_buffer(buf, i * size)
        rec.size, rec.flags, rec.pid = size, flags, pid
        rec.mask = masks[i] if masks else 0
        del rec
        if tails and tails[i] and size > SIZE_VER0:
            ctypes.memmove(ctypes.addressof(buf) + i * size + SIZE_VER0, tails[i],
                           min(len(tails[i]), size - SIZE_VER0))
    arg = Batch(size=size, flags=flags, count=n if count is None else count,
                reserved=reserved,
                records=ctypes.addressof(buf) if records_address is None else records_address)
    uapi.raw_ioctl(fd, TM_STATS_BATCH, ctypes.addressof(arg))
    return [Stats.from_buffer_copy(buf, i * size) for i in range(n)], buf


def guard_intact(buf, start: int) -> bool:
    """Every byte of buf from start on is still GUARD."""
    return bytes(buf[start:]) == bytes([GUARD]) * (len(buf) - start)


def boottime_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_BOOTTIME)


def errno_of(call, *args, **kwargs) -> int:
    """The errno the call fails with (fails the test if it succeeds)."""
    try:
        call(*args, **kwargs)
    except OSError as e:
        return e.errno
    raise AssertionError(f"{call.__name__}{args} succeeded")
