# SPDX-License-Identifier: GPL-2.0-only
"""cmake --install puts a working package under lib/python3/dist-packages.

What python3-taskmon ships is this install (component Python) with the
prefix /usr; here a temporary prefix stands in for it, with libtaskmon
(component Runtime) installed beside it."""
import os
import pathlib
import re
import subprocess
import sys
import sysconfig

import pytest

import required  # tests/pylib (conftest.py puts it on sys.path)

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


def _have(module):
    import importlib.util
    return importlib.util.find_spec(module) is not None


@pytest.mark.skipif(os.environ.get("TASKMON_IN_VM") == "1",
                    reason="a build test: on the host only (slow under the VM's emulation)")
@pytest.mark.timeout(900)  # a whole build of libtaskmon: slow on a loaded host
def test_pip_builds_a_working_wheel_from_the_source_tree(tmp_path):
    """bindings/python/pyproject.toml: pip builds a wheel offline (with the
    system's setuptools and pybind11), libtaskmon compiled in.  The checkout
    is copied first, so the build leaves nothing behind in it."""
    required.tool(all(map(_have, ("pip", "setuptools", "pybind11"))),
                  "needs python3-pip, python3-setuptools and python3-pybind11 (scripts/setup-host)")
    import shutil
    import zipfile
    root = pathlib.Path(__file__).resolve().parent.parent.parent
    src = tmp_path / "src"
    for part in ("CMakeLists.txt", "include/uapi", "libtaskmon", "bindings/python"):
        if (root / part).is_dir():
            shutil.copytree(root / part, src / part,
                            ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy(root / part, src / part)
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-build-isolation",
                          "--no-deps", "--no-index", "-w", str(tmp_path / "wheels"),
                          str(src / "bindings/python")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    wheel, = (tmp_path / "wheels").glob("taskmon-*.whl")
    assert wheel.name.startswith(f"taskmon-{taskmon.__version__}-")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        zf.extractall(site)
    for name in ("taskmon/py.typed", "taskmon/_ext.pyi"):
        assert name in names
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(site)
    code = ("import taskmon\n"
            "print(taskmon.__file__, taskmon.__version__, taskmon.library_version())\n"
            "try:\n"
            "    taskmon.Monitor('/dev/null').sample()\n"
            "except taskmon.NotSupportedError as e:\n"
            "    print(e.errno)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    file, version, library, err = out.stdout.split()
    assert file == str(site / "taskmon/__init__.py")
    assert version == library == taskmon.__version__
    assert err == "25"
