# SPDX-License-Identifier: GPL-2.0-only
"""cmake --install puts a working package under lib/python3/dist-packages.

What python3-taskmon ships is this install (component Python) with the
prefix /usr; here a temporary prefix stands in for it, with libtaskmon
(component Runtime) installed beside it.  The pip way (the sdist and the
wheel of pyproject.toml) is test_sdist.py's."""
import os
import pathlib
import re
import subprocess
import sys
import sysconfig

import pytest

import taskmon

BUILD = pathlib.Path(taskmon.__file__).resolve().parent.parent.parent.parent
CACHE = BUILD / "CMakeCache.txt"


def _cache(name):
    match = re.search(rf"^{name}:\w+=(.*)$", CACHE.read_text(), re.M)
    return match.group(1) if match else None


# The default (Debian's directory for the default python3), unless the build
# was configured with another -DTASKMON_PYTHON_INSTALL_DIR.
SITE = (_cache("TASKMON_PYTHON_INSTALL_DIR") if CACHE.exists() else None) or \
    "lib/python3/dist-packages"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if not CACHE.exists():
        pytest.skip("taskmon was not imported from a CMake build tree")
    if not os.access(BUILD, os.W_OK):  # the test VM sees the checkout read-only
        pytest.skip("a build test: cmake --install writes its manifest into the build tree, "
                    "which is read-only here")
    prefix = tmp_path_factory.mktemp("prefix")
    cmake = _cache("CMAKE_COMMAND") or "cmake"
    for component in ("Python", "Runtime"):
        out = subprocess.run([cmake, "--install", str(BUILD), "--prefix", str(prefix),
                              "--component", component], capture_output=True, text=True)
        assert out.returncode == 0, out.stdout + out.stderr
    return prefix


def test_layout(installed):
    pkg = installed / SITE / "taskmon"
    names = sorted(p.name for p in pkg.iterdir())
    assert [n for n in names if n.endswith(".so")] == [
        "_ext" + sysconfig.get_config_var("EXT_SUFFIX")]
    for name in ("__init__.py", "__main__.py", "_device.py", "_errors.py",
                 "_ext.pyi", "py.typed"):
        assert name in names


def test_installed_package_imports_and_uses_the_installed_library(installed):
    site = installed / SITE
    code = ("import taskmon, sys\n"
            "print(taskmon.__file__)\n"
            "print(taskmon.__version__, taskmon.library_version())\n"
            "print(*[l.split()[-1] for l in open('/proc/self/maps') if 'libtaskmon' in l][:1])\n"
            "try:\n"
            "    taskmon.Monitor('/nonexistent/taskmonitor')\n"
            "except FileNotFoundError as e:\n"
            "    print(type(e).__name__)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(site)
    # A build for a distribution (Debian's: prefix /usr, no RPATH) finds
    # libtaskmon in the system's library directory, where libtaskmon1 puts
    # it; under this temporary prefix the loader must be told where it is.
    libdirs = {str(lib.parent) for lib in installed.rglob("libtaskmon.so.*")}
    assert libdirs, "cmake --install --component Runtime installed no libtaskmon"
    env["LD_LIBRARY_PATH"] = os.pathsep.join(sorted(libdirs))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=installed)
    assert out.returncode == 0, out.stderr
    file, versions, library, error = out.stdout.splitlines()
    assert file == str(site / "taskmon/__init__.py")
    assert versions == f"{taskmon.__version__} {taskmon.__version__}"
    assert pathlib.Path(library).resolve().is_relative_to(installed.resolve()), library
    assert error == "DeviceNotFoundError"
