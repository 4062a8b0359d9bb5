"""TM_LIST of include/uapi/linux/taskmon.h, for the tests.

A ctypes mirror of struct taskmon_list and struct taskmon_proc; the
constants and the request number are read from the header itself, and the
mirror is checked against TM_LIST_SIZE_VER0 and TM_PROC_SIZE_VER0 at
import.  Calls go through raw ioctl(2) on buffers this module allocates, so
a test can give any size, tail (bytes past the struct, which the module
must clear), entry size, guard bytes (past @size and past the entries,
which it must not touch) or pointer.  Self-contained (it
parses the header itself), so that the pid-namespace test can run it as a
script in a child namespace: `python3 list_uapi.py` prints "pid start_ns"
lines of the caller's namespace.
"""
import ctypes
import os
import pathlib
import re
import sys

HEADER = pathlib.Path(__file__).resolve().parents[2] / "include/uapi/linux/taskmon.h"
_TEXT = HEADER.read_text()


def _define(name: str) -> int:
    m = re.search(rf"#define\s+{name}\s+\(?([^/\n]+?)\)?\s*(/\*.*)?$", _TEXT, re.M)
    return int(eval(m[1], {}))  # noqa: S307 - the header's own integer expressions


LIST_SIZE_VER0 = _define("TM_LIST_SIZE_VER0")
PROC_SIZE_VER0 = _define("TM_PROC_SIZE_VER0")
LIST_MAX = _define("TM_LIST_MAX")
_code = re.search(r"#define\s+TM_LIST\s+_IOWR\(TASKMON_IOC_TYPE,\s*(\w+),\s*"
                  r"__u8\[(\w+)\]\)", _TEXT)
_type = ord(re.search(r"#define\s+TASKMON_IOC_TYPE\s+'(.)'", _TEXT)[1])
# _IOWR(type, nr, __u8[TM_LIST_SIZE_VER0]): read and written, the first
# published size in the code (as uapi.py computes every code).
TM_LIST = (3 << 30) | (_define(_code[2]) << 16) | (_type << 8) | int(_code[1], 0)
GUARD = 0xFF


class Proc(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_int32), ("reserved", ctypes.c_uint32),
                ("start_time_ns", ctypes.c_uint64)]


class List(ctypes.Structure):
    _fields_ = [("size", ctypes.c_uint32), ("flags", ctypes.c_uint32),
                ("entry_size", ctypes.c_uint32), ("count", ctypes.c_uint32),
                ("entries", ctypes.c_uint64),
                ("total", ctypes.c_uint32), ("reserved", ctypes.c_uint32),
                ("time_ns", ctypes.c_uint64)]


assert ctypes.sizeof(List) == LIST_SIZE_VER0, "the mirror does not match TM_LIST_SIZE_VER0"
assert ctypes.sizeof(Proc) == PROC_SIZE_VER0, "the mirror does not match TM_PROC_SIZE_VER0"

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong]


def raw_ioctl(fd: int, code: int, address: int) -> int:
    ret = _libc.ioctl(fd, code, address)
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


class Call:
    """One TM_LIST call's argument, its entries and its outcome."""

    def __init__(self, count: int, entry_size: int = PROC_SIZE_VER0, size: int = LIST_SIZE_VER0,
                 flags: int = 0, tail: bytes = b"", fill: int = 0, entries=None,
                 reserved: int = 0, guard: int = 0):
        """`fill`: the byte every entry starts as; `tail`: the bytes past the
        struct (up to `size`); `guard`: bytes of GUARD past `size` and past
        the last entry (guard_intact())."""
        self.entry_size, self.guard = entry_size, guard
        self.room = count * entry_size
        self.buf = (ctypes.c_char * max(self.room + guard, 1))()
        if fill:
            ctypes.memset(self.buf, fill, self.room)
        ctypes.memset(ctypes.addressof(self.buf) + self.room, GUARD, guard)
        self.length = max(size, LIST_SIZE_VER0)
        self.raw = (ctypes.c_char * (self.length + guard))()
        ctypes.memset(ctypes.addressof(self.raw) + self.length, GUARD, guard)
        if size > LIST_SIZE_VER0 and tail:
            ctypes.memmove(ctypes.addressof(self.raw) + LIST_SIZE_VER0, tail,
                           min(len(tail), size - LIST_SIZE_VER0))
        self.arg = List.from_buffer(self.raw)
        self.arg.size, self.arg.flags, self.arg.entry_size = size, flags, entry_size
        self.arg.count, self.arg.reserved = count, reserved
        self.arg.entries = ctypes.addressof(self.buf) if entries is None else entries
        self.ret = None

    def __call__(self, fd: int) -> int:
        self.ret = raw_ioctl(fd, TM_LIST, ctypes.addressof(self.raw))
        return self.ret

    def entry(self, i: int) -> Proc:
        return Proc.from_buffer_copy(self.buf, i * self.entry_size)

    def entry_bytes(self, i: int) -> bytes:
        return bytes(self.buf[i * self.entry_size:(i + 1) * self.entry_size])

    def entries(self, n: int):
        return [self.entry(i) for i in range(n)]

    def tail_bytes(self) -> bytes:
        """The struct's bytes past TM_LIST_SIZE_VER0, up to its size."""
        return bytes(self.raw[LIST_SIZE_VER0:self.length])

    def guard_intact(self) -> bool:
        """Nothing was written past the struct's size nor past the entries."""
        guard = bytes([GUARD]) * self.guard
        return (bytes(self.raw[self.length:]) == guard and
                bytes(self.buf[self.room:self.room + self.guard]) == guard)


def processes(fd: int, margin: int = 64):
    """[(pid, start_time_ns)] of every process, growing the buffer on ERANGE."""
    count = Call(0, entries=0)(fd) + margin
    while True:
        call = Call(count)
        try:
            n = call(fd)
        except OSError as e:
            if e.errno != 34:  # ERANGE: more processes than room
                raise
            count = call.arg.total + margin
            continue
        return [(p.pid, p.start_time_ns) for p in call.entries(n)]


if __name__ == "__main__":
    fd = os.open(sys.argv[1] if len(sys.argv) > 1 else "/dev/taskmonitor", os.O_RDONLY)
    for pid, start in processes(fd):
        print(pid, start)
