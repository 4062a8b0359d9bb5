"""ioctl fuzzing of /dev/taskmonitor, /dev/hello and the sysfs files.

Runs in a worker process (worker.py fuzz), one case after another, each
posted in its slot so that the test fails a call that never returns.
Every case predicts its outcome (errno, or success with the answer it must
give) and the state it must leave (target, kthread count, hello value):
random request numbers must give ENOTTY, bad pointers EFAULT, and nothing
may change that the request did not ask to change.  TM_STATS and
TM_STATS_BATCH get cases of their own (stats_case): random sizes, tails,
flags, counts and pointers, answered with 0, EINVAL, E2BIG, EFAULT, ESRCH
or ENODATA only.
"""
import errno
import os
import ctypes
import random
import struct

import harness
from harness import tmdev, uapi
from worker import OP, Problem, check_failed_record, check_line, check_stats, errname
import stats_uapi as su  # tests/kernel, put on sys.path by harness

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
# Struct sizes of TM_STATS: none, one short, the struct, one more, a page
# (the largest taken) and one more.
STATS_SIZES = [0, su.SIZE_VER0 - 1, su.SIZE_VER0, su.SIZE_VER0 + 1, harness.PAGE,
               harness.PAGE + 1]
STATS_ERRNOS = {0, errno.EINVAL, errno.E2BIG, errno.EFAULT, errno.ESRCH, errno.ENODATA}

DEVICES = {
    "taskmonitor": (tmdev.DEV, {"TM_GET": 16, "TM_GET_TEXT": uapi.TM_TEXT_LEN,
                                "TM_START": 0, "TM_STOP": 0, "TM_PID": 4,
                                "TM_STATS": 0, "TM_STATS_BATCH": 0}),
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
            nr = self.rng.choice([0x01, 0x10, 0x11, 0x12, 0x13, 0x14, self.rng.randrange(256)])
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
        if self.rng.random() < 0.15:
            # The statistics requests have the most arguments: more cases.
            return self.stats_case(self.rng.choice(["TM_STATS", "TM_STATS_BATCH"]))
        device = self.rng.choice(sorted(DEVICES))
        fd = self.fds[device]
        code, name, kind = self.request(device)
        if name in ("TM_STATS", "TM_STATS_BATCH"):
            return self.stats_case(name)
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
        size = rng.choice(STATS_SIZES + [su.SIZE_VER0, su.SIZE_VER0 + 1, harness.PAGE])
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

    def pid_outcome(self, pid):
        """The errno a query of pid must give: 0, an errno, or None (either
        0 or ESRCH: a random pid)."""
        if pid < 0:
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
        valid = su.SIZE_VER0 <= size <= harness.PAGE and not flags & ~su.TM_STATS_THREAD
        pids, outcomes = [], []
        count = records = None
        if name == "TM_STATS":
            pids = [self.stats_pid()]
            rec = bytes(su.make_record(pids[0], flags, size, tail or b""))[:max(size, su.SIZE_VER0)]
            bad = rng.random() < 0.1
            if bad:
                addr, writable = rng.choice(KERNEL_POINTERS + LOW_POINTERS), False
                expected = {errno.EFAULT}
            else:
                addr, writable = self.place(rec, keep)
                outcome = self.pid_outcome(pids[0])
                if not valid:
                    expected = {errno.EINVAL}
                elif tail:
                    expected = {errno.E2BIG}
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
            stride = max(size, su.SIZE_VER0) if valid else su.SIZE_VER0
            tails = [tail if rng.random() < 0.5 else None for _ in pids]
            data = b"".join(bytes(su.make_record(p, rng.getrandbits(32), size if valid else
                                                 su.SIZE_VER0, t or b""))[:stride]
                            for p, t in zip(pids, tails))
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
            elif not valid or reserved or not count:
                expected = {errno.EINVAL}
            elif count > su.BATCH_MAX:
                expected = {errno.E2BIG}
            elif not writable:
                expected = {errno.EFAULT}   # the first record cannot be answered
            else:
                expected = {0}
                outcomes = [errno.E2BIG if t else self.pid_outcome(p) for p, t in zip(pids, tails)]

        self.report.extra[f"taskmonitor: {name} case"] += 1
        with self.slots.call(self.slot, OP["ioctl fuzz case"]):
            try:
                harness.uapi.raw_ioctl(fd, su.TM_STATS if name == "TM_STATS" else su.TM_STATS_BATCH,
                                       addr)
                got = 0
            except OSError as e:
                got = e.errno
        where = (f"ioctl(taskmonitor, {name}, size {size}, flags {flags:#x}, "
                 f"{'tail' if tail else 'no tail'}, pids {pids}, count {count}, "
                 f"records {records if records is None else hex(records)}, {addr:#x})")
        self.report.outcome("ioctl fuzz case", "ok" if got == 0 else errno.errorcode[got])
        if got not in STATS_ERRNOS or got not in expected:
            raise Problem(f"{where}: {'success' if not got else errno.errorcode[got]}, expected "
                          f"{sorted(errno.errorcode.get(e, 'success') for e in expected)}")
        if got == 0 and name == "TM_STATS" and self.pid_outcome(pids[0]) is not None:
            # (A random pid may be a thread's, or a kernel thread: only
            # the pool and the target are checked.)
            rec = su.Stats.from_buffer_copy(self.pages.read(addr, su.SIZE_VER0))
            check_stats(rec, pids[0], flags, size, self.pool + [self.expected["target"]])
        elif got == 0:
            for i, (pid, outcome) in enumerate(zip(pids, outcomes)):
                rec = su.Stats.from_buffer_copy(self.pages.read(records + i * stride, su.SIZE_VER0))
                if outcome is None:  # a random pid: ESRCH, or not checked
                    if not rec.error:
                        continue
                    outcome = errno.ESRCH
                if outcome:
                    check_failed_record(rec, pid, flags, size, outcome)
                else:
                    check_stats(rec, pid, flags, size, self.pool + [self.expected["target"]])
        del keep
        self.cases += 1
        self.check_state(where, dict(self.expected), self.cases % KTHREAD_EVERY == 0)

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
