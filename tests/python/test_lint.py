# SPDX-License-Identifier: GPL-2.0-only
"""Style of the Python sources: pyflakes and pycodestyle (lines up to 100;
the stub _ext.pyi follows typeshed's style instead, and stubtest checks it).

Marked lint: CTest runs these as python.lint (labels host;lint), apart from
the functional tests, and a Debian package build skips them."""
import importlib.util
import os
import pathlib
import subprocess
import sys

import pytest

import required  # tests/pylib (conftest.py puts it on sys.path)

pytestmark = [
    pytest.mark.lint,
    pytest.mark.skipif(os.environ.get("TASKMON_IN_VM") == "1",
                       reason="a static check: run on the host only"),
]

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
# Not the copies a build of the Python package leaves in bindings/python
# (build/lib/taskmon/*.py; native/, dist/), README.md "Python package".
PACKAGE_SOURCES = [p for p in (ROOT / "bindings/python").rglob("*.py")
                   if not {"build", "dist", "native"} & set(p.relative_to(ROOT).parts)]
SOURCES = sorted(str(p) for p in [*PACKAGE_SOURCES,
                                  *(ROOT / "tests/python").glob("*.py"),
                                  *(ROOT / "tests/pylib").glob("*.py"),
                                  *(ROOT / "tests/vm").glob("*.py"),
                                  *(ROOT / "bench").rglob("*.py")])


def _tool(module):
    required.tool(importlib.util.find_spec(module) is not None,
                  f"{module} is not installed (apt-get install python3-pyflakes pycodestyle)")


def test_pyflakes():
    _tool("pyflakes")
    out = subprocess.run([sys.executable, "-m", "pyflakes", *SOURCES],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_pycodestyle():
    _tool("pycodestyle")
    out = subprocess.run([sys.executable, "-m", "pycodestyle", "--max-line-length=100",
                          *SOURCES],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
