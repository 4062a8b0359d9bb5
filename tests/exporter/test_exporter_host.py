# SPDX-License-Identifier: GPL-2.0-only
"""taskmon-exporter's unit tests, on the host, with a fake stats source:
metric names, types, label sets and values; a process that exits leaves
the next scrape; the watch selectors; bad configurations; the HTTP server.

    PYTHONPATH=exporter /usr/bin/python3 -m pytest tests/exporter
"""
import contextlib
import os
import subprocess
import sys
import time
import types
import urllib.request

import pytest

prometheus_client = pytest.importorskip(
    "prometheus_client", reason="python3-prometheus-client is not installed "
    "(apt-get install python3-prometheus-client, or scripts/setup-host)")
from prometheus_client import CollectorRegistry, generate_latest  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from taskmon_exporter import DEFAULT_PORT  # noqa: E402
from taskmon_exporter.cli import build_parser, make_config, serve  # noqa: E402
from taskmon_exporter.collector import TaskmonCollector  # noqa: E402
from taskmon_exporter.config import Config, ConfigError, WatchSet, parse, parse_listen  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCHER = os.path.join(ROOT, "exporter", "taskmon-exporter")


def stats(pid, comm, **over):
    """A stand-in for taskmon.Stats with every field the collector reads."""
    fields = dict(pid=pid, comm=comm, threads=2, user_ns=1_500_000_000, system_ns=250_000_000,
                  minor_faults=100, major_faults=3, voluntary_ctxsw=40, involuntary_ctxsw=7,
                  rss_anon_bytes=4096 * 10, rss_file_bytes=4096 * 20, rss_shmem_bytes=4096,
                  vsize_bytes=1 << 24)
    fields.update(over)
    return types.SimpleNamespace(**fields)


def hidden_proc(pid, comm, reasons):
    return types.SimpleNamespace(pid=pid, comm=comm, reasons=tuple(reasons))


class FakeSource:
    """What TaskmonSource gives, from dictionaries the test changes."""

    def __init__(self):
        self.loaded = True
        self.version = "1.2.3"
        self.procs = {1: stats(1, "init"), 42: stats(42, "busy"), 43: stats(43, "busy-2")}
        self.hidden = []          # None: bindings without the hidden scan
        self.fail = None          # an exception stats() raises
        self.scans = 0            # hidden-process scans made
        self.scan_delay = 0.0     # how long each takes
        self.scan_fail = None     # an exception the scan raises
        self.device = "/dev/fake"

    def module(self):
        return self.loaded, self.version

    @staticmethod
    def library_version():
        return "9.9.9"

    @contextlib.contextmanager
    def scrape(self):
        source = self

        class Reader:
            def all_pids(self):
                return sorted(source.procs)

            def stats(self, pids):
                if source.fail:
                    raise source.fail
                return {p: source.procs[p] for p in pids if p in source.procs}

            def hidden(self, settle):
                source.scans += 1
                time.sleep(source.scan_delay)
                if source.scan_fail:
                    raise source.scan_fail
                return None if source.hidden is None else list(source.hidden)

        yield Reader()


def scrape(collector):
    """{name: family} of one scrape, parsed back from the text format as
    Prometheus would read it."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {f.name: f for f in text_string_to_metric_families(text)}, text


def samples(family, name=None):
    return {tuple(sorted(s.labels.items())): s.value for s in family.samples
            if name is None or s.name == name}


def lab(**labels):
    return tuple(sorted(labels.items()))


@pytest.fixture
def source():
    return FakeSource()


def collector_for(source, per_pid=True, **watch):
    return TaskmonCollector(Config(watch=WatchSet(per_pid=per_pid, **watch)), source)


EXPECTED_TYPES = {
    "taskmon_process_cpu_seconds": "counter",
    "taskmon_process_resident_memory_bytes": "gauge",
    "taskmon_process_virtual_memory_bytes": "gauge",
    "taskmon_process_threads": "gauge",
    "taskmon_process_page_faults": "counter",
    "taskmon_process_context_switches": "counter",
    "taskmon_watch_processes": "gauge",
    "taskmon_processes": "gauge",
    "taskmon_hidden_processes": "gauge",
    "taskmon_hidden_process_info": "gauge",
    "taskmon_hidden_scan_timestamp_seconds": "gauge",
    "taskmon_hidden_scan_duration_seconds": "gauge",
    "taskmon_module_loaded": "gauge",
    "taskmon_module_info": "gauge",
    "taskmon_exporter_build_info": "gauge",
    "taskmon_exporter_scrape_errors": "counter",
    "taskmon_exporter_scrape_duration_seconds": "gauge",
}


def test_names_and_types(source):
    """Info metrics are gauges named *_info of value 1 in the text format
    Prometheus scrapes."""
    source.hidden = [hidden_proc(666, "evil", ["open"])]
    families, text = scrape(collector_for(source, pids=[42]))
    assert {name: f.type for name, f in families.items()} == EXPECTED_TYPES
    # Counters end in _total and info metrics in _info in what is served.
    for line in text.splitlines():
        if line.startswith("# TYPE"):
            continue
        if line.startswith("taskmon_process_cpu_seconds") and not line.startswith("#"):
            assert line.startswith("taskmon_process_cpu_seconds_total{")
    assert "taskmon_module_info{version=\"1.2.3\"} 1.0" in text


def test_per_pid_series_only_when_asked(source):
    """Without per_pid the watch set serves its selectors' counts and no
    series per pid (no churn when processes restart)."""
    families, text = scrape(collector_for(source, per_pid=False, pids=[42, 43]))
    assert not [name for name in families if name.startswith("taskmon_process_")], text
    assert samples(families["taskmon_watch_processes"]) == {
        lab(selector="pid", value="42"): 1, lab(selector="pid", value="43"): 1}
    assert 'pid="42"' not in text
    families, _ = scrape(collector_for(source, per_pid=True, pids=[42]))
    assert {dict(k)["pid"] for k in samples(families["taskmon_process_threads"])} == {"42"}


def test_values_and_labels(source):
    families, _ = scrape(collector_for(source, pids=[42]))
    p = dict(pid="42", comm="busy")
    assert samples(families["taskmon_process_cpu_seconds"], "taskmon_process_cpu_seconds_total") \
        == {lab(**p, mode="user"): 1.5, lab(**p, mode="system"): 0.25}
    assert samples(families["taskmon_process_resident_memory_bytes"]) == {
        lab(**p, kind="anon"): 40960, lab(**p, kind="file"): 81920, lab(**p, kind="shmem"): 4096}
    assert samples(families["taskmon_process_virtual_memory_bytes"]) == {lab(**p): 1 << 24}
    assert samples(families["taskmon_process_threads"]) == {lab(**p): 2}
    assert samples(families["taskmon_process_page_faults"], "taskmon_process_page_faults_total") \
        == {lab(**p, kind="minor"): 100, lab(**p, kind="major"): 3}
    assert samples(families["taskmon_process_context_switches"],
                   "taskmon_process_context_switches_total") \
        == {lab(**p, kind="voluntary"): 40, lab(**p, kind="involuntary"): 7}
    assert samples(families["taskmon_processes"]) == {(): 3}
    assert samples(families["taskmon_hidden_processes"]) == {(): 0}
    assert samples(families["taskmon_module_loaded"]) == {(): 1}
    assert samples(families["taskmon_watch_processes"]) == {lab(selector="pid", value="42"): 1}
    assert samples(families["taskmon_exporter_scrape_errors"],
                   "taskmon_exporter_scrape_errors_total") == {(): 0}
    assert samples(families["taskmon_exporter_build_info"]) == {
        lab(version="0.1.0", library_version="9.9.9"): 1}
    duration = samples(families["taskmon_exporter_scrape_duration_seconds"])[()]
    assert 0 <= duration < 5


def test_unmeasured_field_gives_no_sample(source):
    """A kernel thread has no memory: no sample, not a false zero."""
    source.procs[2] = stats(2, "kthreadd", rss_anon_bytes=None, rss_file_bytes=None,
                            rss_shmem_bytes=None, vsize_bytes=None)
    families, _ = scrape(collector_for(source, pids=[2]))
    assert samples(families["taskmon_process_resident_memory_bytes"]) == {}
    assert samples(families["taskmon_process_virtual_memory_bytes"]) == {}
    assert len(samples(families["taskmon_process_cpu_seconds"],
                       "taskmon_process_cpu_seconds_total")) == 2


def test_exited_process_disappears_without_error(source):
    collector = collector_for(source, pids=[42, 43])
    families, _ = scrape(collector)
    pids = {dict(k)["pid"] for k in samples(families["taskmon_process_threads"])}
    assert pids == {"42", "43"}
    del source.procs[43]
    families, text = scrape(collector)
    assert {dict(k)["pid"] for k in samples(families["taskmon_process_threads"])} == {"42"}
    assert 'pid="43"' not in text
    assert samples(families["taskmon_watch_processes"]) == {
        lab(selector="pid", value="42"): 1, lab(selector="pid", value="43"): 0}
    assert samples(families["taskmon_exporter_scrape_errors"],
                   "taskmon_exporter_scrape_errors_total") == {(): 0}
    # And comes back when a process has that pid again.
    source.procs[43] = stats(43, "again")
    families, _ = scrape(collector)
    assert lab(pid="43", comm="again") in samples(families["taskmon_process_threads"])


def test_module_not_loaded_is_no_error(source):
    source.loaded = False
    families, text = scrape(collector_for(source, pids=[42]))
    assert samples(families["taskmon_module_loaded"]) == {(): 0}
    assert "taskmon_module_info" not in families
    assert "taskmon_processes" not in families and "taskmon_hidden_processes" not in families
    assert samples(families["taskmon_process_threads"]) == {}
    assert samples(families["taskmon_watch_processes"]) == {lab(selector="pid", value="42"): 0}
    assert samples(families["taskmon_exporter_scrape_errors"],
                   "taskmon_exporter_scrape_errors_total") == {(): 0}


def test_read_error_counts_and_scrape_goes_on(source):
    source.fail = PermissionError(13, "Permission denied")
    collector = collector_for(source, pids=[42])
    for expected in (1, 2):
        families, _ = scrape(collector)
        assert samples(families["taskmon_exporter_scrape_errors"],
                       "taskmon_exporter_scrape_errors_total") == {(): expected}
        assert samples(families["taskmon_module_loaded"]) == {(): 1}
        assert samples(families["taskmon_processes"]) == {(): 3}


def test_hidden_processes(source):
    source.hidden = [hidden_proc(666, "evil", ["open"]),
                     hidden_proc(667, "", ["getdents64", "stat"])]
    families, _ = scrape(collector_for(source))
    assert samples(families["taskmon_hidden_processes"]) == {(): 2}
    assert samples(families["taskmon_hidden_process_info"]) == {
        lab(pid="666", comm="evil", reason="open"): 1,
        lab(pid="667", comm="", reason="getdents64,stat"): 1}


def test_hidden_scan_absent_or_disabled(source):
    source.hidden = None     # bindings without Monitor.hidden()
    families, _ = scrape(collector_for(source))
    assert "taskmon_hidden_processes" not in families
    source.hidden = [hidden_proc(666, "evil", ["open"])]
    families, _ = scrape(TaskmonCollector(Config(hidden=False), source))
    assert "taskmon_hidden_processes" not in families


def test_hidden_scan_apart_from_scrapes(source):
    """With hidden_interval the scan runs on its own thread: scrapes serve
    its last result (not scanning themselves, not waiting for its settle),
    with the scan's end time and duration; close() stops the thread."""
    source.hidden = [hidden_proc(666, "evil", ["open"])]
    source.scan_delay = 0.3
    collector = TaskmonCollector(Config(hidden_interval=3600), source)
    try:
        before = time.time()
        families, _ = scrape(collector)       # the first scrape waits for the first scan
        assert samples(families["taskmon_hidden_processes"]) == {(): 1}
        finished = samples(families["taskmon_hidden_scan_timestamp_seconds"])[()]
        assert before <= finished <= time.time()
        assert samples(families["taskmon_hidden_scan_duration_seconds"])[()] >= 0.3
        source.hidden = []
        for _ in range(3):
            started = time.monotonic()
            families, _ = scrape(collector)
            assert time.monotonic() - started < 0.3, "the scrape scanned"
        assert source.scans == 1
        assert samples(families["taskmon_hidden_processes"]) == {(): 1}   # the last result
        assert samples(families["taskmon_hidden_scan_timestamp_seconds"])[()] == finished
    finally:
        collector.close()
    assert not collector._hidden.running


def test_hidden_scan_interval_and_errors(source):
    """A short interval: a new result comes without a scrape scanning; a
    scan that fails is counted as a scrape error and serves no result."""
    source.hidden = [hidden_proc(666, "evil", ["open"])]
    collector = TaskmonCollector(Config(hidden_interval=0.05), source)
    try:
        families, _ = scrape(collector)
        assert samples(families["taskmon_hidden_processes"]) == {(): 1}
        source.hidden = []
        end = time.monotonic() + 10
        while samples(scrape(collector)[0]["taskmon_hidden_processes"]) != {(): 0}:
            assert time.monotonic() < end, "no new scan"
            time.sleep(0.05)
        source.scan_fail = PermissionError(13, "Permission denied")
        end = time.monotonic() + 10
        while "taskmon_hidden_processes" in scrape(collector)[0]:
            assert time.monotonic() < end, "the failed scan's result is still served"
            time.sleep(0.05)
        assert samples(scrape(collector)[0]["taskmon_exporter_scrape_errors"],
                       "taskmon_exporter_scrape_errors_total")[()] >= 1
    finally:
        collector.close()


def test_hidden_scan_in_each_scrape_with_interval_0(source):
    source.hidden = [hidden_proc(666, "evil", ["open"])]
    collector = TaskmonCollector(Config(hidden_interval=0), source)
    scrape(collector)
    source.hidden = []
    families, _ = scrape(collector)
    assert source.scans == 2 and samples(families["taskmon_hidden_processes"]) == {(): 0}
    assert "taskmon_hidden_scan_duration_seconds" in families
    assert collector._hidden._thread is None


def test_comm_pattern(source):
    import re
    families, _ = scrape(collector_for(source, comm=[re.compile("^busy")]))
    assert {dict(k)["pid"] for k in samples(families["taskmon_process_threads"])} == {"42", "43"}
    assert samples(families["taskmon_watch_processes"]) == {lab(selector="comm", value="^busy"): 2}


def test_pidfile(source, tmp_path):
    good, gone, bad = tmp_path / "good.pid", tmp_path / "gone.pid", tmp_path / "bad.pid"
    good.write_text("42\n")
    bad.write_text("not a pid\n")
    collector = collector_for(source, pidfiles=[str(good), str(gone), str(bad)])
    families, _ = scrape(collector)
    assert samples(families["taskmon_watch_processes"]) == {
        lab(selector="pidfile", value=str(good)): 1, lab(selector="pidfile", value=str(gone)): 0,
        lab(selector="pidfile", value=str(bad)): 0}
    assert {dict(k)["pid"] for k in samples(families["taskmon_process_threads"])} == {"42"}
    # The missing file is a service that does not run; the bad one is an error.
    assert samples(families["taskmon_exporter_scrape_errors"],
                   "taskmon_exporter_scrape_errors_total") == {(): 1}


def test_systemd_unit_by_cgroup(source, tmp_path):
    root = tmp_path / "cgroup"
    (root / "system.slice" / "web.service" / "worker").mkdir(parents=True)
    (root / "user.slice" / "user-1000.slice" / "app.service").mkdir(parents=True)
    (root / "cgroup.procs").write_text("1\n")
    (root / "system.slice" / "web.service" / "cgroup.procs").write_text("42\n")
    (root / "system.slice" / "web.service" / "worker" / "cgroup.procs").write_text("43\n")
    (root / "user.slice" / "user-1000.slice" / "app.service" / "cgroup.procs").write_text("1\n")
    config = Config(cgroup_root=str(root),
                    watch=WatchSet(units=["web", "app.service", "off"], per_pid=True))
    families, _ = scrape(TaskmonCollector(config, source))
    assert samples(families["taskmon_watch_processes"]) == {
        lab(selector="unit", value="web"): 2, lab(selector="unit", value="app.service"): 1,
        lab(selector="unit", value="off"): 0}
    pids = {dict(k)["pid"] for k in samples(families["taskmon_process_threads"])}
    assert pids == {"1", "42", "43"}


CONFIG = """
listen = "127.0.0.1:9999"
telemetry_path = "/taskmon"
web_config_file = "/etc/taskmon/web.yml"
hidden = false
hidden_settle = 0.5
hidden_interval = 10
[watch]
pids = [1, 2]
pidfiles = ["/run/x.pid"]
comm = ["^sshd$"]
units = ["ssh.service"]
per_pid = true
"""


def test_config_parses():
    config = parse(CONFIG, "t.toml")
    assert config.listen == ("127.0.0.1", 9999)
    assert config.telemetry_path == "/taskmon"
    assert config.web_config_file == "/etc/taskmon/web.yml"
    assert Config().telemetry_path == "/metrics" and Config().web_config_file is None
    assert config.hidden is False and config.hidden_settle == 0.5
    assert config.hidden_interval == 10 and Config().hidden_interval == 30
    assert config.watch.pids == [1, 2] and config.watch.pidfiles == ["/run/x.pid"]
    assert [p.pattern for p in config.watch.comm] == ["^sshd$"]
    assert config.watch.units == ["ssh.service"]
    assert config.watch.per_pid is True and WatchSet().per_pid is False
    assert Config().listen == ("", DEFAULT_PORT)


@pytest.mark.parametrize("text, message", [
    ("listen = ", "not valid TOML"),
    ("lissen = ':1'", "unknown key(s): lissen"),
    ("listen = '127.0.0.1'", "expected ADDR:PORT"),
    ("listen = ':70000'", "port must be a number from 1 to 65535"),
    ("listen = '::1:80'", "IPv6 address in brackets"),
    ("hidden = 1", "hidden must be true or false"),
    ("telemetry_path = 'metrics'", "telemetry path 'metrics': expected an absolute path"),
    ("web_config_file = 1", "web_config_file must be a path"),
    ("hidden_settle = 99", "hidden_settle must be 0 to 10 seconds"),
    ("hidden_interval = -1", "hidden_interval must be 0 (a scan in each scrape) to 86400"),
    ("hidden_interval = '30'", "hidden_interval must be 0"),
    ("[watch]\npids = [0]", "watch.pids[0]: 0 is no pid"),
    ("[watch]\npids = 5", "watch.pids must be a list of pids"),
    ("[watch]\npids = [true]", "watch.pids[0] must be pids"),
    ("[watch]\ncomm = ['(']", "watch.comm[0]: bad regular expression"),
    ("[watch]\nuser = ['x']", "unknown key(s) in [watch]: user"),
    ("[watch]\nunits = ['../x']", "is no unit name"),
    ("[watch]\nper_pid = 1", "watch.per_pid must be true or false"),
])
def test_bad_config(text, message):
    with pytest.raises(ConfigError) as info:
        parse(text, "bad.toml")
    assert message in str(info.value)
    assert str(info.value).startswith("bad.toml: ")


def test_listen_forms():
    assert parse_listen(":19110") == ("", 19110)
    assert parse_listen("[::1]:80") == ("::1", 80)
    assert parse_listen("0.0.0.0:1") == ("0.0.0.0", 1)


def test_options_merge_with_config(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(CONFIG)
    args = build_parser().parse_args(["--config", str(path), "--pid", "3", "--pid", "1",
                                      "--listen", "[::1]:8000", "--comm", "x", "--unit", "u"])
    config = make_config(args)
    assert config.listen == ("::1", 8000)
    assert config.telemetry_path == "/taskmon"
    args = build_parser().parse_args(["--config", str(path), "--web.listen-address", ":8001",
                                      "--web.telemetry-path", "/m",
                                      "--web.config.file", "w.yml"])
    config = make_config(args)
    assert config.listen == ("", 8001) and config.telemetry_path == "/m"
    assert config.web_config_file == "w.yml"
    args = build_parser().parse_args(["--config", str(path), "--pid", "3", "--pid", "1",
                                      "--comm", "x", "--unit", "u"])
    config = make_config(args)
    assert config.watch.pids == [1, 2, 3]
    assert [p.pattern for p in config.watch.comm] == ["^sshd$", "x"]
    assert config.watch.units == ["ssh.service", "u"]
    assert config.watch.per_pid is True
    path.write_text(CONFIG.replace("per_pid = true", ""))
    assert make_config(build_parser().parse_args(["--config", str(path)])).watch.per_pid is False
    assert make_config(build_parser().parse_args(["--config", str(path), "--per-pid"])) \
        .watch.per_pid is True


def run_cli(*args):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "exporter"))
    return subprocess.run([sys.executable, LAUNCHER, *args], capture_output=True, text=True,
                          env=env, timeout=60)


@pytest.mark.parametrize("args, message", [
    (["--config", "/nonexistent/x.toml"], "/nonexistent/x.toml: cannot read the configuration"),
    (["--listen", "nowhere"], "listen address 'nowhere'"),
    (["--pid", "0"], "--pid 0: no pid"),
    (["--comm", "("], "--comm: bad regular expression"),
])
def test_cli_bad_input_exits_2(args, message):
    result = run_cli(*args)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_help():
    result = run_cli("--help")
    assert result.returncode == 0
    for option in ("--web.listen-address", "--listen", "--web.telemetry-path",
                   "--web.config.file", "--config", "--pid", "--pidfile", "--comm", "--unit",
                   "--help"):
        assert option in result.stdout
    assert str(DEFAULT_PORT) in result.stdout


def test_manpage_names_every_option():
    """docs/taskmon-exporter.1 and --help name the same long options."""
    import re
    with open(os.path.join(ROOT, "docs", "taskmon-exporter.1"), encoding="utf-8") as file:
        page = set(re.findall(r"\\-\\-([a-z][a-z.\\-]*[a-z])", file.read()))
    page = {name.replace("\\-", "-") for name in page}
    options = {o[2:] for action in build_parser()._actions for o in action.option_strings
               if o.startswith("--")}
    assert page == options


def test_http_server(source):
    config = Config(listen=("127.0.0.1", 0), watch=WatchSet(pids=[42], per_pid=True))
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TaskmonCollector(config, source))
    server = serve(config, registry)
    import threading
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
            assert reply.status == 200
            assert reply.headers["Content-Type"].startswith("text/plain")
            body = reply.read().decode()
        assert 'taskmon_process_cpu_seconds_total{comm="busy",mode="user",pid="42"} 1.5' in body
    finally:
        server.shutdown()
        server.server_close()
