# SPDX-License-Identifier: GPL-2.0-only
"""The files shipped with taskmon-exporter: the alert rules (promtool check
rules, promtool test rules), the systemd unit (systemd-analyze verify, and
the sandboxing the docs promise) and the default configuration (it loads).
Each check skips, saying what to install, when its tool is missing."""
import os
import re
import shutil
import subprocess

import pytest
import required  # tests/pylib (conftest.py puts it on sys.path)

from taskmon_exporter.config import load

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPORTER = os.path.join(ROOT, "exporter")
UNIT = os.path.join(EXPORTER, "taskmon-exporter.service")


# Where tests/exporter/prometheus-tools unpacks Debian's prometheus package
# (scripts/test's setup step runs it): promtool without installing the
# package, which would start a Prometheus server on the host.
PROMETHEUS_TOOLS = os.path.join(os.environ.get("TASKMON_CACHE", "/var/cache/taskmon"),
                                "prometheus", "current", "usr", "bin")


def tool(name, package):
    path = shutil.which(name) or shutil.which(name, path=PROMETHEUS_TOOLS)
    if path is None:
        how = ("tests/exporter/prometheus-tools" if package == "prometheus"
               else f"apt-get install {package}")
        required.tool(False, f"{name} is not installed ({how})")
    return path


def run(*args, cwd=None):
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_promtool_check_rules():
    result = run(tool("promtool", "prometheus"), "check", "rules",
                 os.path.join(EXPORTER, "taskmon-rules.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


def test_promtool_test_rules():
    result = run(tool("promtool", "prometheus"), "test", "rules", "taskmon-rules.test.yml",
                 cwd=EXPORTER)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_tested_firing_and_not():
    """taskmon-rules.test.yml checks each alert of taskmon-rules.yml at a
    time it fires and at a time it does not."""
    yaml = pytest.importorskip("yaml", reason="python3-yaml is not installed")
    with open(os.path.join(EXPORTER, "taskmon-rules.yml"), encoding="utf-8") as file:
        alerts = {rule["alert"] for group in yaml.safe_load(file)["groups"]
                  for rule in group["rules"] if "alert" in rule}
    with open(os.path.join(EXPORTER, "taskmon-rules.test.yml"), encoding="utf-8") as file:
        tests = yaml.safe_load(file)["tests"]
    firing, quiet = set(), set()
    for test in tests:
        for case in test.get("alert_rule_test", []):
            (firing if case.get("exp_alerts") else quiet).add(case["alertname"])
    assert len(alerts) == 5
    assert alerts - firing == set(), "never tested firing"
    assert alerts - quiet == set(), "never tested not firing"


def test_process_gone_quiet_while_the_module_is_not_loaded():
    """The rule that says a watched process is gone does not fire while
    the module is unloaded (every selector counts 0 then): the module's
    alert says why."""
    yaml = pytest.importorskip("yaml", reason="python3-yaml is not installed")
    with open(os.path.join(EXPORTER, "taskmon-rules.yml"), encoding="utf-8") as file:
        rules = {rule["alert"]: rule for group in yaml.safe_load(file)["groups"]
                 for rule in group["rules"]}
    expr = " ".join(rules["TaskmonWatchedProcessGone"]["expr"].split())
    assert "unless on(instance, job) taskmon_module_loaded == 0" in expr


def test_unit_verifies(tmp_path):
    """systemd-analyze verify checks that ExecStart's program exists: the
    copy runs the checkout's launcher instead of /usr/bin's."""
    analyze = tool("systemd-analyze", "systemd")
    with open(UNIT, encoding="utf-8") as file:
        text = file.read()
    copy = tmp_path / "taskmon-exporter.service"
    copy.write_text(text.replace("/usr/bin/taskmon-exporter",
                                 os.path.join(EXPORTER, "taskmon-exporter")))
    result = run(analyze, "verify", "--man=no", str(copy))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_unit_security_exposure(tmp_path):
    """systemd-analyze security rates the unit "OK" or better (exposure
    below 4; what stays exposed is deliberate: the network, /proc, the
    group taskmon)."""
    analyze = tool("systemd-analyze", "systemd")
    copy = tmp_path / "taskmon-exporter.service"
    with open(UNIT, encoding="utf-8") as file:
        copy.write_text(file.read().replace("/usr/bin/taskmon-exporter",
                                            os.path.join(EXPORTER, "taskmon-exporter")))
    result = run(analyze, "security", "--offline=yes", "--no-pager", "--threshold=30", str(copy))
    if "--offline" in result.stderr and "unrecognized" in result.stderr:
        pytest.skip("this systemd-analyze has no --offline (systemd 250 or later)")
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) < 4.0, result.stdout


def test_unit_sandboxing():
    with open(UNIT, encoding="utf-8") as file:
        lines = {line.strip() for line in file}
    for setting in ("DynamicUser=yes", "SupplementaryGroups=taskmon",
                    "DeviceAllow=/dev/taskmonitor r", "DevicePolicy=closed",
                    "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes",
                    "NoNewPrivileges=yes", "CapabilityBoundingSet=",
                    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"):
        assert setting in lines, setting
    # The hidden-process scan reads every /proc/PID: /proc must stay whole.
    assert not any(line.startswith(("ProtectProc=", "ProcSubset=")) for line in lines)


def test_default_config_loads():
    config = load(os.path.join(EXPORTER, "exporter.toml"))
    assert config.listen == ("", 19110)
    assert config.hidden
