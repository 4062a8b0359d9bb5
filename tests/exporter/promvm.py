# SPDX-License-Identifier: GPL-2.0-only
"""What the exporter's VM tests (test_e2e_vm.py, test_side_by_side_vm.py)
share: where Debian's Prometheus server and process-exporter are
(unpacked by tests/exporter/prometheus-tools, never installed), ports on
127.0.0.1, starting and stopping servers, Prometheus's HTTP API."""
import json
import os
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

CACHE = os.environ.get("TASKMON_CACHE", "/var/cache/taskmon")
# Unpacked by tests/exporter/prometheus-tools (scripts/test's setup step),
# not installed on the host; an installed one is taken if there is one.
PROMETHEUS = next((p for p in (
    os.path.join(CACHE, "prometheus", "current", "usr", "bin", "prometheus"),
    "/usr/bin/prometheus") if os.access(p, os.X_OK)), "/usr/bin/prometheus")
# process-exporter: only the unpacked copy, which a fresh Debian has too
# once prometheus-tools ran (the installed package starts a service).
PROCESS_EXPORTER_ROOT = os.path.join(CACHE, "prometheus-process-exporter", "current")
PROCESS_EXPORTER = os.path.join(PROCESS_EXPORTER_ROOT, "usr", "bin",
                                "prometheus-process-exporter")
#: The configuration Debian ships with it (name: "{{.Comm}}", cmdline: ['.+']).
PROCESS_EXPORTER_ALL_YAML = os.path.join(PROCESS_EXPORTER_ROOT, "usr", "share", "doc",
                                         "prometheus-process-exporter", "examples", "all.yaml")
IN_VM = os.environ.get("TASKMON_IN_VM") == "1"


def require(problem):
    """What a module's tests need is missing (*problem*, a text, or None):
    a failure in the test VM, which has everything, a skip elsewhere."""
    if problem:
        if IN_VM:
            pytest.fail(problem)
        pytest.skip(problem)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port, proc, what, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with status {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{what} did not listen on 127.0.0.1:{port} in {timeout} s")


def wait_ready(base, proc, timeout=120):
    """Prometheus answers 503 until its TSDB is open: wait for /-/ready."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail(f"prometheus exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/-/ready", timeout=5) as reply:
                if reply.status == 200:
                    return
        except OSError:  # urllib.error.HTTPError (503) and connection errors
            pass
        time.sleep(0.5)
    pytest.fail(f"prometheus was not ready in {timeout} s")


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_prometheus(work, config_text, procs, ready=True):
    """Prometheus on 127.0.0.1 with *config_text* as its prometheus.yml,
    its data and log (prometheus.log) in *work*, appended to *procs* (for
    stop()); its base URL once it is ready (listening only, with
    ready=False: then wait_ready())."""
    port = free_port()
    config = work / "prometheus.yml"
    config.write_text(config_text)
    log = open(work / "prometheus.log", "w")
    prometheus = subprocess.Popen(
        [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={work / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=log, stderr=subprocess.STDOUT)
    procs.append(prometheus)
    base = f"http://127.0.0.1:{port}"
    if ready:
        wait_port(port, prometheus, "prometheus", timeout=120)
        wait_ready(base, prometheus)
    return base


def api(base, path, **params):
    url = f"{base}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    with urllib.request.urlopen(url, timeout=10) as reply:
        body = json.load(reply)
    assert body["status"] == "success", body
    return body["data"]
