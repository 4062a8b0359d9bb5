"""Worker processes of the reliability suites.

    python3 worker.py MODE CONFIG_JSON

Each worker runs its threads for a bounded time, posting every call it
makes into the shared Slots table (harness.Slots, at CONFIG["slots"]) so
that the test process can fail a call that never returns; it prints one
JSON report on stdout: counts per operation and outcome, and the problems
it saw (unexpected errors, malformed answers).

Modes:
  stress   every request of every interface (TM_STATS and TM_STATS_BATCH
           too), at random, from many threads
  churn    spawn targets that exit at every moment, pointing TM_PID at them
  sample   take samples of whatever the target is; only ESRCH/ENODATA or a
           valid sample are allowed
  sysfs    loop over the sysfs files (reads, and start/stop writes) while
           the modules are unloaded and loaded under it
  devloop  open /dev/taskmonitor and /dev/hello, one request, close, until
           the stop file appears, while the modules are unloaded and loaded
  fuzz     ioctl fuzzing (see fuzz.py)
"""
import collections
import ctypes
import errno
import fcntl
import json
import os
import random
import signal
import sys
import threading
import time

import harness
from harness import tmdev, uapi
import stats_uapi as su  # tests/kernel, put on sys.path by harness

OPS = [
    "ioctl TM_START", "ioctl TM_STOP", "sysfs start", "sysfs stop",
    "ioctl TM_PID set", "ioctl TM_PID get", "ioctl TM_GET", "ioctl TM_GET_TEXT",
    "sysfs read", "hello sysfs write", "hello sysfs read", "ioctl HELLO",
    "open+close /dev/taskmonitor", "fork target", "kill target", "reap target",
    "ioctl fuzz case", "sysfs open", "hello sysfs open",
    "ioctl TM_STATS pid", "ioctl TM_STATS 0", "ioctl TM_STATS_BATCH",
]
OP = {name: i for i, name in enumerate(OPS)}
STRESS_OPS = OPS[:13] + OPS[19:22]
MAX_PROBLEMS = 20
SANE_NS = 10**15  # 11 days of CPU time: more in a test VM is garbage


class Problem(Exception):
    """An answer that breaks the interface's contract."""


def errname(e: OSError) -> str:
    return errno.errorcode.get(e.errno, str(e.errno))


class Report:
    def __init__(self):
        self.counts = collections.defaultdict(collections.Counter)
        self.problems = []
        self.problem_count = 0
        self.extra = collections.Counter()
        self.lock = threading.Lock()

    def outcome(self, op: str, outcome: str):
        with self.lock:
            self.counts[op][outcome] += 1

    def problem(self, text: str):
        with self.lock:
            self.problem_count += 1
            if len(self.problems) < MAX_PROBLEMS:
                self.problems.append(text)

    def dump(self):
        json.dump({"counts": {k: dict(v) for k, v in self.counts.items()},
                   "problems": self.problems, "problem_count": self.problem_count,
                   "extra": dict(self.extra)}, sys.stdout)


def run_call(report, slots, slot, op, fn, allowed=()):
    """One call, posted in its slot; ESRCH etc. only if listed in allowed."""
    with slots.call(slot, OP[op]):
        try:
            result = fn()
        except OSError as e:
            name = errname(e)
            report.outcome(op, name)
            if e.errno not in allowed:
                report.problem(f"{op}: unexpected {name} ({e.strerror})")
            return None
        except Problem as e:
            report.outcome(op, "bad answer")
            report.problem(f"{op}: {e}")
            return None
    report.outcome(op, "ok")
    return result


# ---- checks of the answers ----

def check_line(line: str, pids) -> tuple:
    m = tmdev.LINE.match(line)
    if not m:
        raise Problem(f"not a sample line: {line!r}")
    pid, utime, stime = (int(g) for g in m.groups())
    if pids is not None and pid not in pids:
        raise Problem(f"sample of pid {pid}, which was never a target: {line!r}")
    if utime > SANE_NS or stime > SANE_NS:
        raise Problem(f"impossible CPU time: {line!r}")
    return pid, utime, stime


def check_sample(sample) -> tuple:
    if sample[0] > SANE_NS or sample[1] > SANE_NS:
        raise Problem(f"impossible CPU time: {sample}")
    return sample


# The figures of TM_STATS: those of each mask bit, zero when it is clear.
STATS_FIELDS = {
    "TM_STATS_PPID": ("ppid",), "TM_STATS_STATE": ("state",), "TM_STATS_THREADS": ("threads",),
    "TM_STATS_COMM": ("comm",), "TM_STATS_CREDS": ("uid", "euid", "gid", "egid"),
    "TM_STATS_CPU": ("user_ns", "system_ns"), "TM_STATS_FAULTS": ("minor_faults", "major_faults"),
    "TM_STATS_CTXSW": ("voluntary_ctxsw", "involuntary_ctxsw"),
    "TM_STATS_RSS": ("rss_anon_bytes", "rss_file_bytes", "rss_shmem_bytes"),
    "TM_STATS_VSIZE": ("vsize_bytes",), "TM_STATS_START_TIME": ("start_time_ns",),
    "TM_STATS_SAMPLE_TIME": ("sample_time_ns",),
}
# Filled whatever the mask asks, for a process the caller can see (the
# virtual size too, for one with memory).
STATS_ALWAYS = su.CHEAP_BITS & ~su.BITS["TM_STATS_VSIZE"]
RSS = su.BITS["TM_STATS_RSS"]
VSIZE = su.BITS["TM_STATS_VSIZE"]


def check_mask(what, mask, asked, memory):
    """@mask out against @mask in (asked): the cheap groups always; the
    walk's three groups all when one was asked, none when none was; RSS
    only when asked (and then with the virtual size, for a process with
    memory).  A mask of unknown bits only: taskmon.h does not say whether
    it asks for no group or for every one, so either is taken."""
    want = asked & su.MASK_ALL if asked else su.MASK_ALL
    if mask & ~su.MASK_ALL or mask & STATS_ALWAYS != STATS_ALWAYS:
        raise Problem(f"{what}: mask {mask:#x} (asked {asked:#x})")
    walk = mask & su.WALK_BITS
    if asked and not want:
        walk_ok = walk in (0, su.WALK_BITS)
        rss_ok = True
    else:
        walk_ok = walk == (su.WALK_BITS if want & su.WALK_BITS else 0)
        rss_ok = not mask & RSS or want & RSS
    if not walk_ok or not rss_ok:
        raise Problem(f"{what}: mask {mask:#x} for groups {asked:#x}")
    if mask & RSS and not mask & VSIZE:
        raise Problem(f"{what}: RSS without the virtual size, mask {mask:#x}")
    if memory and not mask & VSIZE or memory and want & RSS and not mask & RSS:
        raise Problem(f"{what}: a live process without memory, mask {mask:#x} "
                      f"(asked {asked:#x})")


def check_stats(rec, pid, flags, size, pids, memory=False, asked=0):
    """A record TM_STATS or TM_STATS_BATCH filled: its size and flags
    written back, the asked pid (pid 0: one of pids, the targets, if
    pids is not None), tgid ==
    pid in process scope, a consistent mask for the groups asked and
    zeros where it is clear.  memory: the process must have an address
    space (a live user process)."""
    what = f"TM_STATS(pid {pid}, flags {flags:#x}, size {size}, mask {asked:#x})"
    if rec.size != size or rec.flags != flags or rec.error:
        raise Problem(f"{what}: size {rec.size}, flags {rec.flags:#x}, error {rec.error}")
    if (pid and rec.pid != pid) or (not pid and (rec.pid <= 0 or
                                                 (pids is not None and rec.pid not in pids))):
        raise Problem(f"{what}: answered for pid {rec.pid}")
    check_mask(what, rec.mask, asked, memory)
    for bit, fields in STATS_FIELDS.items():
        if not rec.mask & su.BITS[bit] and any(getattr(rec, f) for f in fields):
            raise Problem(f"{what}: {bit} clear, but {fields} not zero")
    if not flags & su.TM_STATS_THREAD and rec.tgid != rec.pid:
        raise Problem(f"{what}: process scope, but tgid {rec.tgid} != pid {rec.pid}")
    # A zombie counts no thread (as /proc/PID/stat shows it); others at least one.
    if (rec.threads < 1 and chr(rec.state) not in "ZX") or rec.user_ns > SANE_NS \
            or rec.system_ns > SANE_NS:
        raise Problem(f"{what}: {rec.threads} threads in state {chr(rec.state)!r}, "
                      f"usr {rec.user_ns} sys {rec.system_ns}")
    return rec


def check_failed_record(rec, pid, flags, size, error):
    """A failed batch record keeps its size, flags and pid, has its error,
    and nothing else."""
    what = f"TM_STATS_BATCH record (pid {pid})"
    if rec.error != -error:
        raise Problem(f"{what}: error {rec.error}, expected {-error}")
    if (rec.size, rec.flags, rec.pid) != (size, flags, pid):
        raise Problem(f"{what}: size {rec.size} flags {rec.flags:#x} pid {rec.pid}")
    if rec.mask or bytes(rec)[24:] != bytes(su.SIZE_VER0 - 24):
        raise Problem(f"{what}: failed with {error}, yet filled")


def stats_batch(fd, rng, pool, dead, targets):
    """TM_STATS_BATCH over pool pids, an exited one, invalid ones and 0 (the
    target); every record checked against what its pid must give."""
    pids = [rng.choice(pool + [dead, -1, -rng.randrange(1, 1 << 31), 0])
            for _ in range(rng.randint(1, 8))]
    flags = rng.choice([0, su.TM_STATS_THREAD])
    masks = [random_mask(rng) for _ in pids]
    records, _ = su.batch(fd, pids, flags=flags, masks=masks)
    for pid, rec, asked in zip(pids, records, masks):
        if pid < 0 or asked & su.RESERVED:
            check_failed_record(rec, pid, flags, su.SIZE_VER0, errno.EINVAL)
        elif pid == dead:
            check_failed_record(rec, pid, flags, su.SIZE_VER0, errno.ESRCH)
        elif pid == 0 and rec.error:
            # No target (ENODATA) or one that has exited (ESRCH).
            error = -rec.error if -rec.error in (errno.ENODATA, errno.ESRCH) else errno.ENODATA
            check_failed_record(rec, pid, flags, su.SIZE_VER0, error)
        else:
            check_stats(rec, pid, flags, su.SIZE_VER0, targets, memory=pid != 0, asked=asked)


def random_mask(rng, reserved: float = 0.05) -> int:
    """A request mask: 0 (every group) often, else known groups, unknown
    bits, or (rarely) TM_STATS__RESERVED."""
    kind = rng.random()
    if kind < reserved:
        return su.RESERVED | rng.getrandbits(63)
    if kind < 0.4:
        return 0
    if kind < 0.8:
        return rng.getrandbits(13)
    if kind < 0.9:
        return rng.getrandbits(13) | rng.getrandbits(50) << 13
    return rng.choice([su.MASK_ALL, su.BITS["TM_STATS_CPU"], su.BITS["TM_STATS_RSS"],
                       su.BITS["TM_STATS_IDS"] | su.BITS["TM_STATS_COMM"]])


def hello_read() -> bytes:
    return harness.HELLO_SYSFS.read_bytes()


def hello_write(name: bytes):
    fd = os.open(harness.HELLO_SYSFS, os.O_WRONLY)
    try:
        written = os.write(fd, name)
    finally:
        os.close(fd)
    if written != len(name):
        raise Problem(f"wrote {written} of {len(name)} bytes")


def hello_ioctl() -> bytes:
    buf = bytearray(uapi.HELLO_MSG_LEN)
    fd = os.open(harness.HELLO_DEV, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, uapi.HELLO, buf)
    finally:
        os.close(fd)
    if bytes(buf) != b"Hello ioctl!".ljust(uapi.HELLO_MSG_LEN, b"\0"):
        raise Problem(f"HELLO gave {bytes(buf)!r}")
    return bytes(buf)


class Monotonic:
    """Per target pid, successive samples seen by one thread never go back."""

    def __init__(self):
        self.last = {}

    def check(self, pid, utime, stime):
        old = self.last.get(pid)
        if old and (utime < old[0] or stime < old[1]):
            raise Problem(f"pid {pid}: CPU time went back from usr {old[0]} sys {old[1]} "
                          f"to usr {utime} sys {stime}")
        self.last[pid] = (utime, stime)


# ---- stress ----

def stress_thread(cfg, slots, slot, rng, report):
    pool, dead, names = cfg["pool"], cfg["dead_pid"], [n.encode() for n in cfg["names"]]
    greetings = {b"Hello " + n + b"!\n" for n in names + [b"sysfs"]}
    end = time.monotonic() + cfg["seconds"]
    seen = Monotonic()

    def read_text(fn):
        pid, u, s = check_line(fn(), set(pool))
        seen.check(pid, u, s)

    def tm_pid_set(dev, nr):
        got = dev.pid(nr)
        if got != nr:
            raise Problem(f"TM_PID({nr}) answered {got}")

    def tm_pid_get(dev):
        # The pool lives as long as the run: its target is never reaped
        # (a reaped target would be ESRCH).
        got = dev.pid(-1)
        if got not in pool:
            raise Problem(f"TM_PID(-1) answered {got}, not a target of this run")

    def tm_stats_pid(dev):
        # Now and then the dead pid: ESRCH, the only refusal allowed.
        nr = dead if rng.random() < 0.1 else rng.choice(pool)
        flags = rng.choice([0, su.TM_STATS_THREAD])
        asked = random_mask(rng, reserved=0)
        try:
            rec = su.stats(dev.fd, nr, flags, mask=asked)
        except OSError as e:
            if e.errno == errno.ESRCH and nr != dead:
                raise Problem(f"TM_STATS(live pid {nr}): ESRCH") from e
            raise
        if nr == dead:
            raise Problem(f"TM_STATS(exited pid {nr}) answered")
        check_stats(rec, nr, flags, su.SIZE_VER0, pool, memory=True, asked=asked)

    def tm_stats_target(dev):
        flags = rng.choice([0, su.TM_STATS_THREAD])
        check_stats(su.stats(dev.fd, 0, flags), 0, flags, su.SIZE_VER0, pool)

    def hello_get():
        text = hello_read()
        if text not in greetings:
            raise Problem(f"/sys/kernel/hello gave {text!r}")

    def open_close():
        tmdev.Device().close()

    with tmdev.Device() as dev:
        actions = {
            "ioctl TM_START": (dev.start, ()),
            "ioctl TM_STOP": (dev.stop, ()),
            "sysfs start": (lambda: tmdev.sysfs_write(rng.choice([b"start", b"start\n"])), ()),
            "sysfs stop": (lambda: tmdev.sysfs_write(rng.choice([b"stop", b"stop\n"])), ()),
            "ioctl TM_GET": (lambda: check_sample(dev.get()), ()),
            "ioctl TM_GET_TEXT": (lambda: read_text(dev.get_text), ()),
            "sysfs read": (lambda: read_text(tmdev.sysfs_read), ()),
            "ioctl TM_PID get": (lambda: tm_pid_get(dev), ()),
            "hello sysfs write": (lambda: hello_write(rng.choice(names) +
                                                      rng.choice([b"", b"\n"])), ()),
            "hello sysfs read": (hello_get, ()),
            "ioctl HELLO": (hello_ioctl, ()),
            "open+close /dev/taskmonitor": (open_close, ()),
            "ioctl TM_STATS pid": (lambda: tm_stats_pid(dev), (errno.ESRCH,)),
            "ioctl TM_STATS 0": (lambda: tm_stats_target(dev), (errno.ENODATA, errno.ESRCH)),
            "ioctl TM_STATS_BATCH": (lambda: stats_batch(dev.fd, rng, pool, dead, pool), ()),
        }
        while time.monotonic() < end:
            op = rng.choice(STRESS_OPS)
            if op == "ioctl TM_PID set":
                # A dead pid must be refused, ESRCH, and the target kept.
                if rng.random() < 0.2:
                    run_call(report, slots, slot, op, lambda: tm_pid_set(dev, dead),
                             allowed=(errno.ESRCH,))
                else:
                    nr = rng.choice(pool)
                    run_call(report, slots, slot, op, lambda: tm_pid_set(dev, nr))
                continue
            fn, allowed = actions[op]
            run_call(report, slots, slot, op, fn, allowed)


# ---- churn: targets exiting at every moment ----

_libc = ctypes.CDLL(None, use_errno=True)
SYS_exit = 60  # x86_64: ends the calling thread only (exit_group ends them all)


def spin(seconds: float):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def thread_exit():
    _libc.syscall(SYS_exit, 0)


def child_body(kind: str, rng: random.Random):
    """What a short-lived target does; never returns."""
    if kind == "exit at once":
        os._exit(0)
    if kind == "spin and exit":
        spin(rng.uniform(0, 0.02))
        os._exit(0)
    if kind == "threads then exit_group":
        for _ in range(rng.randint(1, 3)):
            threading.Thread(target=spin, args=(1.0,), daemon=True).start()
        spin(rng.uniform(0, 0.02))
        os._exit(0)
    if kind == "leader exits first":
        # The leader ends alone (a zombie with live threads: the process still
        # runs), then each thread ends on its own; the last one ends the process.
        for _ in range(rng.randint(1, 3)):
            threading.Thread(target=lambda d=rng.uniform(0, 0.03): (spin(d), thread_exit()),
                             daemon=True).start()
        thread_exit()
    # "killed": spins until the churner's SIGKILL
    for _ in range(rng.randint(0, 2)):
        threading.Thread(target=spin, args=(60,), daemon=True).start()
    spin(60)
    os._exit(1)


CHILD_KINDS = ["exit at once", "spin and exit", "threads then exit_group",
               "leader exits first", "killed"]


def churn(cfg, slots, report):
    rng = random.Random(cfg["seed"])
    slot = cfg["first_slot"]
    end = time.monotonic() + cfg["seconds"]
    unreaped = []
    with tmdev.Device() as dev:
        while time.monotonic() < end:
            kind = rng.choice(CHILD_KINDS)
            with slots.call(slot, OP["fork target"]):
                pid = os.fork()
                if pid == 0:
                    try:
                        child_body(kind, random.Random(rng.random()))
                    finally:
                        os._exit(2)
            report.outcome("fork target", kind)
            # Point the monitor at it at once: it may be running, exiting,
            # a zombie already; ESRCH is the only acceptable refusal.
            run_call(report, slots, slot, "ioctl TM_PID set", lambda: dev.pid(pid),
                     allowed=(errno.ESRCH,))
            if rng.random() < 0.5:
                # ENODATA until a first TM_PID succeeded: the module loads idle.
                run_call(report, slots, slot, "ioctl TM_GET", lambda: check_sample(dev.get()),
                         allowed=(errno.ESRCH, errno.ENODATA))
            time.sleep(rng.uniform(0, 0.01))
            if kind == "killed" or rng.random() < 0.2:
                run_call(report, slots, slot, "kill target", lambda: os.kill(pid, signal.SIGKILL),
                         allowed=(errno.ESRCH,))
                report.extra["targets killed"] += 1
            unreaped.append(pid)
            # Reap some at once, leave others as zombies for a while.
            while unreaped and (len(unreaped) > 4 or rng.random() < 0.6):
                victim = unreaped.pop(0)
                with slots.call(slot, OP["reap target"]):
                    os.waitpid(victim, 0)
            report.extra["targets spawned"] += 1
        for victim in unreaped:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(victim, 0)


def sample_thread(cfg, slots, slot, rng, report):
    end = time.monotonic() + cfg["seconds"]
    seen = Monotonic()
    allowed = (errno.ESRCH, errno.ENODATA)

    def text(fn):
        pid, u, s = check_line(fn(), None)
        seen.check(pid, u, s)

    with tmdev.Device() as dev:
        calls = [("ioctl TM_GET", lambda: check_sample(dev.get())),
                 ("ioctl TM_GET_TEXT", lambda: text(dev.get_text)),
                 ("sysfs read", lambda: text(tmdev.sysfs_read)),
                 ("ioctl TM_PID get", lambda: dev.pid(-1)),
                 # A target being reaped: ESRCH; a zombie: no memory bits.
                 ("ioctl TM_STATS 0",
                  lambda: check_stats(su.stats(dev.fd, 0), 0, 0, su.SIZE_VER0, None))]
        while time.monotonic() < end:
            op, fn = rng.choice(calls)
            run_call(report, slots, slot, op, fn, allowed)


# ---- sysfs files under unload ----

def sysfs_loop(cfg, slots, slot, rng, report):
    """Open, read and write the sysfs files until the stop file appears.

    The files come and go with the modules: ENOENT (no file) and ENODEV (a
    file held open across the unload) are the expected refusals.
    """
    gone = (errno.ENOENT, errno.ENODEV)
    held = {}
    while not os.path.exists(cfg["stop_file"]):
        path = rng.choice([tmdev.SYSFS, harness.HELLO_SYSFS])
        is_tm = path == tmdev.SYSFS
        choice = rng.random()
        if choice < 0.3:
            # Keep a descriptor across unloads and read through it again.
            fd = held.get(path)
            if fd is None:
                fd = run_call(report, slots, slot, "sysfs open" if is_tm else "hello sysfs open",
                              lambda: os.open(path, os.O_RDWR), allowed=gone)
                if fd is None:
                    continue
                held[path] = fd
            op = "sysfs read" if is_tm else "hello sysfs read"
            run_call(report, slots, slot, op, lambda: os.pread(fd, 4096, 0),
                     allowed=gone + ((errno.ESRCH, errno.ENODATA) if is_tm else ()))
            if rng.random() < 0.1:
                os.close(held.pop(path))
        elif choice < 0.7:
            op = "sysfs read" if is_tm else "hello sysfs read"
            run_call(report, slots, slot, op, path.read_bytes,
                     allowed=gone + ((errno.ESRCH, errno.ENODATA) if is_tm else ()))
        elif is_tm:
            word = rng.choice([b"start", b"stop"])
            run_call(report, slots, slot, f"sysfs {word.decode()}",
                     lambda: tmdev.sysfs_write(word), allowed=gone)
        else:
            run_call(report, slots, slot, "hello sysfs write",
                     lambda: hello_write(b"unload"), allowed=gone)
    for fd in held.values():
        os.close(fd)


def dev_loop(cfg, slots, slot, rng, report):
    """Open a device, make one request, close it, until the stop file appears.

    The devices come and go with the modules: ENOENT (no node), ENXIO (a
    node whose major is gone) and ENODEV (a device whose init has not
    finished) are the expected refusals of open(); a request on an open
    file must succeed (ENODATA/ESRCH when there is no live target).
    """
    gone = (errno.ENOENT, errno.ENXIO, errno.ENODEV)

    def one(path, request):
        fd = os.open(path, os.O_RDWR)
        try:
            request(fd)
        finally:
            os.close(fd)

    def tm_get(fd):
        sample = uapi.TaskSample()
        try:
            fcntl.ioctl(fd, uapi.TM_GET, sample)
        except OSError as e:
            if e.errno not in (errno.ENODATA, errno.ESRCH):
                raise

    def tm_toggle(fd):
        fcntl.ioctl(fd, rng.choice([uapi.TM_START, uapi.TM_STOP]))

    def hello(fd):
        fcntl.ioctl(fd, uapi.HELLO, bytearray(uapi.HELLO_MSG_LEN))

    calls = [("ioctl TM_GET", tmdev.DEV, tm_get), ("ioctl TM_START", tmdev.DEV, tm_toggle),
             ("ioctl HELLO", harness.HELLO_DEV, hello)]
    while not os.path.exists(cfg["stop_file"]):
        op, path, request = rng.choice(calls)
        run_call(report, slots, slot, op, lambda: one(path, request), allowed=gone)
        # A pause now and then: with files open all the time, every unload
        # would be refused (EAGAIN) and the test would only measure that.
        time.sleep(rng.uniform(0, 0.004))


def run_threads(cfg, body):
    slots = harness.Slots(cfg["slots"])
    report = Report()
    threads = [threading.Thread(target=body, args=(cfg, slots, cfg["first_slot"] + i,
                                                   random.Random(f"{cfg['seed']}:{i}"), report))
               for i in range(cfg["threads"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return report


def main():
    mode, cfg = sys.argv[1], json.loads(sys.argv[2])
    if mode == "stress":
        report = run_threads(cfg, stress_thread)
    elif mode == "sample":
        report = run_threads(cfg, sample_thread)
    elif mode == "sysfs":
        report = run_threads(cfg, sysfs_loop)
    elif mode == "devloop":
        report = run_threads(cfg, dev_loop)
    elif mode == "churn":
        report = Report()
        churn(cfg, harness.Slots(cfg["slots"]), report)
    elif mode == "fuzz":
        import fuzz
        report = Report()
        fuzz.ioctl_fuzz(cfg, harness.Slots(cfg["slots"]), report)
    else:
        raise SystemExit(f"unknown mode {mode}")
    report.dump()


if __name__ == "__main__":
    main()
