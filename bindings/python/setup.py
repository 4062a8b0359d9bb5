# SPDX-License-Identifier: GPL-2.0-only
"""Builds taskmon._ext with setuptools and pybind11's helpers (see pyproject.toml).

libtaskmon's sources are compiled into the extension itself (static: the
wheel needs no installed libtaskmon, only the C and C++ runtimes), with
the version.hpp that CMake would generate.

The C++ sources live outside this directory in a checkout (libtaskmon/,
include/uapi/, the version in the top-level CMakeLists.txt), so they are
gathered under native/, laid out as in the checkout, with the version in
native/VERSION.  From a checkout (this directory is bindings/python, next
to its CMakeLists.txt), every build refreshes native/ from the checkout;
in an sdist, native/ is already there (MANIFEST.in), so the sdist builds
anywhere, offline.
"""
import filecmp
import pathlib
import re
import shutil

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

HERE = pathlib.Path(__file__).resolve().parent
NATIVE = HERE / "native"
GENERATED = HERE / "build" / "generated"
# What native/ holds, relative to the top of a checkout.
NATIVE_PARTS = ("libtaskmon/include/taskmon", "libtaskmon/src", "include/uapi/linux/taskmon.h")


def checkout_root():
    """The checkout this directory belongs to, or None (an sdist)."""
    root = HERE.parent.parent
    if (HERE / "CMakeLists.txt").is_file() and (root / "libtaskmon/src").is_dir() \
            and HERE == root / "bindings/python":
        return root
    return None


def checkout_version(root: pathlib.Path) -> str:
    cmake = (root / "CMakeLists.txt").read_text()
    match = re.search(r"project\(\s*taskmon\s+VERSION\s+(\d+)\.(\d+)\.(\d+)", cmake)
    if not match:
        raise SystemExit(f"setup.py: no project(taskmon VERSION x.y.z) in {root}/CMakeLists.txt")
    return ".".join(match.groups())


def _sync(source: pathlib.Path, target: pathlib.Path) -> None:
    """Make target a copy of source (a file or a folder), touching only what
    differs, so that an unchanged source is not compiled again."""
    if source.is_file():
        if not target.is_file() or not filecmp.cmp(source, target, shallow=False):
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        return
    target.mkdir(parents=True, exist_ok=True)
    wanted = {p.name for p in source.iterdir() if p.is_file()}
    for old in target.iterdir():
        if old.name not in wanted:
            shutil.rmtree(old) if old.is_dir() else old.unlink()
    for name in sorted(wanted):
        _sync(source / name, target / name)


def gather_native(root: pathlib.Path) -> None:
    """Copy libtaskmon and the uapi header into native/ and write native/VERSION."""
    for part in NATIVE_PARTS:
        _sync(root / part, NATIVE / part)
    version = NATIVE / "VERSION"
    text = checkout_version(root) + "\n"
    if not version.is_file() or version.read_text() != text:
        version.write_text(text)


def native_version() -> str:
    try:
        version = (NATIVE / "VERSION").read_text().strip()
    except FileNotFoundError:
        raise SystemExit(f"setup.py: {NATIVE}/VERSION is missing: build from a taskmon "
                         "checkout (bindings/python) or from an sdist made from one "
                         "(python3 -m build --sdist bindings/python)") from None
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise SystemExit(f"setup.py: {NATIVE}/VERSION holds {version!r}, not x.y.z")
    return version


def generate_version_header(version: str) -> None:
    """libtaskmon/include/taskmon/version.hpp.in as CMake's configure_file(@ONLY) does."""
    major, minor, patch = version.split(".")
    text = (NATIVE / "libtaskmon/include/taskmon/version.hpp.in").read_text()
    for name, value in (("PROJECT_VERSION_MAJOR", major), ("PROJECT_VERSION_MINOR", minor),
                        ("PROJECT_VERSION_PATCH", patch), ("PROJECT_VERSION", version)):
        text = text.replace(f"@{name}@", value)
    target = GENERATED / "taskmon" / "version.hpp"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


ROOT = checkout_root()
if ROOT is not None:
    gather_native(ROOT)
VERSION = native_version()
generate_version_header(VERSION)

# Sources relative to this directory, as setuptools wants them.
LIB_SOURCES = sorted(str(p.relative_to(HERE)) for p in (NATIVE / "libtaskmon/src").glob("*.cpp"))

ext = Pybind11Extension(
    "taskmon._ext",
    sources=["src/module.cpp", "src/processes.cpp", "src/shared.cpp"] + LIB_SOURCES,
    include_dirs=[str(NATIVE / "libtaskmon/include"), str(GENERATED),
                  str(NATIVE / "libtaskmon/src"), str(NATIVE / "include/uapi")],
    cxx_std=17,
)

setup(version=VERSION, ext_modules=[ext], cmdclass={"build_ext": build_ext})
