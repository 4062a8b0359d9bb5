# SPDX-License-Identifier: GPL-2.0-only
"""tests/vm/find-emulation-crash on a console log of a real crash under TCG
(tests/vm/fixtures/tcg-stale-int3.log, 6.12) and on variants of it that a
real CPU could produce: only the int3 that memory no longer holds, in the
kernel image, is the emulator's.  A host test (harness.host)."""
import pathlib
import subprocess

HERE = pathlib.Path(__file__).resolve().parent
FIND = HERE / "find-emulation-crash"
STALE = HERE / "fixtures" / "tcg-stale-int3.log"


def find(log):
    return subprocess.run([str(FIND), str(log)], capture_output=True, text=True, timeout=60)


def variant(tmp_path, old, new, count=1):
    text = STALE.read_text()
    assert old in text
    log = tmp_path / "console.log"
    log.write_text(text.replace(old, new, count))
    return log


def test_the_stale_int3_of_a_tcg_run_is_found():
    out = find(STALE)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.startswith("Oops: int3: 0000 [#1]")
    assert "__alloc_pages_noprof+0x176/0x310" in out.stdout
    assert "(66 <90>)" in out.stdout


def test_an_int3_still_in_memory_is_the_kernels(tmp_path):
    """The byte before RIP is cc: a real breakpoint, as a CPU would trap."""
    out = find(variant(tmp_path, "66 <90>", "cc <90>"))
    assert out.returncode == 1, out.stdout


def test_an_int3_in_a_module_is_not_excused(tmp_path):
    out = find(variant(tmp_path, "RIP: 0010:__alloc_pages_noprof+0x176/0x310",
                       "RIP: 0010:tm_ring_read+0x17/0x200 [taskmonitor]"))
    assert out.returncode == 1, out.stdout


def test_the_6_1_wording_is_found(tmp_path):
    out = find(variant(tmp_path, "Oops: int3: 0000", "int3: 0000"))
    assert out.returncode == 0, out.stdout + out.stderr


def test_another_oops_first_is_not_excused(tmp_path):
    text = STALE.read_text()
    log = tmp_path / "console.log"
    null = "[  190.000000] BUG: kernel NULL pointer dereference, address: 0000000000000008\n"
    log.write_text(null + text)
    out = find(log)
    assert out.returncode == 1, out.stdout


def test_a_clean_log_and_a_missing_one(tmp_path):
    assert find(HERE / "fixtures" / "clean.log").returncode == 1
    out = find(tmp_path / "missing.log")
    assert out.returncode == 2
    assert "cannot read" in out.stderr
