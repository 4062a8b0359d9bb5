# SPDX-License-Identifier: GPL-2.0-only
"""taskmon-exporter's web side on the host: --web.listen-address,
--web.telemetry-path and --web.config.file (the exporter-toolkit format),
over real TLS with throwaway certificates made by the openssl command:
basic authentication (right and wrong password, 401 with
WWW-Authenticate), plain HTTP to the TLS listener refused, mutual TLS, the
landing page and 404, the configuration read again when it changes, the
exporter's own process_* and python_* metrics, and `promtool check
metrics` on what it serves.

    PYTHONPATH=exporter /usr/bin/python3 -m pytest tests/exporter/test_web_host.py
"""
import base64
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import required  # tests/pylib (conftest.py puts it on sys.path)

pytest.importorskip("prometheus_client", reason="python3-prometheus-client is not installed "
                    "(apt-get install python3-prometheus-client, or scripts/setup-host)")
bcrypt = pytest.importorskip("bcrypt", reason="python3-bcrypt is not installed "
                             "(apt-get install python3-bcrypt, or scripts/setup-host)")
pytest.importorskip("yaml", reason="python3-yaml is not installed (apt-get install python3-yaml)")

from prometheus_client import generate_latest  # noqa: E402

from taskmon_exporter.cli import build_registry  # noqa: E402
from taskmon_exporter.config import Config, WatchSet  # noqa: E402
from taskmon_exporter.web import WebConfigError, parse_web_config  # noqa: E402
from test_exporter_host import FakeSource, hidden_proc  # noqa: E402
from test_shipped_files import tool  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCHER = os.path.join(ROOT, "exporter", "taskmon-exporter")
PASSWORD = "s3cret pass"


def openssl(*args, cwd):
    path = shutil.which("openssl")
    if path is None:
        required.tool(False, "openssl is not installed (apt-get install openssl)")
    subprocess.run([path, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A throwaway CA, a server certificate for 127.0.0.1 and localhost,
    client certificates for "prometheus" (signed by the CA) and "stranger"
    (self-signed)."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
            "-subj", "/CN=taskmon test CA", cwd=d)
    for name, san in (("server", "DNS:localhost,IP:127.0.0.1"), ("client", "DNS:prometheus")):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=d)
        (d / f"{name}.ext").write_text(f"subjectAltName={san}\n")
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.crt", "-days", "1",
                "-extfile", f"{name}.ext", cwd=d)
    openssl("req", "-x509", *ec, "-keyout", "stranger.key", "-out", "stranger.crt",
            "-days", "1", "-subj", "/CN=stranger", "-addext", "subjectAltName=DNS:prometheus",
            cwd=d)
    return d


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Exporter:
    """The launcher with the given options on 127.0.0.1 (module not
    loaded on the host: the taskmon series say so, the server serves)."""

    def __init__(self, tmp_path, *options, listen="--web.listen-address"):
        self.port = free_port()
        self.log = tmp_path / f"exporter-{self.port}.log"
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "exporter"))
        self.proc = subprocess.Popen(
            [sys.executable, LAUNCHER, listen, f"127.0.0.1:{self.port}",
             "--device", str(tmp_path / "no-device"), "--pid", "1", "--log-level", "debug",
             *options], env=env, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        end = time.monotonic() + 30
        while time.monotonic() < end:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"the exporter did not listen: {self.log.read_text()}")

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(timeout=20) == 0, self.log.read_text()


@pytest.fixture
def exporter(tmp_path):
    started = []

    def start(*options, **kwargs):
        started.append(Exporter(tmp_path, *options, **kwargs))
        return started[-1]
    yield start
    for one in started:
        if one.proc.poll() is None:
            one.stop()


def web_config(tmp_path, pki, text):
    """A web configuration next to copies of the certificates (relative
    file names are taken from the file's folder, as exporter-toolkit does)."""
    for name in ("server.crt", "server.key", "ca.crt"):
        shutil.copy(pki / name, tmp_path / name)
    path = tmp_path / "web-config.yml"
    path.write_text(text)
    return str(path)


def hashed(password=PASSWORD, prefix=None):
    value = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
    return value if prefix is None else prefix + value[4:]


TLS_AUTH = """\
tls_server_config:
  cert_file: server.crt
  key_file: server.key
basic_auth_users:
  prometheus: '{hash}'
  other: '{other}'
"""


def get(url, context=None, user=None, password=PASSWORD, cert=None):
    """(status, headers, body) of a GET; the status of an HTTP error too."""
    request = urllib.request.Request(url)
    if user is not None:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=20, context=context) as reply:
            return reply.status, reply.headers, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def client_context(pki, cert=None):
    context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
    if cert:
        context.load_cert_chain(str(pki / f"{cert}.crt"), str(pki / f"{cert}.key"))
    return context


def promtool_check_metrics(text):
    result = subprocess.run([tool("promtool", "prometheus"), "check", "metrics"], input=text,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == "", \
        result.stdout + result.stderr


def test_tls_and_basic_auth(tmp_path, pki, exporter):
    """Prometheus's way: HTTPS, basic authentication by bcrypt hash ($2y$,
    as htpasswd writes it, and $2b$); the right password is served, a
    wrong one, an unknown user or none gets 401 with WWW-Authenticate."""
    config = web_config(tmp_path, pki, TLS_AUTH.format(
        hash=hashed(prefix="$2y$"), other=hashed("other-password")))
    one = exporter("--web.config.file", config)
    url = f"https://127.0.0.1:{one.port}/metrics"
    context = client_context(pki)
    status, headers, body = get(url, context, user="prometheus")
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain")
    assert 'taskmon_watch_processes{selector="pid",value="1"} 0.0' in body
    promtool_check_metrics(body)
    assert get(url, context, user="other", password="other-password")[0] == 200
    for user, password in (("prometheus", "wrong"), ("prometheus", ""), ("nobody", PASSWORD),
                           ("other", PASSWORD)):
        status, headers, body = get(url, context, user=user, password=password)
        assert status == 401, (user, password, body)
        assert headers["WWW-Authenticate"] == "Basic"
        assert "taskmon_" not in body
    status, headers, _ = get(url, context)
    assert status == 401 and headers["WWW-Authenticate"] == "Basic"
    # Every path is behind the password, the landing page too.
    assert get(f"https://127.0.0.1:{one.port}/", context)[0] == 401
    assert "serving https://127.0.0.1:" in one.log.read_text()


def test_plain_http_to_the_tls_listener_fails(tmp_path, pki, exporter):
    config = web_config(tmp_path, pki, TLS_AUTH.format(hash=hashed(), other=hashed()))
    one = exporter("--web.config.file", config)
    status, _, body = get(f"http://127.0.0.1:{one.port}/metrics", user="prometheus")
    assert status == 400, body
    assert "HTTP request to an HTTPS server" in body and "taskmon_" not in body
    # An untrusted server certificate fails on the client's side.
    with pytest.raises(urllib.error.URLError) as info:
        get(f"https://127.0.0.1:{one.port}/metrics", ssl.create_default_context(),
            user="prometheus")
    assert isinstance(info.value.reason, ssl.SSLCertVerificationError)
    # A client that opens TLS and closes, or says nothing, harms no one.
    with socket.create_connection(("127.0.0.1", one.port)) as sock:
        sock.sendall(b"\x16\x03\x01\x00\x05hello")
    assert get(f"https://127.0.0.1:{one.port}/metrics", client_context(pki),
               user="prometheus")[0] == 200


def test_landing_page_404_and_telemetry_path(tmp_path, exporter):
    one = exporter("--web.telemetry-path", "/taskmon/metrics")
    base = f"http://127.0.0.1:{one.port}"
    status, headers, body = get(f"{base}/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert '<a href="/taskmon/metrics">' in body
    status, _, body = get(f"{base}/taskmon/metrics")
    assert status == 200 and "taskmon_module_loaded 0.0" in body
    for path in ("/metrics", "/nonexistent", "/favicon.ico", "/taskmon/metrics/x"):
        status, _, body = get(base + path)
        assert status == 404, path
        assert "taskmon_" not in body


def test_self_metrics_and_old_listen_flag(tmp_path, exporter):
    """--listen still works (the old name of --web.listen-address), and the
    exporter serves its own process_* and python_* metrics."""
    one = exporter(listen="--listen")
    status, _, body = get(f"http://127.0.0.1:{one.port}/metrics")
    assert status == 200
    names = {line.split("{")[0].split(" ")[0] for line in body.splitlines()
             if line and not line.startswith("#")}
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                 "process_start_time_seconds", "process_open_fds", "python_info",
                 "python_gc_collections_total"):
        assert name in names, name


def test_mutual_tls(tmp_path, pki, exporter):
    """client_ca_file and RequireAndVerifyClientCert: no certificate, or one
    the CA did not sign, fails the handshake; client_allowed_sans narrows
    the CA's clients."""
    config = web_config(tmp_path, pki, """\
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_ca_file: ca.crt
  client_auth_type: RequireAndVerifyClientCert
""")
    one = exporter("--web.config.file", config)
    url = f"https://127.0.0.1:{one.port}/metrics"
    status, _, body = get(url, client_context(pki, "client"))
    assert status == 200 and "taskmon_module_loaded" in body
    for cert in (None, "stranger"):
        with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError,
                            http.client.HTTPException)):
            get(url, client_context(pki, cert))
    narrow = tmp_path / "narrow"
    narrow.mkdir()
    config = web_config(narrow, pki, """\
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_ca_file: ca.crt
  client_auth_type: RequireAndVerifyClientCert
  client_allowed_sans: [someone-else]
""")
    two = exporter("--web.config.file", config)
    with pytest.raises((urllib.error.URLError, ssl.SSLError, ConnectionError,
                        http.client.HTTPException)):
        get(f"https://127.0.0.1:{two.port}/metrics", client_context(pki, "client"))


def test_web_config_read_again_when_it_changes(tmp_path, pki, exporter):
    """As exporter-toolkit: a changed file takes effect at the next
    connection; a broken one refuses connections until it is mended."""
    path = web_config(tmp_path, pki, TLS_AUTH.format(hash=hashed(), other=hashed()))
    one = exporter("--web.config.file", path)
    url, context = f"https://127.0.0.1:{one.port}/metrics", client_context(pki)
    assert get(url, context, user="prometheus")[0] == 200
    with open(path, "w") as file:
        file.write(TLS_AUTH.format(hash=hashed("new password"), other=hashed()) + "\n")
    assert get(url, context, user="prometheus")[0] == 401
    assert get(url, context, user="prometheus", password="new password")[0] == 200
    with open(path, "w") as file:
        file.write("tls_server_config: {cert_file: missing.crt, key_file: server.key}\n")
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        get(url, context, user="prometheus", password="new password")
    assert "missing.crt is no readable file" in one.log.read_text()
    with open(path, "w") as file:
        file.write(TLS_AUTH.format(hash=hashed(), other=hashed()))
    assert get(url, context, user="prometheus")[0] == 200


def test_promtool_check_metrics_every_family():
    """Every family the exporter can serve (hidden processes, module
    loaded, self metrics) passes promtool's lint."""
    source = FakeSource()
    source.hidden = [hidden_proc(666, "evil", ["open"])]
    registry = build_registry(Config(watch=WatchSet(pids=[1, 42], per_pid=True)), source)
    text = generate_latest(registry).decode()
    assert "taskmon_hidden_process_info" in text and "process_cpu_seconds_total" in text
    promtool_check_metrics(text)


GOOD_HASH = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"


@pytest.mark.parametrize("text, message", [
    ("tls_server_config: [", "not valid YAML"),
    ("- 1", "the web configuration must be a mapping"),
    ("tls_config: {}", "unknown key(s) in the web configuration: tls_config"),
    ("tls_server_config: {certfile: x}", "unknown key(s) in tls_server_config: certfile"),
    ("tls_server_config: {cert_file: server.crt}", "missing key_file (cert_file is set)"),
    ("tls_server_config: {key_file: server.key}", "missing cert_file (key_file is set)"),
    ("tls_server_config: {cert_file: nope.crt, key_file: server.key}",
     "nope.crt is no readable file"),
    ("tls_server_config: {cert_file: server.crt, key_file: server.key, client_ca_file: ca.crt}",
     "client_ca_file is set without a client authentication policy"),
    ("tls_server_config: {cert_file: server.crt, key_file: server.key, "
     "client_auth_type: RequireAndVerifyClientCert}", "needs client_ca_file"),
    ("tls_server_config: {cert_file: server.crt, key_file: server.key, "
     "client_auth_type: RequireAnyClientCert}", "use RequireAndVerifyClientCert"),
    ("tls_server_config: {cert_file: server.crt, key_file: server.key, "
     "client_auth_type: Sometimes}", "client_auth_type: invalid 'Sometimes'"),
    ("tls_server_config: {cert_file: server.crt, key_file: server.key, min_version: TLS14}",
     "unknown TLS version 'TLS14'"),
    ("tls_server_config: {cert_file: server.crt, key_file: server.key, "
     "cipher_suites: [TLS_AES_128_GCM_SHA256]}", "cipher_suites is not supported"),
    ("tls_server_config: {cert_file: server.key, key_file: server.key}",
     "cannot load the certificates"),
    ("basic_auth_users: {prometheus: plaintext}", "basic_auth_users.prometheus: not a bcrypt hash"),
    ("basic_auth_users: [prometheus]", "basic_auth_users must be a mapping"),
    ("http_server_config: {headers: {X-Frame-Options: allow}}", "invalid value 'allow'"),
    ("http_server_config: {headers: {Server: me}}", "unknown key(s) in http_server_config.headers"),
])
def test_bad_web_config(tmp_path, pki, text, message):
    path = web_config(tmp_path, pki, text)
    with pytest.raises(WebConfigError) as info:
        parse_web_config(text, path)
    assert message in str(info.value)
    assert str(info.value).startswith(f"{path}: ")


def test_good_web_config(tmp_path, pki):
    path = web_config(tmp_path, pki, "")
    empty = parse_web_config("", path)
    assert empty.ssl_context is None and empty.users == {}
    config = parse_web_config(f"""\
tls_server_config:
  cert_file: server.crt
  key_file: server.key
  client_ca_file: ca.crt
  client_auth_type: VerifyClientCertIfGiven
  min_version: TLS13
http_server_config:
  http2: false
  headers: {{X-Content-Type-Options: nosniff}}
basic_auth_users:
  prometheus: {GOOD_HASH}
""", path)
    assert config.ssl_context.verify_mode == ssl.CERT_OPTIONAL
    assert config.ssl_context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert config.users == {"prometheus": GOOD_HASH.encode()}
    assert config.headers == {"X-Content-Type-Options": "nosniff"}


@pytest.mark.parametrize("args, message", [
    (["--web.config.file", "/nonexistent/web.yml"],
     "--web.config.file /nonexistent/web.yml: cannot read the web configuration"),
    (["--web.telemetry-path", "metrics"], "--web.telemetry-path: telemetry path 'metrics'"),
    (["--web.telemetry-path", "/"], "other than / (the landing page)"),
    (["--web.listen-address", "nowhere"], "listen address 'nowhere'"),
])
def test_cli_bad_web_options_exit_2(args, message):
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "exporter"))
    result = subprocess.run([sys.executable, LAUNCHER, *args], capture_output=True, text=True,
                            env=env, timeout=60)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert "Traceback" not in result.stderr
