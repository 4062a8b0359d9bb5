# SPDX-License-Identifier: GPL-2.0-only
"""A test that needs a tool (a program, a Python module, a test-only kernel
module): without it, a skip saying what is missing, or a failure under
TASKMON_REQUIRE_TOOLS=1.  scripts/test and CI set it (and it crosses into
the VM, tests/lib.sh tm_guest_vars): there, every tool scripts/setup-host
installs must be there, and a missing one must not pass for a skip.

The shell (tm_require_tool, tests/lib.sh) and the in-VM GoogleTest binary
(TASKMON_REQUIRE_TOOL, tests/libtaskmon/vm/vm_util.hpp) have the same rule.

    import required
    required.tool(shutil.which("promtool"), "promtool is not installed (...)")
"""
import os

import pytest


def tools_required() -> bool:
    return os.environ.get("TASKMON_REQUIRE_TOOLS") == "1"


def tool(present, what: str) -> None:
    """Returns when PRESENT is true; otherwise skips, or fails under
    TASKMON_REQUIRE_TOOLS=1, saying WHAT (what is missing, and what installs it)."""
    if present:
        return
    if tools_required():
        pytest.fail(f"{what} (TASKMON_REQUIRE_TOOLS=1: it must be there)", pytrace=False)
    pytest.skip(what)
