"""kmemleak after everything: run last on the sanitizer kernel, once every
suite has loaded, used and unloaded the modules (tests/sanitizer/run-guest).

kmemleak reports a block no pointer refers to any more.  Two scans, some
seconds apart, let it settle (a block must be unreferenced in a scan and
older than its minimum age).  A leak is ours when its backtrace names one
of our modules, holds an address in the module area that no module owns
any more (our modules are unloaded by now: their frames print as bare
addresses), or allocated a struct pid (alloc_pid): the module is the one
thing in the VM that holds pid references past a process's exit.  Other
leaks (the rest of the kernel's) are listed but do not fail the test.

KNOWN are leaks inside the kernel that our fault injection provokes, with
the reason; they are counted apart and never count as ours.
"""
import json
import os
import pathlib
import re
import subprocess
import time

import pytest

KMEMLEAK = pathlib.Path("/sys/kernel/debug/kmemleak")
# In a record's backtrace (its hex dump may show any bytes, our names too):
# a symbol of our modules, a bare address in the module area (x86_64:
# 0xffffffffa0000000 up; our unloaded code prints so), or alloc_pid.
OURS = re.compile(r"^\s*\[<[0-9a-f]+>\] (?:0xffffffff[a-f][0-9a-f]{7}$"
                  r"|.*\[(?:taskmonitor|hellosysfs|helloioctl|squatter)\]$|alloc_pid\+)", re.M)
MODULES = ("taskmonitor", "helloioctl", "hellosysfs", "squatter")
KNOWN = [
    # Linux 6.1, drivers/base/class.c: when kset_register() fails (here:
    # squat=class holds the name, EEXIST), __class_register() kfree()s its
    # subsys_private without kfree_const() of the name kobject_set_name()
    # allocated: 16 bytes per failed class_create(), whoever the caller.
    ("6.1's __class_register() leaks the class name when the class exists",
     re.compile(r"kobject_set_name.*\n(?:.*\n)*?.*__class_register.*\n.*__class_create")),
]


@pytest.fixture(scope="module")
def kmemleak():
    if not KMEMLEAK.parent.is_dir() or not os.listdir(KMEMLEAK.parent):
        subprocess.run(["mount", "-t", "debugfs", "none", str(KMEMLEAK.parent)], check=False)
    if not KMEMLEAK.exists():
        pytest.skip("this kernel has no kmemleak (CONFIG_DEBUG_KMEMLEAK): "
                    "only the sanitizer kernel runs this test")
    return KMEMLEAK


def _backtrace(record: str) -> str:
    return record.split("backtrace:", 1)[-1]


def _records(text: str):
    return [r for r in re.split(r"(?m)^(?=unreferenced object )", text) if r.strip()]


def test_no_leak_after_unloading_everything(kmemleak):
    loaded = [m for m in MODULES if pathlib.Path("/sys/module", m).is_dir()]
    assert loaded == [], "run this after every suite, with our modules unloaded"
    for _ in range(2):
        kmemleak.write_text("scan")
        time.sleep(5)
    records = _records(kmemleak.read_text())
    known = {}
    for reason, pattern in KNOWN:
        known[reason] = [r for r in records if pattern.search(r)]
    explained = [r for rs in known.values() for r in rs]
    ours = [r for r in records if OURS.search(_backtrace(r)) and r not in explained]
    out = os.environ.get("TASKMON_KMEMLEAK_REPORT")
    if out:
        pathlib.Path(out).write_text(json.dumps(
            {"leaks": len(records), "ours": len(ours),
             "known": {k: len(v) for k, v in known.items()}, "records": records},
            indent=2) + "\n")
    print(f"kmemleak: {len(records)} unreferenced objects, {len(ours)} of them ours")
    for reason, rs in known.items():
        print(f"kmemleak: {len(rs)} known kernel leaks: {reason}")
    for record in records[:10]:
        print(record)
    assert ours == [], f"{len(ours)} leaks of ours:\n" + "\n".join(ours[:5])
