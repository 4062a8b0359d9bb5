# SPDX-License-Identifier: GPL-2.0-only
"""Small C programs that tests build when they run, with the machine's gcc
(in the VM: the host's, over 9p): a skip saying so without gcc, or a
failure under TASKMON_REQUIRE_TOOLS=1 (required.py).

    import cprog
    binary = cprog.build(tmp_path_factory.mktemp("pool"), "pool", SOURCE, "-O1", "-pthread")
"""
import pathlib
import shutil
import subprocess

import required


def build(directory: pathlib.Path, name: str, source: str, *flags: str) -> pathlib.Path:
    """Writes SOURCE to DIRECTORY/NAME.c and compiles it with FLAGS into
    DIRECTORY/NAME, which it returns."""
    required.tool(shutil.which("gcc"), f"gcc is needed to build {name} (apt-get install gcc)")
    src = directory / f"{name}.c"
    src.write_text(source)
    binary = src.with_suffix("")
    subprocess.run(["gcc", *flags, "-o", str(binary), str(src)], check=True)
    return binary
