"""taskmonitor: the one rule of every size and stride of the uapi (taskmon.h).

TM_STATS's @size, TM_STATS_BATCH's @size, TM_LIST's @size and @entry_size
and TM_SUBSCRIBE's @record_size: a multiple of 8 from the structure's
*_SIZE_VER0 up to a page; EINVAL below *_SIZE_VER0 or not a multiple of 8,
E2BIG above a page.  A caller's structure larger than the module's gets
its bytes past the module's cleared (outputs it does not know), never
refused, and nothing past the size the caller gave is written.

One table over the five sizes: each case names a size relative to its
*_SIZE_VER0 or to the page, and the answer it must get.
"""
import ctypes
import errno
import os
import select

import pytest

import list_uapi as lu
import stats_uapi as su
import stream_uapi as stu
import tmdev
import uapi

PAGE = os.sysconf("SC_PAGE_SIZE")
GUARD = 64
FF = 0xFF


@pytest.fixture
def fd(load):
    load("taskmonitor")
    fd = os.open(tmdev.DEV, os.O_RDONLY | os.O_CLOEXEC)
    yield fd
    os.close(fd)


def _errno(call):
    try:
        call()
    except OSError as e:
        return e.errno
    return 0


def _tail(size: int, ver0: int) -> bytes:
    return bytes([FF]) * max(size - ver0, 0)


def _room(size: int) -> int:
    """The bytes to allocate for a struct of `size`: sizes far above a page
    are refused before anything is read past the fixed fields, so a page
    and a bit stand for them (the size field still says `size`)."""
    return size if size <= 2 * PAGE else PAGE + 8


def stats_size(fd: int, size: int) -> int:
    """TM_STATS of this process with a struct of `size` bytes, prefilled
    with 0xff past TM_STATS_SIZE_VER0 and followed by guard bytes."""
    room = _room(size)
    buf = su.make_record(os.getpid(), size=room, tail=_tail(room, su.SIZE_VER0), guard=GUARD)
    ctypes.c_uint32.from_buffer(buf, 0).value = size
    err = _errno(lambda: uapi.raw_ioctl(fd, su.TM_STATS, ctypes.addressof(buf)))
    if not err:
        s = su.Stats.from_buffer_copy(buf[:su.SIZE_VER0])
        assert s.pid == s.tgid == os.getpid() and s.size == size and s.mask == su.MASK_ALL
        assert bytes(buf[su.SIZE_VER0:size]) == bytes(size - su.SIZE_VER0), "tail not cleared"
        assert su.guard_intact(buf, size), "written past @size"
    return err


def batch_size(fd: int, size: int) -> int:
    """TM_STATS_BATCH of three records of `size` bytes, each prefilled with
    0xff past TM_STATS_SIZE_VER0, guard bytes after the last."""
    pids = [os.getpid(), 1, os.getpid()]
    if _room(size) != size:
        records = su.make_record(os.getpid(), guard=GUARD)
        arg = su.Batch(size=size, count=1, records=ctypes.addressof(records))
        return _errno(lambda: uapi.raw_ioctl(fd, su.TM_STATS_BATCH, ctypes.addressof(arg)))
    tails = [_tail(size, su.SIZE_VER0)] * len(pids)
    try:
        records, buf = su.batch(fd, pids, size=size, tails=tails, guard=GUARD)
    except OSError as e:
        return e.errno
    assert [(r.error, r.pid, r.size) for r in records] == [(0, p, size) for p in pids]
    for i in range(len(pids)):
        assert bytes(buf[i * size + su.SIZE_VER0:(i + 1) * size]) == \
            bytes(size - su.SIZE_VER0), f"record {i}: tail not cleared"
    assert su.guard_intact(buf, len(pids) * size), "written past the last record"
    return 0


def list_size(fd: int, size: int) -> int:
    """TM_LIST with a struct of `size` bytes, prefilled with 0xff past
    TM_LIST_SIZE_VER0, guard bytes after it."""
    room = _room(size)
    call = lu.Call(4096, size=room, tail=_tail(room, lu.LIST_SIZE_VER0), guard=GUARD)
    call.arg.size = size
    err = _errno(lambda: call(fd))
    if not err:
        assert call.ret == call.arg.total and call.entry(0).pid == 1
        assert call.tail_bytes() == bytes(size - lu.LIST_SIZE_VER0), "tail not cleared"
        assert call.guard_intact(), "written past @size"
    return err


def list_entry_size(fd: int, size: int) -> int:
    """TM_LIST into entries of `size` bytes, all 0xff before the call,
    guard bytes after the last."""
    room = max(1, min(4096, (4 << 20) // max(size, 1)))
    call = lu.Call(room, entry_size=_room(size), fill=FF, guard=GUARD)
    call.arg.entry_size = size
    err = _errno(lambda: call(fd))
    if not err:
        n = call.ret
        pids = [call.entry(i).pid for i in range(n)]
        assert pids[0] == 1 and os.getpid() in pids and pids == sorted(set(pids))
        for i in range(n):
            assert call.entry_bytes(i)[lu.PROC_SIZE_VER0:] == bytes(size - lu.PROC_SIZE_VER0), \
                f"entry {i}: tail not cleared"
            assert call.entry(i).reserved == 0
        assert call.guard_intact(), "written past the entries"
    return err


def record_size(fd: int, size: int) -> int:
    """TM_SUBSCRIBE with @record_size `size`, then one read() of one record
    into 0xff bytes with guard bytes after it."""
    sub = os.open(tmdev.DEV, os.O_RDONLY | os.O_CLOEXEC)
    try:
        try:
            req = stu.subscribe(sub, [os.getpid()], period_ns=stu.PERIOD_MIN_NS, record_size=size)
        except OSError as e:
            return e.errno
        assert req.record_size == stu.RECORD_SIZE_VER0
        p = select.poll()
        p.register(sub, select.POLLIN)
        assert p.poll(60_000) == [(sub, select.POLLIN)]
        libc = ctypes.CDLL(None, use_errno=True)
        libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
        libc.read.restype = ctypes.c_ssize_t
        buf = ctypes.create_string_buffer(bytes([FF]) * (size + GUARD), size + GUARD)
        assert libc.read(sub, buf, size) == size
        data = buf.raw
        rec = stu.Record.from_buffer_copy(data)
        assert rec.pid == os.getpid() and rec.seq == 0
        known = stu.RECORD_SIZE_VER0
        assert data[known:size] == bytes(size - known), "tail not cleared"
        assert data[size:] == bytes([FF]) * GUARD, "written past the record"
        return 0
    finally:
        os.close(sub)


SIZES = {
    "TM_STATS.size": (stats_size, su.SIZE_VER0),
    "TM_STATS_BATCH.size": (batch_size, su.SIZE_VER0),
    "TM_LIST.size": (list_size, lu.LIST_SIZE_VER0),
    "TM_LIST.entry_size": (list_entry_size, lu.PROC_SIZE_VER0),
    "TM_SUBSCRIBE.record_size": (record_size, stu.RECORD_SIZE_VER0),
}

# (name, the size from VER0 and the page, the answer)
CASES = [
    ("ver0-8", lambda ver0: ver0 - 8, errno.EINVAL),
    ("ver0-1", lambda ver0: ver0 - 1, errno.EINVAL),
    ("ver0+4", lambda ver0: ver0 + 4, errno.EINVAL),
    ("ver0", lambda ver0: ver0, 0),
    ("ver0+8", lambda ver0: ver0 + 8, 0),
    ("ver0+64", lambda ver0: ver0 + 64, 0),
    ("page-4", lambda ver0: PAGE - 4, errno.EINVAL),
    ("page", lambda ver0: PAGE, 0),
    ("page+8", lambda ver0: PAGE + 8, errno.E2BIG),
    ("page+4", lambda ver0: PAGE + 4, errno.E2BIG),
    ("2^31", lambda ver0: 1 << 31, errno.E2BIG),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("what", sorted(SIZES))
def test_size_rule(fd, what, case):
    call, ver0 = SIZES[what]
    _, size_of, expected = case
    size = size_of(ver0)
    got = call(fd, size)
    assert got == expected, \
        f"{what} = {size}: {errno.errorcode.get(got, 'success')}, expected " \
        f"{errno.errorcode.get(expected, 'success')}"
