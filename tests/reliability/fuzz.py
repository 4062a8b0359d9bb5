"""ioctl fuzzing of /dev/taskmonitor, /dev/hello and the sysfs files.

Runs in a worker process (worker.py fuzz), one case after another, each
posted in its slot so that the test fails a call that never returns.
Every case predicts its outcome (errno, or success with the answer it must
give) and the state it must leave (target, kthread count, hello value):
random request numbers must give ENOTTY, bad pointers EFAULT, and nothing
may change that the request did not ask to change.  TM_STATS and
TM_STATS_BATCH get cases of their own (stats_case): random sizes (around
the rule's bounds: *_SIZE_VER0, multiples of 8, a page), tails (cleared on
success), request masks (TM_STATS__RESERVED: EINVAL), flags, counts and
pointers, answered with 0, EINVAL, E2BIG, EFAULT, ESRCH or ENODATA only.
TM_LIST (list_case) and TM_SUBSCRIBE (subscribe_case: @record_size, then
a read() at that size) get theirs too, each outcome predicted.
"""
import errno
import os
import ctypes
import random
import struct
import time

import harness
from harness import tmdev, uapi
from worker import (OP, Problem, check_failed_record, check_line, check_stats, errname,
                    random_mask)
import list_uapi as lu  # tests/kernel, put on sys.path by harness
import stats_uapi as su
import stream_uapi as stu

I32 = struct.Struct("i")
# Kernel addresses (text, direct map, vmalloc, vmemmap, fixmap), the
# non-canonical hole and the very top: access_ok() must refuse them all.
KERNEL_POINTERS = [0xffffffff81000000, 0xffff888000000000, 0xffffc90000000000,
                   0xffffea0000000000, 0xffffffffff5fe000, 0x0000800000000000,
                   0x8000000000000000, 0xdead000000000000, 0xfffffffffffffff0,
                   0xffffffffffffffff]
LOW_POINTERS = [0, 1, 8, 0xfff, 0x1000, 0x10000]
# Requests the VFS answers itself before the driver (fs/ioctl.c): any answer
# is fine for them, but the state must not change.  FIFREEZE/FITHAW are left
# out on purpose: they would freeze the filesystem holding /dev.
VFS_REQUESTS = {0x5451: "FIOCLEX", 0x5450: "FIONCLEX", 0x5421: "FIONBIO",
                0x5452: "FIOASYNC", 0x5460: "FIOQSIZE", 0x541B: "FIONREAD",
                0x2: "FIGETBSZ", 0x1: "FIBMAP", 0x80086601: "FS_IOC_GETFLAGS",
                0x801c581f: "FS_IOC_FSGETXATTR", 0x5401: "TCGETS"}
KTHREAD_EVERY = 20
NEVER = {0xc0045877, 0xc0045878} | set(VFS_REQUESTS)  # FIFREEZE, FITHAW


def boundary_sizes(ver0: int):
    """Sizes around the rule of every size (a multiple of 8 from VER0 to a
    page): none, below VER0, VER0 and just past it (aligned or not), the
    page and just past it."""
    page = harness.PAGE
    return [0, ver0 - 8, ver0 - 1, ver0, ver0 + 1, ver0 + 4, ver0 + 8, ver0 + 64,
            page - 8, page - 4, page, page + 1, page + 8, 2 * page]


def size_errno(size: int, ver0: int) -> int:
    """The rule's answer for a size: 0, EINVAL or E2BIG."""
    if size > harness.PAGE:
        return errno.E2BIG
    return errno.EINVAL if size < ver0 or size % 8 else 0


STATS_SIZES = boundary_sizes(su.SIZE_VER0)
STATS_ERRNOS = {0, errno.EINVAL, errno.E2BIG, errno.EFAULT, errno.ESRCH, errno.ENODATA}
LIST_ERRNOS = {0, errno.EINVAL, errno.E2BIG, errno.EFAULT, errno.ERANGE}
SUBSCRIBE_ERRNOS = {0, errno.EINVAL, errno.E2BIG, errno.EFAULT, errno.ESRCH, errno.ENODATA}

DEVICES = {
    "taskmonitor": (tmdev.DEV, {"TM_GET": 16, "TM_GET_TEXT": uapi.TM_TEXT_LEN,
                                "TM_START": 0, "TM_STOP": 0, "TM_PID": 4,
                                "TM_STATS": 0, "TM_STATS_BATCH": 0, "TM_LIST": 0,
                                "TM_SUBSCRIBE": 0}),
    "hello": (harness.HELLO_DEV, {"HELLO": uapi.HELLO_MSG_LEN}),
    "taskmonitor sysfs": (tmdev.SYSFS, {}),
    "hello sysfs": (harness.HELLO_SYSFS, {}),
}


class Fuzzer:
    def __init__(self, cfg, slots, report):
        self.rng = random.Random(cfg["seed"])
        self.slots, self.slot, self.report = slots, cfg["first_slot"], report
        self.pool = cfg["pool"]           # live processes: valid targets
        self.dead = cfg["dead_pid"]       # a pid no process has
        self.pages = harness.Pages()
        self.fds = {name: os.open(path, os.O_RDWR) for name, (path, _) in DEVICES.items()}
        self.valid = {uapi.REQUESTS[n] for n in uapi.REQUESTS}
        self.cases = 0
        self.expected = {"kthreads": 0}
        self.expected = self.state()

    def close(self):
        for fd in self.fds.values():
            os.close(fd)

    # ---- the state a case must leave ----

    def state(self, kthreads: bool = True):
        """The target, the hello value and (if asked: a walk over /proc, slow
        under TCG) the number of live monitor kthreads."""
        # A target that has been reaped reads ESRCH: its errno name.
        def target():
            with tmdev.Device() as dev:
                return dev.pid(-1)
        target = harness._errno_of(target)
        count = len(harness.live_monitor_kthreads()) if kthreads else self.expected["kthreads"]
        return {"target": target, "kthreads": count, "hello": harness.HELLO_SYSFS.read_bytes()}

    # ---- arguments ----

    def pointer(self, size: int):
        """(address, how many bytes of it user space may read, and write)."""
        rw, ro, none = self.pages.rw, self.pages.ro, self.pages.none
        page = harness.PAGE
        kind = self.rng.randrange(8)
        if kind == 0:
            return self.rng.choice(LOW_POINTERS), 0, 0
        if kind == 1:
            return self.rng.choice(KERNEL_POINTERS), 0, 0
        if kind == 2:
            return self.rng.getrandbits(64), None, None  # unknown: EFAULT or success
        if kind == 3:  # within the read-write page, at a random place
            addr = rw + self.rng.randrange(0, page - max(size, 1) + 1)
            return addr, size, size
        if kind == 4:  # the end of the read-only page, running into no-access
            addr = none - self.rng.randrange(1, max(size, 1) + 1)
            return addr, none - addr, 0
        if kind == 5:  # the end of the read-write page, running into read-only
            addr = ro - self.rng.randrange(1, max(size, 1) + 1)
            return addr, size, ro - addr
        if kind == 6:
            return none + self.rng.randrange(page), 0, 0
        return ro + self.rng.randrange(0, page - max(size, 1) + 1), size, 0

    def request(self, device: str):
        """(request code, name of a valid request or None, what kind of case)."""
        valid = DEVICES[device][1]
        kind = self.rng.randrange(10)
        if valid and kind < 4:
            name = self.rng.choice(sorted(valid))
            return uapi.REQUESTS[name], name, "valid request"
        if kind < 6:
            # Our type and a known number, the wrong direction or size.
            # 0x15-0x17: numbers no longer used; 0x20-0x23: ABI 1.0's.
            nr = self.rng.choice([0x01, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
                                  0x20, 0x21, 0x22, 0x23, self.rng.randrange(256)])
            code = uapi.request(self.rng.choice(["_IO", "_IOR", "_IOW", "_IOWR"]), nr,
                                self.rng.choice([0, 1, 4, 8, 16, 32, 128, 0x3fff,
                                                 self.rng.randrange(1 << 14)]))
            kind_name = "near miss"
        elif kind == 6:
            code, kind_name = self.rng.choice(sorted(VFS_REQUESTS)), "VFS request"
            return code, None, kind_name
        else:
            code, kind_name = self.rng.getrandbits(32), "random request"
        if code in self.valid or code in NEVER:
            code, kind_name = 0x4e00ff00 | self.rng.randrange(256), "random request"
        return code, None, kind_name

    # ---- one case ----

    def case(self):
        roll = self.rng.random()
        if roll < 0.15:
            # The statistics requests have the most arguments: more cases.
            return self.stats_case(self.rng.choice(["TM_STATS", "TM_STATS_BATCH"]))
        if roll < 0.22:
            return self.list_case()
        if roll < 0.27:
            return self.subscribe_case()
        device = self.rng.choice(sorted(DEVICES))
        fd = self.fds[device]
        code, name, kind = self.request(device)
        if name in ("TM_STATS", "TM_STATS_BATCH"):
            return self.stats_case(name)
        if name == "TM_LIST":
            return self.list_case()
        if name == "TM_SUBSCRIBE":
            return self.subscribe_case()
        size = DEVICES[device][1].get(name, 0)
        addr, readable, writable = self.pointer(size)
        pid_value = None
        if name == "TM_PID" and readable is not None and readable >= 4:
            # Never a live pid through a read-only pointer: that case has a
            # test of its own (test_bad_input.py, TM_PID on read-only memory).
            choices = [-1, -self.rng.randrange(1, 1 << 31), 0, self.dead]
            if writable and writable >= 4:
                choices += [self.rng.choice(self.pool)] * 2
            pid_value = self.rng.choice(choices)
            self.pages.write(addr, I32.pack(pid_value))
        if name in ("TM_GET", "TM_GET_TEXT", "HELLO") and writable:
            self.pages.write(addr, bytes(min(size, writable)))

        expected_errno, expected = None, dict(self.expected)
        if name is None:
            expected_errno = "any" if kind == "VFS request" else errno.ENOTTY
        elif name in ("TM_START", "TM_STOP"):
            expected["kthreads"] = 1 if name == "TM_START" else 0
        elif readable is None:
            expected_errno = "any"   # a random address: mapped or not, we can't tell
            if name == "TM_PID":
                expected["target"] = None  # re-read after the call
        elif name == "TM_PID":
            if readable < 4:
                expected_errno = errno.EFAULT
            elif pid_value == 0:
                expected_errno = errno.EINVAL
            elif writable < 4:
                # The answer is written back before the switch (or the
                # read): a buffer it cannot be written to fails first.
                expected_errno = errno.EFAULT
            elif pid_value == self.dead:
                expected_errno = errno.ESRCH
            elif pid_value < 0 and isinstance(expected["target"], str):
                expected_errno = getattr(errno, expected["target"])
            elif pid_value > 0:
                expected["target"] = pid_value
        elif writable < size:
            expected_errno = errno.EFAULT

        self.report.extra[f"{device}: {kind}"] += 1
        with self.slots.call(self.slot, OP["ioctl fuzz case"]):
            try:
                harness.uapi.raw_ioctl(fd, code, addr)
                got = 0
            except OSError as e:
                got = e.errno
        where = f"ioctl({device}, {code:#010x} {name or kind}, {addr:#x})"
        self.report.outcome("ioctl fuzz case", "ok" if got == 0 else errno.errorcode[got])
        if expected_errno == "any":
            pass
        elif expected_errno is None and got != 0:
            raise Problem(f"{where}: {errname(OSError(got, ''))}, expected success")
        elif expected_errno is not None and got != expected_errno:
            raise Problem(f"{where}: {'success' if not got else errno.errorcode[got]}, "
                          f"expected {errno.errorcode[expected_errno]}")
        if got == 0 and readable is not None and name is not None:
            self.check_answer(name, addr, pid_value, expected)
        # The kthreads are counted after every start or stop, and every
        # KTHREAD_EVERY cases (a stray start would show there).
        self.cases += 1
        self.check_state(where, expected,
                         name in ("TM_START", "TM_STOP") or self.cases % KTHREAD_EVERY == 0)

    # ---- TM_STATS and TM_STATS_BATCH ----

    def stats_args(self):
        """(size, flags, tail bytes past the struct or None) of one case."""
        rng = self.rng
        # Valid sizes and flags more often than not, so that most cases
        # reach the records.
        size = rng.choice(STATS_SIZES + [su.SIZE_VER0, su.SIZE_VER0 + 8, harness.PAGE])
        flags = rng.choice([0, 0, 0, su.TM_STATS_THREAD, su.TM_STATS_THREAD,
                            su.TM_STATS_THREAD << 1, 1 << 31, rng.getrandbits(32)])
        tail = None
        if size > su.SIZE_VER0 and rng.random() < 0.5:
            tail = bytes(rng.getrandbits(8) for _ in range(min(size, harness.PAGE) - su.SIZE_VER0))
            if not any(tail):
                tail = None
        return size, flags, tail

    def stats_pid(self):
        rng = self.rng
        return rng.choice([0, 0, self.dead, -1, -rng.randrange(1, 1 << 31),
                           rng.randrange(1, 1 << 22), rng.choice(self.pool), rng.choice(self.pool)])

    def pid_outcome(self, pid, mask=0):
        """The errno a query of pid (with the request mask) must give: 0,
        an errno, or None (either 0 or ESRCH: a random pid)."""
        if pid < 0 or mask & su.RESERVED:
            return errno.EINVAL
        if pid == self.dead:
            return errno.ESRCH
        if pid == 0:
            target = self.expected["target"]
            return getattr(errno, target) if isinstance(target, str) else 0
        return 0 if pid in self.pool else None

    def place(self, data: bytes, keep, read_only=True):
        """Put data where the kernel may read (and maybe write) it: (address,
        writable).  keep holds the buffers until the call is over; the
        read-only page is used only if read_only."""
        kind = self.rng.randrange(4)
        if read_only and kind == 0 and len(data) <= harness.PAGE:
            # The read-only page: readable to the end, never writable.
            self.pages.write(self.pages.ro, data)
            return self.pages.ro, False
        buf = ctypes.create_string_buffer(data, len(data) + su.SIZE_VER0)
        keep.append(buf)
        return ctypes.addressof(buf), True

    def stats_case(self, name):
        """One TM_STATS or TM_STATS_BATCH call with random arguments; the
        outcome is predicted, and the state must not change."""
        rng, fd = self.rng, self.fds["taskmonitor"]
        size, flags, tail = self.stats_args()
        keep = []
        size_err = size_errno(size, su.SIZE_VER0)
        valid = not size_err and not flags & ~su.TM_STATS_THREAD
        # The call's own error for its size and flags: the size first.
        call_err = size_err or (errno.EINVAL if not valid else 0)
        pids, outcomes, masks = [], [], []
        count = records = None
        if name == "TM_STATS":
            pids = [self.stats_pid()]
            masks = [random_mask(rng, reserved=0.1)]
            rec = bytes(su.make_record(pids[0], flags, size, tail or b"",
                                       masks[0]))[:max(size, su.SIZE_VER0)]
            bad = rng.random() < 0.1
            if bad:
                addr, writable = rng.choice(KERNEL_POINTERS + LOW_POINTERS), False
                expected = {errno.EFAULT}
            else:
                addr, writable = self.place(rec, keep)
                outcome = self.pid_outcome(pids[0], masks[0])
                if call_err:
                    expected = {call_err}
                elif outcome is None:
                    expected = {errno.ESRCH, 0 if writable else errno.EFAULT}
                elif outcome == 0 and not writable:
                    expected = {errno.EFAULT}
                else:
                    expected = {outcome}
        else:
            count = rng.choice([0, 1, 2, 3, 5, su.BATCH_MAX + 1, rng.getrandbits(32)])
            reserved = 0 if rng.random() < 0.9 else rng.getrandbits(32) or 1
            n = count if count <= 5 else 0
            pids = [self.stats_pid() for _ in range(n)]
            masks = [random_mask(rng, reserved=0.1) for _ in pids]
            stride = max(size, su.SIZE_VER0) if valid else su.SIZE_VER0
            tails = [tail if rng.random() < 0.5 else None for _ in pids]
            data = b"".join(bytes(su.make_record(p, rng.getrandbits(32), size if valid else
                                                 su.SIZE_VER0, t or b"", m))[:stride]
                            for p, t, m in zip(pids, tails, masks))
            kind = rng.randrange(8)
            if kind == 0 or not pids:
                # No records the kernel may write to: only a bad pointer,
                # or none at all for a count it must refuse first.
                records, writable = rng.choice(KERNEL_POINTERS + LOW_POINTERS), False
            else:
                records, writable = self.place(data, keep)
            arg = bytes(su.Batch(size=size, flags=flags, count=count, reserved=reserved,
                                 records=records))
            bad = rng.random() < 0.1
            if bad:
                addr = rng.choice(KERNEL_POINTERS + LOW_POINTERS)
            else:
                addr, _ = self.place(arg, keep, read_only=records != self.pages.ro)
            if bad:
                expected = {errno.EFAULT}
            elif size_err:
                expected = {size_err}
            elif not valid or reserved or not count:
                expected = {errno.EINVAL}
            elif count > su.BATCH_MAX:
                expected = {errno.E2BIG}
            elif not writable:
                expected = {errno.EFAULT}   # the first record cannot be answered
            else:
                expected = {0}
                outcomes = [self.pid_outcome(p, m) for p, m in zip(pids, masks)]

        self.report.extra[f"taskmonitor: {name} case"] += 1
        with self.slots.call(self.slot, OP["ioctl fuzz case"]):
            try:
                harness.uapi.raw_ioctl(fd, su.TM_STATS if name == "TM_STATS" else su.TM_STATS_BATCH,
                                       addr)
                got = 0
            except OSError as e:
                got = e.errno
        where = (f"ioctl(taskmonitor, {name}, size {size}, flags {flags:#x}, "
                 f"{'tail' if tail else 'no tail'}, pids {pids}, masks "
                 f"{[hex(m) for m in masks]}, count {count}, "
                 f"records {records if records is None else hex(records)}, {addr:#x})")
        self.report.outcome("ioctl fuzz case", "ok" if got == 0 else errno.errorcode[got])
        if got not in STATS_ERRNOS or got not in expected:
            raise Problem(f"{where}: {'success' if not got else errno.errorcode[got]}, expected "
                          f"{sorted(errno.errorcode.get(e, 'success') for e in expected)}")
        zeros = bytes(max(size - su.SIZE_VER0, 0))
        if got == 0 and name == "TM_STATS":
            if self.pages.read(addr + su.SIZE_VER0, len(zeros)) != zeros:
                raise Problem(f"{where}: the bytes past the struct were not cleared")
            if self.pid_outcome(pids[0], masks[0]) is not None:
                # (A random pid may be a thread's, or a kernel thread: only
                # the pool and the target are checked.)
                rec = su.Stats.from_buffer_copy(self.pages.read(addr, su.SIZE_VER0))
                check_stats(rec, pids[0], flags, size, self.pool + [self.expected["target"]],
                            asked=masks[0])
        elif got == 0:
            for i, (pid, outcome) in enumerate(zip(pids, outcomes)):
                rec = su.Stats.from_buffer_copy(self.pages.read(records + i * stride, su.SIZE_VER0))
                if self.pages.read(records + i * stride + su.SIZE_VER0, len(zeros)) != zeros:
                    raise Problem(f"{where}: record {i}: the bytes past the struct were not "
                                  f"cleared")
                if outcome is None:  # a random pid: ESRCH, or not checked
                    if not rec.error:
                        continue
                    outcome = errno.ESRCH
                if outcome:
                    check_failed_record(rec, pid, flags, size, outcome)
                else:
                    check_stats(rec, pid, flags, size, self.pool + [self.expected["target"]],
                                asked=masks[i])
        del keep
        self.cases += 1
        self.check_state(where, dict(self.expected), self.cases % KTHREAD_EVERY == 0)

    # ---- TM_LIST ----

    def list_case(self):
        """One TM_LIST with sizes around the rule's bounds, a tail, a
        count and an entries pointer; the outcome is predicted, a success
        checked (ascending pids, cleared tails, nothing past @size or past
        the entries written)."""
        rng, fd = self.rng, self.fds["taskmonitor"]
        size = rng.choice(boundary_sizes(lu.LIST_SIZE_VER0) + [lu.LIST_SIZE_VER0] * 3)
        entry_size = rng.choice(boundary_sizes(lu.PROC_SIZE_VER0) + [lu.PROC_SIZE_VER0] * 3)
        count = rng.choice([0, 1, 2, 512, 512, lu.LIST_MAX + 1, rng.getrandbits(32)])
        flags = rng.choice([0] * 8 + [1, rng.getrandbits(32)])
        reserved = rng.choice([0] * 8 + [1])
        # Entries only where the kernel may write: room for `count` entries
        # when it is small, else a bad pointer (a count that large is
        # refused, or the first copy fails).
        room = count if count <= 512 and entry_size <= harness.PAGE else 0
        bad_entries = rng.random() < 0.1 or count > room
        call = lu.Call(room, entry_size=max(entry_size, 1), size=min(size, 2 * harness.PAGE),
                       flags=flags, reserved=reserved, guard=64,
                       tail=bytes(rng.getrandbits(8) for _ in range(64)),
                       entries=rng.choice(KERNEL_POINTERS + LOW_POINTERS) if bad_entries
                       else None)
        call.arg.size, call.arg.entry_size, call.arg.count = size, entry_size, count
        expected = (size_errno(size, lu.LIST_SIZE_VER0) or
                    (errno.EINVAL if flags or reserved else 0) or
                    size_errno(entry_size, lu.PROC_SIZE_VER0) or
                    (errno.E2BIG if count > lu.LIST_MAX else 0))
        if not expected and bad_entries and count:
            expected = errno.EFAULT
        self.report.extra["taskmonitor: TM_LIST case"] += 1
        with self.slots.call(self.slot, OP["ioctl fuzz case"]):
            try:
                n = call(fd)
                got = 0
            except OSError as e:
                got = e.errno
        where = (f"ioctl(taskmonitor, TM_LIST, size {size}, entry_size {entry_size}, "
                 f"count {count}, flags {flags:#x}, reserved {reserved}, "
                 f"entries {call.arg.entries:#x})")
        self.report.outcome("ioctl fuzz case", "ok" if got == 0 else errno.errorcode[got])
        if got not in LIST_ERRNOS or (got != expected and
                                      not (expected == 0 and got == errno.ERANGE)):
            raise Problem(f"{where}: {errno.errorcode.get(got, 'success')}, expected "
                          f"{errno.errorcode.get(expected, 'success')}")
        if got in (0, errno.ERANGE):
            if call.tail_bytes() != bytes(len(call.tail_bytes())):
                raise Problem(f"{where}: the bytes past the struct were not cleared")
            if not call.guard_intact():
                raise Problem(f"{where}: written past @size or past the entries")
            written = min(count, call.arg.total) if count else 0
            pids = [call.entry(i).pid for i in range(written)]
            if pids != sorted(set(pids)) or (pids and pids[0] != 1) or \
                    (got == 0 and count and n != call.arg.total):
                raise Problem(f"{where}: answered {n if not got else 'ERANGE'}, total "
                              f"{call.arg.total}, pids {pids[:8]}...")
            if any(call.entry_bytes(i)[lu.PROC_SIZE_VER0:] != bytes(entry_size - lu.PROC_SIZE_VER0)
                   for i in range(written)):
                raise Problem(f"{where}: an entry's bytes past the module's were not cleared")
        self.cases += 1
        self.check_state(where, dict(self.expected), self.cases % KTHREAD_EVERY == 0)

    # ---- TM_SUBSCRIBE ----

    def subscribe_case(self):
        """TM_SUBSCRIBE of a fresh file with a random @record_size (around
        the rule's bounds), pids and period, then one read() at the agreed
        size: the record's bytes past the module's are cleared, nothing
        past it written."""
        rng = self.rng
        record_size = rng.choice(boundary_sizes(stu.RECORD_SIZE_VER0) + [0, 0, 0, 64])
        pids = [rng.choice(self.pool + [self.dead, -1, 0]) for _ in range(rng.randrange(1, 3))]
        flags = rng.choice([0] * 8 + [1])
        period = rng.choice([0, stu.PERIOD_MIN_NS, stu.PERIOD_MIN_NS - 1])
        expected = (errno.EINVAL if flags else
                    size_errno(record_size, stu.RECORD_SIZE_VER0) if record_size else 0)
        if not expected and period and period < stu.PERIOD_MIN_NS:
            expected = errno.EINVAL
        if not expected:
            seen = set()
            target = self.expected["target"]
            for nr in pids:
                if nr < 0:
                    expected = errno.EINVAL
                elif nr == 0 and isinstance(target, str):
                    expected = getattr(errno, target)
                elif nr == self.dead:
                    expected = errno.ESRCH
                elif (target if nr == 0 else nr) in seen:
                    expected = errno.EINVAL
                seen.add(target if nr == 0 else nr)
                if expected:
                    break
        fd = os.open(tmdev.DEV, os.O_RDONLY | os.O_NONBLOCK)
        try:
            self.report.extra["taskmonitor: TM_SUBSCRIBE case"] += 1
            req = None
            with self.slots.call(self.slot, OP["ioctl fuzz case"]):
                try:
                    req = stu.subscribe(fd, pids, period_ns=period, flags=flags,
                                        record_size=record_size)
                    got = 0
                except OSError as e:
                    got = e.errno
            where = (f"ioctl(taskmonitor, TM_SUBSCRIBE, pids {pids}, record_size {record_size}, "
                     f"flags {flags:#x}, period {period})")
            self.report.outcome("ioctl fuzz case", "ok" if got == 0 else errno.errorcode[got])
            if got not in SUBSCRIBE_ERRNOS or got != expected:
                raise Problem(f"{where}: {errno.errorcode.get(got, 'success')}, expected "
                              f"{errno.errorcode.get(expected, 'success')}")
            if got == 0:
                self.check_records(fd, where, req, record_size or stu.RECORD_SIZE_VER0)
        finally:
            os.close(fd)
        self.cases += 1
        self.check_state(where, dict(self.expected), self.cases % KTHREAD_EVERY == 0)

    def check_records(self, fd, where, req, size):
        """The first record of a fresh stream, read at the agreed size."""
        known = stu.RECORD_SIZE_VER0
        if req.record_size != known:
            raise Problem(f"{where}: record_size {req.record_size} written back, expected {known}")
        libc = harness._libc
        libc.read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
        libc.read.restype = ctypes.c_ssize_t
        buf = ctypes.create_string_buffer(b"\xff" * (2 * size + 64))
        if size > known and libc.read(fd, buf, size - 8) != -1 or \
                size > known and ctypes.get_errno() != errno.EINVAL:
            raise Problem(f"{where}: read() of {size - 8} bytes did not fail with EINVAL")
        deadline = time.monotonic() + 60
        while True:
            ret = libc.read(fd, buf, 2 * size)
            if ret >= 0 or ctypes.get_errno() != errno.EAGAIN or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        data = buf.raw
        if ret <= 0 or ret % size:
            raise Problem(f"{where}: read() of records of {size} bytes gave {ret}")
        if data[ret:2 * size + 64] != b"\xff" * (2 * size + 64 - ret):
            raise Problem(f"{where}: read() wrote past the {ret} bytes it returned")
        for at in range(0, ret, size):
            if data[at + known:at + size] != bytes(size - known):
                raise Problem(f"{where}: a record's bytes past the module's were not cleared")
            rec = stu.Record.from_buffer_copy(data, at)
            if rec.seq != at // size or rec.lost:
                raise Problem(f"{where}: record {at // size}: {rec}")

    def check_answer(self, name, addr, pid_value, expected):
        if name == "TM_GET":
            utime, stime = struct.unpack("QQ", self.pages.read(addr, 16))
            if utime > 10**15 or stime > 10**15:
                raise Problem(f"TM_GET wrote garbage: {utime} {stime}")
        elif name == "TM_GET_TEXT":
            text = self.pages.read(addr, uapi.TM_TEXT_LEN).split(b"\0")[0].decode()
            check_line(text, set(self.pool))
        elif name == "HELLO":
            if self.pages.read(addr, uapi.HELLO_MSG_LEN).rstrip(b"\0") != b"Hello ioctl!":
                raise Problem("HELLO wrote something else than its greeting")
        elif name == "TM_PID":
            got = I32.unpack(self.pages.read(addr, 4))[0]
            if got != expected["target"]:
                raise Problem(f"TM_PID({pid_value}) answered {got}, "
                              f"the target is {expected['target']}")

    def check_state(self, where, expected, kthreads):
        now = self.state(kthreads)
        if expected["target"] is None:
            expected["target"] = now["target"]
        if now != expected:
            self.expected = now
            raise Problem(f"{where} changed the state: {expected} -> {now}")
        self.expected = now


def ioctl_fuzz(cfg, slots, report):
    fuzzer = Fuzzer(cfg, slots, report)
    try:
        for _ in range(cfg["iterations"]):
            try:
                fuzzer.case()
            except Problem as e:
                report.problem(str(e))
    finally:
        fuzzer.close()
