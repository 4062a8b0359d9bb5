# SPDX-License-Identifier: GPL-2.0-only
"""The Python distribution "pytaskmon" (bindings/python/pyproject.toml),
built as a user without network would, with Debian's tools only:

1. ``python3 -m build --no-isolation --sdist`` in a copy of the checkout
   (so that the build leaves nothing behind in the real one);
2. the sdist unpacked into a folder outside any checkout, and
   ``python3 -m build --no-isolation --wheel`` there: the sdist must carry
   libtaskmon, the uapi header and the version itself;
3. ``twine check --strict`` on both;
4. the wheel installed with ``pip install --no-index`` into a plain venv
   (no system site-packages), and imported from there.

CTest runs this file alone as python.sdist (label host); python.host
leaves it out.  It compiles libtaskmon and the extension once (about
40 s on an idle machine)."""
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest

import required  # tests/pylib (conftest.py puts it on sys.path)

import taskmon

pytestmark = pytest.mark.skipif(os.environ.get("TASKMON_IN_VM") == "1",
                                reason="a build test: on the host only")

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
DIST = "pytaskmon"
# What the sdist must carry from outside bindings/python, as setup.py lays
# it out under native/.
NATIVE = ("include/uapi/linux/taskmon.h", "libtaskmon/include/taskmon/version.hpp.in",
          "libtaskmon/include/taskmon/taskmon.hpp")


def _have(module):
    import importlib.util
    return importlib.util.find_spec(module) is not None


def _env():
    """The environment of a user's shell: no PYTHONPATH to the build tree."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "LD_LIBRARY_PATH", "LD_PRELOAD")}
    env["PIP_NO_INDEX"] = "1"
    return env


def _run(args, cwd, timeout=600):
    out = subprocess.run([str(a) for a in args], cwd=cwd, env=_env(), capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, f"{args}:\n{out.stdout[-4000:]}\n{out.stderr[-4000:]}"
    return out.stdout


def _checkout_version():
    match = re.search(r"project\(\s*taskmon\s+VERSION\s+(\d+\.\d+\.\d+)",
                      (ROOT / "CMakeLists.txt").read_text())
    assert match, "no project(taskmon VERSION x.y.z) in CMakeLists.txt"
    return match.group(1)


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """(sdist, wheel, the folder the wheel was built in)."""
    required.tool(all(map(_have, ("build", "setuptools", "wheel", "pybind11", "twine",
                                  "venv", "ensurepip"))),
                  "needs python3-build, python3-setuptools, python3-wheel, python3-pybind11, "
                  "pybind11-dev, twine and python3-venv (scripts/setup-host)")
    required.tool(shutil.which("readelf"), "readelf is not installed (apt-get install binutils)")
    tmp = tmp_path_factory.mktemp("sdist")
    # 1. The sdist, from a copy of the parts of the checkout it needs.
    checkout = tmp / "checkout"
    for part in ("CMakeLists.txt", "include/uapi", "libtaskmon", "bindings/python"):
        if (ROOT / part).is_dir():
            shutil.copytree(ROOT / part, checkout / part, ignore=shutil.ignore_patterns(
                "build", "native", "dist", "*.egg-info", "__pycache__"))
        else:
            checkout.mkdir(exist_ok=True)
            shutil.copy(ROOT / part, checkout / part)
    _run([sys.executable, "-m", "build", "--no-isolation", "--sdist", "-o", tmp / "dist",
          checkout / "bindings/python"], cwd=checkout)
    sdist, = (tmp / "dist").glob("*.tar.gz")
    # 2. The wheel, from the unpacked sdist, away from the checkout.
    away = tmp / "away"
    away.mkdir()
    with tarfile.open(sdist) as tar:
        tar.extractall(away)
    unpacked, = away.iterdir()
    _run([sys.executable, "-m", "build", "--no-isolation", "--wheel", "-o", tmp / "dist",
          unpacked], cwd=unpacked)
    wheel, = (tmp / "dist").glob("*.whl")
    return sdist, wheel, unpacked


def test_sdist_carries_libtaskmon_the_uapi_header_and_the_version(dists):
    sdist, _, _ = dists
    version = _checkout_version()
    assert version == taskmon.__version__
    assert sdist.name == f"{DIST}-{version}.tar.gz"
    top = f"{DIST}-{version}"
    with tarfile.open(sdist) as tar:
        names = set(tar.getnames())
        assert tar.extractfile(f"{top}/native/VERSION").read().decode() == version + "\n"
        pkg_info = tar.extractfile(f"{top}/PKG-INFO").read().decode()
        for name in NATIVE:
            assert tar.extractfile(f"{top}/native/{name}").read() == (ROOT / name).read_bytes()
    sources = {p.name for p in (ROOT / "libtaskmon/src").iterdir()}
    assert {n.rsplit("/", 1)[1] for n in names
            if n.startswith(f"{top}/native/libtaskmon/src/")} == sources
    for name in ("src/module.cpp", "src/shared.hpp", "taskmon/__init__.py", "taskmon/py.typed",
                 "taskmon/_ext.pyi", "LICENSES/LGPL-2.1-or-later.txt", "setup.py",
                 "pyproject.toml", "README.md"):
        assert f"{top}/{name}" in names
    # Nothing built or cached came along.
    assert not [n for n in names if n.endswith((".so", ".o", ".pyc")) or "/build/" in n]
    assert f"Name: {DIST}\n" in pkg_info
    assert f"Version: {version}\n" in pkg_info
    assert "License: LGPL-2.1-or-later\n" in pkg_info
    assert "Classifier: License :: OSI Approved :: GNU Lesser General Public License v2 " \
        "or later (LGPLv2+)\n" in pkg_info


def test_wheel_links_libtaskmon_statically(dists, tmp_path):
    _, wheel, unpacked = dists
    # The wheel was built from the sdist alone: no checkout around it.
    assert not (unpacked / "CMakeLists.txt").exists()
    assert not (unpacked.parent.parent / "libtaskmon").exists()
    assert re.fullmatch(rf"{DIST}-{taskmon.__version__}-cp3\d+-cp3\d+-linux_\w+\.whl",
                        wheel.name), wheel.name
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        ext, = [n for n in names if n.startswith("taskmon/_ext") and n.endswith(".so")]
        zf.extract(ext, tmp_path)
    for name in ("taskmon/py.typed", "taskmon/_ext.pyi", "taskmon/__init__.py",
                 f"{DIST}-{taskmon.__version__}.dist-info/LGPL-2.1-or-later.txt"):
        assert name in names
    dynamic = _run(["readelf", "-d", tmp_path / ext], cwd=tmp_path)
    needed = re.findall(r"\(NEEDED\).*\[(.*)\]", dynamic)
    assert "libstdc++.so.6" in needed
    assert not [n for n in needed if "taskmon" in n], needed


def test_twine_check_passes(dists):
    sdist, wheel, _ = dists
    out = _run([sys.executable, "-m", "twine", "check", "--strict", sdist, wheel],
               cwd=sdist.parent)
    assert out.count("PASSED") == 2, out


def test_wheel_installs_into_a_plain_venv_and_imports(dists, tmp_path):
    _, wheel, _ = dists
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text()
    python = venv / "bin/python"
    _run([python, "-m", "pip", "install", "--no-index", "--no-deps", wheel], cwd=tmp_path)
    code = ("import importlib.metadata, taskmon\n"
            f"print(taskmon.__file__, importlib.metadata.version('{DIST}'),\n"
            "      taskmon.__version__, taskmon.library_version())\n"
            "try:\n"
            "    taskmon.Monitor('/dev/null').sample()\n"
            "except taskmon.NotSupportedError as e:\n"
            "    print(e.errno)\n")
    file, dist_version, version, library, err = _run([python, "-c", code],
                                                     cwd=tmp_path).split()
    assert pathlib.Path(file).is_relative_to(venv), file
    assert dist_version == version == library == taskmon.__version__
    assert err == "25"  # ENOTTY: the extension asked the kernel
