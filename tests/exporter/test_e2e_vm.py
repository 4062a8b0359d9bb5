# SPDX-License-Identifier: GPL-2.0-only
"""taskmon-exporter end to end, in the test VM: taskmonitor.ko loaded, the
exporter on loopback behind TLS and basic authentication (its
--web.config.file, certificates made by openssl), a real Prometheus server
(Debian's prometheus) scraping it every second over HTTPS with the
password and the shipped alert rules, and this test asking Prometheus's
HTTP API:

- the busy watched process's CPU seconds increase between scrapes;
- with a process hidden (a tmpfs mounted over /proc/PID: reason "open"),
  taskmon_hidden_processes > 0, its info series names it, and the alert
  TaskmonHiddenProcess fires;
- with the module's exit records, a group counts the CPU of a child that
  started and exited between two scrapes, and all of a member's CPU up to
  its exit right before a scrape (an exporter of its own, scraped only by
  the test, so that no other scrape comes between).

Run in the guest as root with the module loaded, e.g.:

    insmod build/exporter/kernel/KVER/src/kernel/taskmonitor/taskmonitor.ko
    TASKMON_IN_VM=1 PYTHONPATH=exporter:BUILD/bindings/python \\
        python3 -m pytest -m vm tests/exporter/test_e2e_vm.py

Skipped elsewhere (no device, not root, no prometheus), except that with
TASKMON_IN_VM=1 a missing device or server fails: a VM run that skipped
would prove nothing.  Everything is bounded in time and on 127.0.0.1.
"""
import base64
import os
import shutil
import subprocess
import sys
import ssl
import time
import urllib.error
import urllib.request

import pytest

from promvm import PROMETHEUS, api, free_port, require, start_prometheus, stop, wait_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXPORTER = os.path.join(ROOT, "exporter")
PASSWORD = "taskmon e2e"
#: How long Prometheus gets to show each expected state (TCG is slow).
DEADLINE = 180

pytestmark = pytest.mark.vm


def _problem():
    if not os.path.exists("/dev/taskmonitor"):
        return "/dev/taskmonitor missing: taskmonitor.ko is not loaded (run in the test VM)"
    if os.geteuid() != 0:
        return "needs root (mounts a tmpfs over /proc/PID to hide a process)"
    if not os.access(PROMETHEUS, os.X_OK):
        return f"{PROMETHEUS} missing (run tests/exporter/prometheus-tools)"
    if not shutil.which("openssl"):
        return "openssl missing (apt-get install openssl)"
    try:
        import bcrypt
        import taskmon
        del taskmon, bcrypt
    except ImportError as exc:
        return (f"{exc.name} cannot be imported ({exc}): set PYTHONPATH to a build, "
                "apt-get install python3-bcrypt")
    return None


@pytest.fixture(scope="module", autouse=True)
def _requirements():
    require(_problem())


def tls_and_password(work):
    """A throwaway server certificate for 127.0.0.1 and the exporter's web
    configuration: TLS, the user prometheus with PASSWORD's bcrypt hash."""
    import bcrypt
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key",
                    "-out", "server.crt", "-days", "1", "-subj", "/CN=taskmon-e2e",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   cwd=work, check=True, capture_output=True, timeout=60)
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=6)).decode()
    web = work / "web-config.yml"
    web.write_text("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                   f"basic_auth_users:\n  prometheus: '{hashed}'\n")
    return web


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A busy process, a hidden sleeper, the exporter (HTTPS, basic
    authentication) and Prometheus."""
    work = tmp_path_factory.mktemp("exporter-e2e")
    procs = []
    try:
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        procs.append(busy)
        sleeper = subprocess.Popen(["sleep", "3600"])
        procs.append(sleeper)
        doomed = subprocess.Popen(["sleep", "3600"])
        procs.append(doomed)

        exporter_port = free_port()
        config = work / "exporter.toml"
        web = tls_and_password(work)
        groups = work / "process-exporter.yml"
        groups.write_text("process_names:\n"
                          "  - name: 'burner:{{.Matches.tag}}'\n"
                          "    cmdline: ['burn-for-taskmon (?P<tag>\\w+)']\n"
                          "  - comm: [sleep]\n")
        config.write_text(f'listen = "127.0.0.1:{exporter_port}"\n'
                          f'web_config_file = "{web}"\n'
                          "hidden = true\nhidden_settle = 0.1\nhidden_interval = 3\n"
                          f"[watch]\npids = [{busy.pid}, {doomed.pid}]\nper_pid = true\n"
                          f'[groups]\nconfig = "{groups}"\n')
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [EXPORTER] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        log = open(work / "exporter.log", "w")
        exporter = subprocess.Popen(
            [sys.executable, os.path.join(EXPORTER, "taskmon-exporter"), "--config", str(config)],
            env=env, stdout=log, stderr=subprocess.STDOUT)
        procs.append(exporter)
        wait_port(exporter_port, exporter, "taskmon-exporter")

        rules = work / "taskmon-rules.yml"
        shutil.copy(os.path.join(EXPORTER, "taskmon-rules.yml"), rules)
        prom = start_prometheus(
            work,
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n"
            f"rule_files:\n  - {rules}\n"
            "scrape_configs:\n  - job_name: taskmon\n    scheme: https\n"
            f"    tls_config:\n      ca_file: {work / 'server.crt'}\n"
            f"    basic_auth:\n      username: prometheus\n      password: '{PASSWORD}'\n"
            "    static_configs:\n"
            f"      - targets: ['127.0.0.1:{exporter_port}']\n", procs)

        yield dict(busy=busy, sleeper=sleeper, doomed=doomed, env=env, work=work,
                   exporter=f"127.0.0.1:{exporter_port}",
                   prom=prom, hide=lambda: _mount(sleeper.pid))
    finally:
        for proc in reversed(procs):
            stop(proc)
        if len(procs) > 1:  # the sleeper's /proc/PID may have a tmpfs over it
            subprocess.run(["umount", "-l", f"/proc/{procs[1].pid}"], check=False,
                           capture_output=True)


def _mount(pid):
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "none", f"/proc/{pid}"], check=True)


def until(what, check, setup, timeout=DEADLINE):
    """check() until it returns something true; fail after *timeout* s,
    with the exporter's and Prometheus's logs."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = check()
        if last:
            return last
        time.sleep(1)
    logs = "".join(f"--- {name}:\n{(setup['work'] / name).read_text()[-3000:]}\n"
                   for name in ("exporter.log", "prometheus.log"))
    pytest.fail(f"{what}: not seen in {timeout} s (last: {last!r})\n{logs}")


def test_cpu_seconds_increase_between_scrapes(setup):
    base, pid = setup["prom"], setup["busy"].pid
    selector = f'taskmon_process_cpu_seconds_total{{pid="{pid}",mode="user"}}'

    def samples():
        data = api(base, "query", query=f"{selector}[60s]")
        values = [float(v) for _, v in data["result"][0]["values"]] if data["result"] else []
        return values if len(values) >= 3 and values[-1] > values[0] else None

    values = until(f"{selector} increasing over 3 scrapes", samples, setup)
    assert values == sorted(values), f"a counter that went down: {values}"
    series = api(base, "series", **{"match[]": selector})
    assert series and series[0]["comm"] == "python3" and series[0]["job"] == "taskmon"
    # The exporter's health as Prometheus sees it (waiting for a scrape
    # that did not time out: 1 s, under TCG beside other guests).

    def instant(query):
        return until(query, lambda: api(base, "query", query=query)["result"], setup)

    assert instant("taskmon_module_loaded")[0]["value"][1] == "1"
    assert float(instant("taskmon_processes")[0]["value"][1]) > 1
    assert instant('up{job="taskmon"} == 1')


def test_tls_and_basic_auth(setup):
    """What Prometheus scraped came over TLS with the password (its target
    is up, with scheme https); a wrong password gets 401 and plain HTTP
    fails."""
    base = setup["prom"]
    targets = api(base, "targets")["activeTargets"]
    assert targets and targets[0]["scrapeUrl"].startswith("https://"), targets
    assert targets[0]["health"] == "up", targets
    context = ssl.create_default_context(cafile=str(setup["work"] / "server.crt"))
    for user, password, status in (("prometheus", PASSWORD, 200),
                                   ("prometheus", "wrong", 401), ("nobody", PASSWORD, 401)):
        request = urllib.request.Request(f"https://{setup['exporter']}/metrics")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=60, context=context) as reply:
                got, headers = reply.status, reply.headers
        except urllib.error.HTTPError as exc:
            got, headers = exc.code, exc.headers
        assert got == status, (user, password)
        if status == 401:
            assert headers["WWW-Authenticate"] == "Basic"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"http://{setup['exporter']}/metrics", timeout=60)
    assert info.value.code == 400


def test_hidden_process_counted_and_alert_fires(setup):
    base, pid = setup["prom"], setup["sleeper"].pid
    setup["hide"]()

    def hidden():
        result = api(base, "query", query="taskmon_hidden_processes > 0")["result"]
        return result[0]["value"][1] if result else None

    until("taskmon_hidden_processes > 0", hidden, setup)
    info = api(base, "query", query=f'taskmon_hidden_process_info{{pid="{pid}"}}')["result"]
    assert info and info[0]["metric"]["reason"] == "open" \
        and info[0]["metric"]["comm"] == "sleep", info

    def firing():
        alerts = api(base, "alerts")["alerts"]
        return [a for a in alerts if a["state"] == "firing"
                and a["labels"].get("alertname") == "TaskmonHiddenProcess"]

    alerts = until("the alert TaskmonHiddenProcess firing", firing, setup)
    assert alerts[0]["labels"]["severity"] == "critical"


def test_exited_process_leaves_the_next_scrape(setup):
    """Prometheus marks the series of a process that exited stale at the
    next scrape (gone from instant queries at once), and its selector
    counts 0: the rule TaskmonWatchedProcessGone's condition."""
    base, doomed = setup["prom"], setup["doomed"]
    selector = f'taskmon_process_threads{{pid="{doomed.pid}"}}'
    until(f"{selector} scraped", lambda: api(base, "query", query=selector)["result"], setup)
    doomed.kill()
    doomed.wait()
    until(f"{selector} gone", lambda: not api(base, "query", query=selector)["result"], setup)
    gone = f'taskmon_watch_processes{{selector="pid",value="{doomed.pid}"}} == 0'
    until(gone, lambda: api(base, "query", query=gone)["result"], setup)
    errors = api(base, "query", query="taskmon_exporter_scrape_errors_total")["result"]
    assert errors and errors[0]["value"][1] == "0", "an exited process is no error"


def test_runs_unprivileged_as_the_unit_does(setup, tmp_path):
    """The unit's user model: no capabilities, no new privileges, a user
    that owns nothing, reading the device as a member of its group (here a
    numeric gid: the host's root, which the guest runs, may have no group
    taskmon). Every figure the root exporter gives is there."""
    gid = 4242
    was = os.stat("/dev/taskmonitor")
    os.chown("/dev/taskmonitor", 0, gid)
    os.chmod("/dev/taskmonitor", 0o640)
    port = free_port()
    log = open(tmp_path / "exporter.log", "w")
    exporter = subprocess.Popen(
        ["setpriv", "--reuid=65534", "--regid=65534", f"--groups={gid}", "--no-new-privs",
         "--inh-caps=-all", "--bounding-set=-all", "--",
         sys.executable, os.path.join(EXPORTER, "taskmon-exporter"),
         "--config", os.path.join(EXPORTER, "exporter.toml"),
         "--listen", f"127.0.0.1:{port}", "--per-pid", "--pid", str(setup["busy"].pid)],
        env=setup["env"], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_port(port, exporter, "the unprivileged taskmon-exporter")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as reply:
            body = reply.read().decode()
    finally:
        stop(exporter)
        os.chown("/dev/taskmonitor", was.st_uid, was.st_gid)
        os.chmod("/dev/taskmonitor", was.st_mode & 0o7777)
    lines = {line.split(" ")[0]: line.split(" ")[1] for line in body.splitlines()
             if line and not line.startswith("#")}
    assert lines["taskmon_module_loaded"] == "1.0"
    assert lines["taskmon_exporter_scrape_errors_total"] == "0.0", \
        (tmp_path / "exporter.log").read_text()
    assert float(lines["taskmon_processes"]) > 1
    assert "taskmon_hidden_processes" in lines
    # The scan ran on its thread before the first scrape was answered.
    assert float(lines["taskmon_hidden_scan_timestamp_seconds"]) > 0
    assert "taskmon_hidden_scan_duration_seconds" in lines
    user = [v for k, v in lines.items() if k.startswith("taskmon_process_cpu_seconds_total{")
            and f'pid="{setup["busy"].pid}"' in k and 'mode="user"' in k]
    assert user and float(user[0]) > 0, body


def test_group_counters_survive_their_members(setup):
    """process-exporter's groups from its configuration: a member that
    burns CPU and exits leaves its group's CPU seconds where they were (no
    reset, none lower), the group still served with 0 processes; the
    sleep group counts its sleepers."""
    base = setup["prom"]
    sleepers = 'namedprocess_namegroup_num_procs{groupname="sleep"}'
    until(f"{sleepers} >= 1", lambda: api(base, "query", query=f"{sleepers} >= 1")["result"],
          setup)
    burner = subprocess.Popen([sys.executable, "-c",
                               "import sys, time\nend = time.monotonic() + 4\n"
                               "while time.monotonic() < end: pass",
                               "burn-for-taskmon", "alpha"])
    group = 'groupname="burner:alpha"'
    procs = f"namedprocess_namegroup_num_procs{{{group}}}"
    cpu = f'namedprocess_namegroup_cpu_seconds_total{{{group},mode="user"}}'
    try:
        until(f"{procs} == 1", lambda: api(base, "query", query=f"{procs} == 1")["result"],
              setup)
        until(f"{cpu} > 0", lambda: api(base, "query", query=f"{cpu} > 0")["result"], setup)
    finally:
        burner.wait(timeout=120)
    until(f"{procs} == 0", lambda: api(base, "query", query=f"{procs} == 0")["result"], setup)
    time.sleep(3)  # a few scrapes without the member
    values = [float(v) for _, v in api(base, "query", query=f"{cpu}[2m]")["result"][0]["values"]]
    assert values == sorted(values) and values[-1] > 0.2, values
    assert api(base, "query", query=f"resets({cpu}[2m])")["result"][0]["value"][1] == "0"
    for name in ("memory_bytes", "states", "context_switches_total", "num_threads",
                 "oldest_start_time_seconds", "major_page_faults_total"):
        assert api(base, "query", query=f'namedprocess_namegroup_{name}{{{group}}}')["result"]


#: A group member driven by its standard input: "fork" runs a child that
#: burns BURN seconds of CPU and exits (the parent waits for it), "burn"
#: burns them in the member itself and exits; each answers "ok".
BURN = 1.0
MEMBER = f"""
import os, sys, time
print("ready", flush=True)
def burn():
    end = time.process_time() + {BURN}
    while time.process_time() < end:
        pass
for line in sys.stdin:
    if line.strip() == "fork":
        pid = os.fork()
        if pid == 0:
            burn()
            os._exit(0)
        os.waitpid(pid, 0)
    else:
        burn()
    print("ok", flush=True)
    if line.strip() != "fork":
        break
"""


def group_cpu(body, group):
    """user + system CPU seconds of *group* in the text format *body*."""
    total = None
    for line in body.splitlines():
        if line.startswith("namedprocess_namegroup_cpu_seconds_total{") \
                and f'groupname="{group}"' in line:
            total = (total or 0.0) + float(line.rsplit(" ", 1)[1])
    return total


def test_group_counts_exited_processes_cpu(setup, tmp_path):
    """An exporter with groups and no other scraper: a member's child that
    burns BURN s of CPU starts and exits between two scrapes (no scrape
    sees it), and a member that burns BURN s and exits just before a
    scrape; both count whole in their group's cpu_seconds_total, from the
    exit records (without them the child's CPU and the member's since its
    last scrape are lost, as in process-exporter)."""
    port = free_port()
    groups = tmp_path / "process-exporter.yml"
    groups.write_text("process_names:\n  - name: 'burner:{{.Matches.tag}}'\n"
                      "    cmdline: ['burn-for-taskmon (?P<tag>\\w+)']\n")
    config = tmp_path / "exporter.toml"
    config.write_text(f'listen = "127.0.0.1:{port}"\nhidden = false\n'
                      f'[groups]\nconfig = "{groups}"\n')
    log = open(tmp_path / "exporter.log", "w")
    exporter = subprocess.Popen(
        [sys.executable, os.path.join(EXPORTER, "taskmon-exporter"), "--config", str(config)],
        env=setup["env"], stdout=log, stderr=subprocess.STDOUT)
    members = []

    def member(tag):
        proc = subprocess.Popen([sys.executable, "-c", MEMBER, "burn-for-taskmon", tag],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        members.append(proc)
        # Started (the interpreter's start-up CPU, long under TCG, spent):
        # what the group gains from now on is the burns'.
        assert proc.stdout.readline().strip() == "ready"
        return proc

    def command(proc, what):
        proc.stdin.write(what + "\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "ok"

    def scrape():
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as reply:
            return reply.read().decode()

    def until_cpu(group, above):
        """Scrapes until *group*'s CPU exceeds *above* (its exit record
        is completed a jiffy after the exit); the last figure."""
        end = time.monotonic() + 30
        while True:
            value = group_cpu(scrape(), group) or 0.0
            if value > above or time.monotonic() > end:
                return value
            time.sleep(0.5)

    try:
        wait_port(port, exporter, "taskmon-exporter with groups")
        parent, alone = member("forker"), member("alone")
        for _ in range(2):              # the baseline, then both members seen
            body = scrape()
        assert 'taskmon_exporter_exit_records 1.0' in body, body
        before = group_cpu(body, "burner:forker")
        assert before is not None, body
        command(parent, "fork")         # the child lives between two scrapes
        after = until_cpu("burner:forker", before + 0.9 * BURN)
        # All of the child's CPU, once (not also in its parent's figures).
        assert 0.9 * BURN <= after - before < 1.5 * BURN, (before, after)

        before = group_cpu(scrape(), "burner:alone")
        command(alone, "burn")          # burns BURN s and exits: no scrape in between
        alone.wait(timeout=60)
        after = until_cpu("burner:alone", before + 0.9 * BURN)
        assert 0.9 * BURN <= after - before < 1.5 * BURN, (before, after)
        body = scrape()
        assert "taskmon_exporter_exit_records_lost_total 0.0" in body
        assert "taskmon_exporter_scrape_errors_total 0.0" in body, \
            (tmp_path / "exporter.log").read_text()
    finally:
        for proc in members:
            proc.stdin.close()
            stop(proc)
        stop(exporter)
