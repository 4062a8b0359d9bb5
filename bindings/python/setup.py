# SPDX-License-Identifier: GPL-2.0-only
"""Builds taskmon._ext with setuptools and pybind11's helpers (see pyproject.toml).

libtaskmon's sources are compiled into the extension itself, with the
version.hpp that CMake would generate, so the result needs no installed
libtaskmon.  The version is the top-level CMakeLists.txt's project(VERSION).
"""
import pathlib
import re

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LIB = ROOT / "libtaskmon"
GENERATED = HERE / "build" / "generated"


def project_version() -> str:
    cmake = (ROOT / "CMakeLists.txt").read_text()
    match = re.search(r"project\(\s*taskmon\s+VERSION\s+(\d+)\.(\d+)\.(\d+)", cmake)
    if not match:
        raise SystemExit(f"setup.py: no project(taskmon VERSION x.y.z) in {ROOT}/CMakeLists.txt: "
                         "build from a taskmon checkout")
    return ".".join(match.groups())


def generate_version_header(version: str) -> None:
    """libtaskmon/include/taskmon/version.hpp.in as CMake's configure_file(@ONLY) does."""
    major, minor, patch = version.split(".")
    text = (LIB / "include/taskmon/version.hpp.in").read_text()
    for name, value in (("PROJECT_VERSION_MAJOR", major), ("PROJECT_VERSION_MINOR", minor),
                        ("PROJECT_VERSION_PATCH", patch), ("PROJECT_VERSION", version)):
        text = text.replace(f"@{name}@", value)
    target = GENERATED / "taskmon" / "version.hpp"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def libtaskmon_sources() -> list:
    """libtaskmon's .cpp files, copied under build/ (setuptools wants sources
    as paths relative to this directory, and inside it)."""
    copies = []
    for source in sorted((LIB / "src").glob("*.cpp")):
        copy = GENERATED / "libtaskmon" / source.name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if not copy.exists() or copy.read_bytes() != source.read_bytes():
            copy.write_bytes(source.read_bytes())
        copies.append(str(copy.relative_to(HERE)))
    return copies


VERSION = project_version()
generate_version_header(VERSION)

ext = Pybind11Extension(
    "taskmon._ext",
    sources=["src/module.cpp", "src/processes.cpp", "src/shared.cpp"] + libtaskmon_sources(),
    include_dirs=[str(LIB / "include"), str(GENERATED), str(LIB / "src"),
                  str(ROOT / "include/uapi")],
    cxx_std=17,
)

setup(version=VERSION, ext_modules=[ext], cmdclass={"build_ext": build_ext})
