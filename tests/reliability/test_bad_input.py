"""Bad input: ioctl fuzzing, random sysfs writes, bad module parameters.

Every case must get a clear error (or the documented success), crash
nothing, and leave the state as it was: a snapshot of everything our
modules show (target, kthreads, hello value, files, devices) is compared
before and after.  API misuse from C++ and Python is covered by the
libtaskmon and Python suites that run in the same VM (tests/libtaskmon/vm
test_errors.cpp, tests/python test_vm_monitor.py and test_api_host.py).
"""
import errno
import json
import os
import random
import subprocess

import pytest

import harness
from harness import kmod, tmdev, uapi
from worker import OPS

FUZZ_IOCTLS = int(os.environ.get("TASKMON_FUZZ_IOCTLS", "2000"))
FUZZ_WRITES = int(os.environ.get("TASKMON_FUZZ_WRITES", "300"))


@pytest.fixture
def pool(busy):
    procs = [busy()] + [subprocess.Popen(["sleep", "600"]) for _ in range(2)]
    yield [p.pid for p in procs]
    for proc in procs[1:]:
        proc.kill()
        proc.wait()


def test_ioctl_fuzz(load, pool, kmsg, figures, seed):
    """Random requests (our type 'N' with every direction and size, other
    types, the VFS's own), with NULL, low, kernel-space, non-canonical,
    read-only, no-access and page-straddling pointers, on /dev/taskmonitor,
    /dev/hello and both sysfs files."""
    load("hellosysfs")
    load("helloioctl")
    load("taskmonitor", f"target={pool[0]}")
    before = harness.snapshot()
    slots = harness.Slots(f"/dev/shm/taskmon-fuzz-{os.getpid()}", 1)
    worker = harness.spawn_worker("fuzz", json.dumps(
        {"slots": slots.path, "first_slot": 0, "seed": f"{seed}:fuzz", "iterations": FUZZ_IOCTLS,
         "pool": pool, "dead_pid": harness.procs.unused_pid()}))
    with harness.Watcher(slots, OPS, kmsg) as watch:
        report = harness.collect(worker, FUZZ_IOCTLS * 0.5 + 2 * harness.DEADLINE + 60)
    os.unlink(slots.path)
    for key, count in report["extra"].items():
        figures.add("bad input", f"ioctl {key}:", count)
    for outcome, count in report["counts"].get("ioctl fuzz case", {}).items():
        figures.add("bad input", f"ioctl answer {outcome}:", count)
    figures.add("bad input", "bad inputs tried", FUZZ_IOCTLS)
    figures.add("bad input", "failures", report["problem_count"] + len(watch.violations))
    print(f"ioctl fuzz: {FUZZ_IOCTLS} cases, answers {report['counts'].get('ioctl fuzz case')}, "
          f"{report['problem_count']} problems")
    assert watch.violations == []
    assert report["problems"] == []
    # The target may have been switched within the pool, and the kthread
    # started or stopped; everything else is as it was.
    after = harness.snapshot()
    assert after["target"] in pool
    assert after["kthreads"] in (0, 1)
    for key in ("loaded", "nodes", "chrdevs", "hello", "greeting"):
        assert after[key] == before[key], key


def _random_bytes(rng, page):
    """Random bytes of a random length up to a page, often near a word."""
    kind = rng.randrange(6)
    if kind == 0:
        return bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 2, 5, 6, 63, 64, 65])))
    if kind == 1:
        word = rng.choice([b"start", b"stop", b"dude", b""])
        junk = rng.choice([b"\n", b"\n\n", b"\0", b"\0junk", b" ", b"x", b"\t", b"\r\n"])
        return rng.choice([word + junk, junk + word, word.upper(), word[:-1]])
    if kind == 2:
        return b"a" * rng.choice([63, 64, 65, 100, page - 1, page])
    length = rng.choice([rng.randrange(1, 80), rng.randrange(1, page + 1)])
    return os.urandom(length)


def _hello_expected(data: bytes, old: bytes):
    """(errno or None, the value afterwards) of a write to /sys/kernel/hello."""
    if not data:
        return None, old  # a zero-length write never reaches store()
    name = data[:-1] if data.endswith(b"\n") else data
    if not name or len(name) > 64 or b"\0" in name:
        return errno.EINVAL, old
    return None, b"Hello " + name + b"!\n"


def _streq(data: bytes, word: bytes) -> bool:
    """sysfs_streq(): equal as C strings, ignoring one trailing newline."""
    text = data.split(b"\0", 1)[0]
    return text in (word, word + b"\n")


def _write(path, data: bytes) -> int:
    fd = os.open(path, os.O_WRONLY)
    try:
        return os.write(fd, data)
    finally:
        os.close(fd)


def test_sysfs_random_writes(load, pool, figures, seed):
    """Random bytes and lengths up to a page into /sys/kernel/hello and
    /sys/kernel/taskmonitor: EINVAL and the value kept, or exactly the
    documented effect."""
    rng = random.Random(seed)
    page = os.sysconf("SC_PAGE_SIZE")
    load("hellosysfs")
    load("taskmonitor", f"target={pool[0]}")
    problems, refused = [], 0
    for _ in range(FUZZ_WRITES):
        data = _random_bytes(rng, page)
        path = rng.choice([harness.HELLO_SYSFS, tmdev.SYSFS])
        before = harness.snapshot()
        if path == harness.HELLO_SYSFS:
            expected_errno, value = _hello_expected(data, before["hello"])
            expected = dict(before, hello=value)
        elif not data:
            expected_errno, expected = None, before
        elif _streq(data, b"start"):
            expected_errno, expected = None, dict(before, kthreads=1)
        elif _streq(data, b"stop"):
            expected_errno, expected = None, dict(before, kthreads=0)
        else:
            expected_errno, expected = errno.EINVAL, before
        try:
            written = harness.call_with_deadline(_write, path, data, what=f"write to {path}")
            got = None
        except OSError as e:
            got = e.errno
            refused += 1
        after = harness.snapshot()
        if got != expected_errno or (got is None and written != len(data)) or after != expected:
            problems.append(f"{path} <- {data[:80]!r} ({len(data)} bytes): "
                            f"{errno.errorcode.get(got, got)}, expected "
                            f"{errno.errorcode.get(expected_errno, expected_errno)}; "
                            f"state {before} -> {after}")
    figures.add("bad input", "bad inputs tried", FUZZ_WRITES)
    figures.add("bad input", "sysfs writes: refused (EINVAL):", refused)
    figures.add("bad input", "sysfs writes: accepted:", FUZZ_WRITES - refused)
    figures.add("bad input", "failures", len(problems))
    print(f"sysfs fuzz: {FUZZ_WRITES} writes, {refused} refused, {len(problems)} problems")
    assert problems == []


BAD_PARAMS = ["target=-1", "target=-2147483648", "target=99999999999",
              "target=4294967297", "target=abc", "target=", "target=1x", "target=0x",
              "target=1.5", "target=--1", "target=" + "9" * 300]


@pytest.mark.parametrize("params", BAD_PARAMS)
def test_bad_module_parameter(params, kmsg, figures):
    """Negative, huge and not-a-number targets: the load is refused with
    EINVAL and one log line naming the parameter; nothing is left."""
    with pytest.raises(OSError) as e:
        kmod.load(harness.ko_path("taskmonitor"), params)
    assert e.value.errno == errno.EINVAL
    figures.add("bad input", "bad inputs tried", 1)
    shown = params.split("=", 1)[1][:20]
    lines = kmsg.wait_for(r"taskmonitor: target=.* is not a pid", timeout=harness.DEADLINE)
    assert any(shown in line for line in lines), lines
    assert harness.snapshot() == harness.NOTHING_LEFT


def test_unknown_module_parameter(kmsg, figures):
    """A parameter the module does not have is not an error to the module
    loader: the module loads idle, and the loader logs that it ignored it."""
    kmod.load(harness.ko_path("taskmonitor"), "targte=1")
    figures.add("bad input", "bad inputs tried", 1)
    kmsg.wait_for(r"taskmonitor: unknown parameter 'targte' ignored", timeout=harness.DEADLINE)
    with tmdev.Device() as dev, pytest.raises(OSError) as e:
        dev.pid(-1)
    assert e.value.errno == errno.ENODATA
    kmod.unload("taskmonitor")


def test_hello_ioctl_device_with_bad_pointers(load, figures):
    """HELLO into NULL, kernel space and read-only memory: EFAULT, and the
    device answers normally afterwards."""
    load("helloioctl")
    pages = harness.Pages()
    fd = os.open(harness.HELLO_DEV, os.O_RDONLY)
    try:
        for addr in (0, 0xffffffff81000000, pages.ro, pages.none - 1, pages.none):
            with pytest.raises(OSError) as e:
                uapi.raw_ioctl(fd, uapi.HELLO, addr)
            assert e.value.errno == errno.EFAULT, hex(addr)
            figures.add("bad input", "bad inputs tried", 1)
        uapi.raw_ioctl(fd, uapi.HELLO, pages.rw)
        assert pages.read(pages.rw, 13) == b"Hello ioctl!\0"
    finally:
        os.close(fd)
