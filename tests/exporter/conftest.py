# SPDX-License-Identifier: GPL-2.0-only
"""tests/exporter: taskmon-exporter's tests (docs/exporter.md).

    PYTHONPATH=exporter /usr/bin/python3 -m pytest tests/exporter

Marker vm: the end-to-end test (test_e2e_vm.py), which needs the module
loaded and root; it skips elsewhere, saying why.
"""
import pathlib
import sys

# tests/pylib: required.py (a missing tool: a skip, or a failure under
# TASKMON_REQUIRE_TOOLS=1).
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "pylib"))


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "vm: needs taskmonitor.ko loaded, root and prometheus (the test VM)")
