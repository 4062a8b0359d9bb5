# SPDX-License-Identifier: GPL-2.0-only
"""shellcheck over every shell script of the checkout (a host test,
harness.host): each script is a case of its own.  The scripts' own
directives say what they deliberately do; -x follows their `source`s."""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

import required

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
SKIP_DIRS = {".git", "build", "__pycache__"}
SHEBANG = re.compile(rb"^#!\s*\S*(/|env\s+|busybox\s+)(ba|da)?sh\b")


def shell_scripts():
    found = []
    for top, dirs, files in os.walk(ROOT):
        rel_top = pathlib.Path(top).relative_to(ROOT)
        # debian/<package>/: a package build's staging trees
        dirs[:] = sorted(d for d in dirs
                         if d not in SKIP_DIRS and rel_top != pathlib.Path("debian"))
        for name in files:
            rel = rel_top / name
            if name.endswith(".sh"):
                found.append(str(rel))
                continue
            with open(ROOT / rel, "rb") as file:
                if SHEBANG.match(file.readline(200)):
                    found.append(str(rel))
    return sorted(found)


SCRIPTS = shell_scripts()


def test_the_scripts_are_found():
    assert {"scripts/test", "tests/lib.sh", "tests/vm/run-vm", "tests/vm/init"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_shellcheck(script):
    exe = shutil.which("shellcheck")
    required.tool(exe, "shellcheck is not installed (apt-get install shellcheck)")
    out = subprocess.run([exe, "-x", "-P", "SCRIPTDIR", script], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
