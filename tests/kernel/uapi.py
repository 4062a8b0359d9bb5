"""The ioctl request codes of include/uapi/linux/taskmon.h, read from the header.

The request numbers and directions come from the header itself, so the tests
exercise what user space really compiles against; only the argument sizes
are given here, from the structures' definitions.  An argument type
`__u8[NAME]` (the extensible structures' requests, whose code carries their
first published size) has the size of the header's constant NAME.
"""
import ctypes
import os
import pathlib
import re

HEADER = pathlib.Path(__file__).resolve().parents[2] / "include/uapi/linux/taskmon.h"

_IOC_NRBITS, _IOC_TYPEBITS, _IOC_SIZEBITS = 8, 8, 14
_IOC_NRSHIFT = 0
_IOC_TYPESHIFT = _IOC_NRSHIFT + _IOC_NRBITS
_IOC_SIZESHIFT = _IOC_TYPESHIFT + _IOC_TYPEBITS
_IOC_DIRSHIFT = _IOC_SIZESHIFT + _IOC_SIZEBITS
_DIRS = {"_IO": 0, "_IOW": 1, "_IOR": 2, "_IOWR": 3}


def _ioc(direction: int, typ: int, nr: int, size: int) -> int:
    return (direction << _IOC_DIRSHIFT) | (typ << _IOC_TYPESHIFT) | \
        (nr << _IOC_NRSHIFT) | (size << _IOC_SIZESHIFT)


class TaskSample(ctypes.Structure):
    _fields_ = [("utime", ctypes.c_uint64), ("stime", ctypes.c_uint64)]


def _parse():
    text = HEADER.read_text()
    ints = {m[1]: int(m[2], 0) for m in
            re.finditer(r"#define\s+(\w+)\s+(\d+|0x[0-9a-fA-F]+)\s*$", text, re.M)}
    ioc_type = ord(re.search(r"#define\s+TASKMON_IOC_TYPE\s+'(.)'", text)[1])
    sizes = {
        "char[HELLO_MSG_LEN]": ints["HELLO_MSG_LEN"],
        "struct task_sample": ctypes.sizeof(TaskSample),
        "struct task_sample_text": ints["TM_TEXT_LEN"],
        "__kernel_pid_t": 4,
        # size, flags, count, reserved (__u32 each) and records (__aligned_u64)
        "struct taskmon_stats_batch": 24,
        # flags, count (__u32), period_ns (__u64), ring, record_size (__u32), pids
        "struct taskmon_subscribe": 32,
        # flags, ring, record_size, reserved (__u32 each)
        "struct taskmon_exits_subscribe": 16,
    }

    def size_of(argtype: str) -> int:
        array = re.fullmatch(r"__u8\s*\[\s*(\w+)\s*\]", argtype)
        if array:
            return ints[array[1]]
        return sizes[argtype]

    requests = {}
    for m in re.finditer(r"#define\s+(\w+)\s+(_IO\w*)\(TASKMON_IOC_TYPE,\s*(\w+)(?:,\s*([^)]+))?\)",
                         text):
        name, macro, nr, argtype = m.groups()
        size = size_of(argtype.strip()) if argtype else 0
        requests[name] = _ioc(_DIRS[macro], ioc_type, int(nr, 0), size)
    return ints, ioc_type, requests


CONSTANTS, IOC_TYPE, REQUESTS = _parse()
HELLO_MSG_LEN = CONSTANTS["HELLO_MSG_LEN"]
TM_TEXT_LEN = CONSTANTS["TM_TEXT_LEN"]
HELLO = REQUESTS["HELLO"]
TM_GET = REQUESTS["TM_GET"]
TM_GET_TEXT = REQUESTS["TM_GET_TEXT"]
TM_START = REQUESTS["TM_START"]
TM_STOP = REQUESTS["TM_STOP"]
TM_PID = REQUESTS["TM_PID"]


def request(direction: str, nr: int, size: int = 0) -> int:
    """A request code of our type that the header does not define."""
    return _ioc(_DIRS[direction], IOC_TYPE, nr, size)


_libc = ctypes.CDLL(None, use_errno=True)
_libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong]


def raw_ioctl(fd: int, request_code: int, address: int) -> int:
    """ioctl with an arbitrary pointer value (fcntl.ioctl takes only a C int)."""
    ret = _libc.ioctl(fd, request_code, address)
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return ret


class ReadOnlyPage:
    """One page holding `data`, then made read-only: a pointer the kernel
    may read from but must fail to write to (EFAULT)."""

    _PROT_READ, _PROT_WRITE = 0x1, 0x2
    _MAP_PRIVATE, _MAP_ANONYMOUS = 0x02, 0x20

    def __init__(self, data: bytes):
        self.size = os.sysconf("SC_PAGE_SIZE")
        _libc.mmap.restype = ctypes.c_void_p
        _libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                               ctypes.c_int, ctypes.c_int, ctypes.c_long]
        addr = _libc.mmap(None, self.size, self._PROT_READ | self._PROT_WRITE,
                          self._MAP_PRIVATE | self._MAP_ANONYMOUS, -1, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            raise OSError(ctypes.get_errno(), "mmap")
        self.address = addr
        ctypes.memmove(addr, data, len(data))
        if _libc.mprotect(ctypes.c_void_p(addr), ctypes.c_size_t(self.size),
                          self._PROT_READ) != 0:
            raise OSError(ctypes.get_errno(), "mprotect")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _libc.munmap(ctypes.c_void_p(self.address), ctypes.c_size_t(self.size))
