# SPDX-License-Identifier: GPL-2.0-only
"""The HTTP side: the web configuration file of the Prometheus ecosystem
(``--web.config.file``, the exporter-toolkit format), TLS, basic
authentication, the landing page and the server.

    tls_server_config:
      cert_file: server.crt          # relative paths: to this file's folder
      key_file: server.key
      client_ca_file: clients-ca.crt # mutual TLS, with client_auth_type
      client_auth_type: RequireAndVerifyClientCert
      min_version: TLS12             # TLS10 to TLS13 (default TLS12)
      client_allowed_sans: [prometheus.example.org]
    http_server_config:
      headers: {X-Content-Type-Options: nosniff}
    basic_auth_users:
      prometheus: $2y$10$...         # bcrypt hashes

Python's ssl (OpenSSL) does the TLS and python3-bcrypt checks the
passwords.  As exporter-toolkit does, the file (and the certificates it
names) is read again when it changes: at every connection the exporter
compares their modification times, so renewed certificates and changed
users take effect without a restart.  A file that became invalid is
logged and refuses connections until it is mended (fail closed).
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import importlib.util
import ipaddress
import logging
import os
import re
import socket
import socketserver
import ssl
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from . import __version__

__all__ = ["WebConfig", "WebConfigError", "WebConfigSource", "load_web_config", "make_app",
           "make_server", "check_telemetry_path"]

log = logging.getLogger("taskmon_exporter")

_TOP_KEYS = {"tls_server_config", "http_server_config", "basic_auth_users"}
_TLS_KEYS = {"cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version",
             "max_version", "client_allowed_sans", "prefer_server_cipher_suites",
             "cipher_suites", "curve_preferences", "cert", "key", "client_ca"}
# exporter-toolkit's keys that Python's ssl cannot honour as Go's crypto/tls
# does: refused with a message rather than silently ignored.
_TLS_UNSUPPORTED = {
    "cipher_suites": "Go's cipher suite names; OpenSSL's defaults apply (TLS 1.3 suites "
                     "are not configurable anyway)",
    "curve_preferences": "Go's curve names; OpenSSL's defaults apply",
    "cert": "inline certificates: write the PEM to a file and name it in cert_file",
    "key": "inline keys: write the PEM to a file and name it in key_file",
    "client_ca": "inline CA certificates: write the PEM to a file and name it in "
                 "client_ca_file",
}
_HTTP_KEYS = {"http2", "headers"}
# The headers exporter-toolkit lets one set, and their allowed values (None: any).
_HEADERS: Dict[str, Optional[Tuple[str, ...]]] = {
    "Strict-Transport-Security": None,
    "X-Content-Type-Options": ("nosniff",),
    "X-Frame-Options": ("deny", "sameorigin"),
    "X-XSS-Protection": None,
    "Content-Security-Policy": None,
}
_VERSIONS = {"TLS10": ssl.TLSVersion.TLSv1, "TLS11": ssl.TLSVersion.TLSv1_1,
             "TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}
_CLIENT_AUTH = {
    "": ssl.CERT_NONE, "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_BCRYPT = re.compile(r"^\$2[aby]?\$(\d\d)\$[./A-Za-z0-9]{53}$")
#: Compared against when the user is unknown, so that the answer takes as
#: long as for a known user (no user enumeration by timing): the bcrypt
#: hash (cost 10) of a random password nobody knows.
_DECOY_HASH = b"$2b$10$oW1cParb/ond78OyuADRB.rw8/mDomUdV0X3jnE.U3VHJdS0JemFS"
_HASH_HELP = ("make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n' (apache2-utils), or "
              "python3 -c 'import bcrypt, getpass; "
              "print(bcrypt.hashpw(getpass.getpass().encode(), bcrypt.gensalt()).decode())'")


class WebConfigError(ValueError):
    """A web configuration the exporter cannot serve with; says why."""


@dataclasses.dataclass
class WebConfig:
    """What --web.config.file says, checked; the defaults: plain HTTP, no
    authentication."""

    ssl_context: Optional[ssl.SSLContext] = None
    allowed_sans: List[str] = dataclasses.field(default_factory=list)
    users: Dict[str, bytes] = dataclasses.field(default_factory=dict)
    headers: Dict[str, str] = dataclasses.field(default_factory=dict)
    #: Files whose change means reading the configuration again.
    files: List[str] = dataclasses.field(default_factory=list)


def _mapping(path: str, key: str, value: Any, known: Iterable[str]) -> Dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WebConfigError(f"{path}: {key} must be a mapping, not {value!r}")
    unknown = sorted(str(k) for k in value if k not in known)
    if unknown:
        raise WebConfigError(f"{path}: unknown key(s) in {key}: {', '.join(unknown)} "
                             f"(known: {', '.join(sorted(known))})")
    return value


def _string(path: str, key: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WebConfigError(f"{path}: {key} must be a string, not {value!r}")
    return value


def _tls(path: str, table: Dict[str, Any], files: List[str]) -> Tuple[
        Optional[ssl.SSLContext], List[str]]:
    where = "tls_server_config"
    for key, why in _TLS_UNSUPPORTED.items():
        if table.get(key) not in (None, "", []):
            raise WebConfigError(f"{path}: {where}.{key} is not supported by taskmon-exporter "
                                 f"({why}): remove it")
    folder = os.path.dirname(os.path.abspath(path))

    def file(key: str) -> str:
        name = _string(path, f"{where}.{key}", table.get(key))
        if not name:
            return ""
        full = os.path.join(folder, name)
        if not os.path.isfile(full):
            raise WebConfigError(f"{path}: {where}.{key}: {full} is no readable file")
        files.append(full)
        return full

    cert, key = file("cert_file"), file("key_file")
    ca = file("client_ca_file")
    auth = _string(path, f"{where}.client_auth_type", table.get("client_auth_type"))
    if auth in ("RequestClientCert", "RequireAnyClientCert", "RequireClientCert"):
        raise WebConfigError(
            f"{path}: {where}.client_auth_type {auth} (a client certificate taken without "
            "verifying it) is not supported by taskmon-exporter: use "
            "RequireAndVerifyClientCert or VerifyClientCertIfGiven with client_ca_file")
    if auth not in _CLIENT_AUTH:
        raise WebConfigError(f"{path}: {where}.client_auth_type: invalid {auth!r} (one of "
                             "NoClientCert, VerifyClientCertIfGiven, "
                             "RequireAndVerifyClientCert)")
    sans = table.get("client_allowed_sans") or []
    if not isinstance(sans, list) or not all(isinstance(s, str) for s in sans):
        raise WebConfigError(f"{path}: {where}.client_allowed_sans must be a list of strings")
    if not cert and not key:
        if ca or auth or sans:
            raise WebConfigError(f"{path}: {where}: client certificates need TLS: "
                                 "set cert_file and key_file")
        return None, []
    if not cert:
        raise WebConfigError(f"{path}: {where}: missing cert_file (key_file is set)")
    if not key:
        raise WebConfigError(f"{path}: {where}: missing key_file (cert_file is set)")
    verify = _CLIENT_AUTH[auth]
    if ca and verify == ssl.CERT_NONE:
        raise WebConfigError(f"{path}: {where}: client_ca_file is set without a client "
                             "authentication policy: set client_auth_type to "
                             "RequireAndVerifyClientCert (or VerifyClientCertIfGiven)")
    if verify != ssl.CERT_NONE and not ca:
        raise WebConfigError(f"{path}: {where}: client_auth_type {auth} needs "
                             "client_ca_file, the CA that signs the clients' certificates")
    if sans and verify != ssl.CERT_REQUIRED:
        raise WebConfigError(f"{path}: {where}: client_allowed_sans needs client_auth_type "
                             "RequireAndVerifyClientCert")
    versions = {}
    for which, default in (("min_version", "TLS12"), ("max_version", "TLS13")):
        name = _string(path, f"{where}.{which}", table.get(which)) or default
        if name not in _VERSIONS:
            raise WebConfigError(f"{path}: {where}.{which}: unknown TLS version {name!r} "
                                 f"(one of {', '.join(_VERSIONS)})")
        versions[which] = _VERSIONS[name]
    if versions["min_version"] > versions["max_version"]:
        raise WebConfigError(f"{path}: {where}: min_version is above max_version")
    if not isinstance(table.get("prefer_server_cipher_suites", True), bool):
        raise WebConfigError(f"{path}: {where}.prefer_server_cipher_suites must be true or false")

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.minimum_version = versions["min_version"]
        context.maximum_version = versions["max_version"]
        context.load_cert_chain(cert, key)
        if ca:
            context.load_verify_locations(cafile=ca)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise WebConfigError(f"{path}: {where}: cannot load the certificates "
                             f"({cert}, {key}{', ' + ca if ca else ''}): {exc}") from None
    context.verify_mode = verify
    if table.get("prefer_server_cipher_suites", True):
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    return context, list(sans)


def parse_web_config(text: str, path: str = "<web config>") -> WebConfig:
    """A WebConfig from YAML *text*; WebConfigError if anything is wrong.
    Relative file names are taken from *path*'s folder."""
    import yaml  # type: ignore[import]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WebConfigError(f"{path}: not valid YAML: {exc}") from None
    data = _mapping(path, "the web configuration", data, _TOP_KEYS)
    config = WebConfig(files=[os.path.abspath(path)])
    tls = _mapping(path, "tls_server_config", data.get("tls_server_config"), _TLS_KEYS)
    config.ssl_context, config.allowed_sans = _tls(path, tls, config.files)
    http = _mapping(path, "http_server_config", data.get("http_server_config"), _HTTP_KEYS)
    if not isinstance(http.get("http2", True), bool):
        raise WebConfigError(f"{path}: http_server_config.http2 must be true or false")
    headers = _mapping(path, "http_server_config.headers", http.get("headers"), _HEADERS)
    for name, value in headers.items():
        allowed = _HEADERS[name]
        if not isinstance(value, str) or (allowed is not None and value not in allowed):
            raise WebConfigError(f"{path}: http_server_config.headers.{name}: invalid value "
                                 f"{value!r}" + (f" (one of {', '.join(allowed)})"
                                                 if allowed else ""))
        config.headers[name] = value
    users = data.get("basic_auth_users") or {}
    if not isinstance(users, dict):
        raise WebConfigError(f"{path}: basic_auth_users must be a mapping of user names to "
                             "bcrypt hashes")
    for user, hashed in users.items():
        if not isinstance(user, str) or not user or ":" in user:
            raise WebConfigError(f"{path}: basic_auth_users: {user!r} is no user name")
        match = _BCRYPT.match(hashed) if isinstance(hashed, str) else None
        if match is None or not 4 <= int(match.group(1)) <= 31:
            raise WebConfigError(f"{path}: basic_auth_users.{user}: not a bcrypt hash "
                                 f"({_HASH_HELP})")
        config.users[user] = hashed.encode("ascii")
    if config.users and importlib.util.find_spec("bcrypt") is None:
        raise WebConfigError(f"{path}: basic_auth_users need the Python module bcrypt "
                             "(apt-get install python3-bcrypt)")
    return config


def load_web_config(path: str) -> WebConfig:
    """The WebConfig of the file *path*; WebConfigError if it cannot be read
    or is wrong."""
    if importlib.util.find_spec("yaml") is None:
        raise WebConfigError(f"{path}: reading it needs the Python module yaml "
                             "(apt-get install python3-yaml)")
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise WebConfigError(f"{path}: cannot read the web configuration: "
                             f"{exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise WebConfigError(f"{path}: not UTF-8 text") from None
    return parse_web_config(text, path)


def _signature(files: Iterable[str]) -> Tuple[Tuple[str, int, int, int], ...]:
    out = []
    for name in files:
        try:
            st = os.stat(name)
            out.append((name, st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((name, 0, -1, 0))
    return tuple(out)


class WebConfigSource:
    """The current WebConfig: none (plain HTTP, no authentication) or the
    file *path*'s, read again whenever it or a file it names changes."""

    def __init__(self, path: Optional[str] = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._config = WebConfig() if path is None else load_web_config(path)
        self._signature = _signature(self._config.files)
        self._error: Optional[str] = None
        self._auth_cache: Dict[bytes, bool] = {}
        self._bcrypt_lock = threading.Lock()

    def get(self) -> WebConfig:
        """The configuration to serve this connection with;
        WebConfigError if the file became invalid."""
        if self.path is None:
            return self._config
        with self._lock:
            signature = _signature(self._config.files)
            if signature != self._signature:
                try:
                    config = load_web_config(self.path)
                except WebConfigError as exc:
                    if str(exc) != self._error:
                        log.error("web configuration: %s (refusing connections until it is "
                                  "mended)", exc)
                    self._error = str(exc)
                    raise
                self._config, self._signature = config, _signature(config.files)
                self._auth_cache.clear()
                self._error = None
                log.info("web configuration %s read again", self.path)
            return self._config

    def authorized(self, config: WebConfig, header: Optional[str]) -> bool:
        """Whether the Authorization header *header* names a user of
        basic_auth_users with the right password."""
        import base64
        import binascii
        if not header or not header[:6].lower() == "basic ":
            return False
        try:
            user, sep, password = base64.b64decode(header[6:].strip(),
                                                   validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if not sep:
            return False
        hashed = config.users.get(user)
        known = hashed is not None
        key = hashlib.sha256(b"\0".join(
            (user.encode(), hashed or _DECOY_HASH, password.encode()))).digest()
        with self._bcrypt_lock:
            ok = self._auth_cache.get(key)
            if ok is None:
                import bcrypt
                try:
                    ok = bcrypt.checkpw(password.encode(), hashed or _DECOY_HASH) and known
                except ValueError:
                    ok = False
                if len(self._auth_cache) >= 1024:
                    self._auth_cache.clear()
                self._auth_cache[key] = ok
        return ok


def check_telemetry_path(path: str) -> str:
    """*path* if it can serve the metrics; WebConfigError otherwise."""
    if not path.startswith("/") or path == "/" or any(c in path for c in "?# \t\n"):
        raise WebConfigError(f"telemetry path {path!r}: expected an absolute path other than "
                             "/ (the landing page), e.g. /metrics")
    return path


_LANDING = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>taskmon-exporter</title></head>
<body>
<h1>taskmon-exporter</h1>
<p>Prometheus exporter of taskmon's kernel-side process figures, version {version}.</p>
<ul>
<li><a href="{path}">Metrics</a></li>
</ul>
</body>
</html>
"""


def make_app(registry: object, telemetry_path: str, web: WebConfigSource) -> Callable:
    """The WSGI application: basic authentication (when configured) on
    every path, the metrics on *telemetry_path*, a landing page on /, 404
    elsewhere."""
    from prometheus_client import make_wsgi_app

    metrics = make_wsgi_app(registry)  # type: ignore[arg-type]
    landing = _LANDING.format(version=html.escape(__version__),
                              path=html.escape(telemetry_path, quote=True)).encode()

    def app(environ: Dict[str, Any], start_response: Callable) -> List[bytes]:
        try:
            config = web.get()
        except WebConfigError:
            start_response("500 Internal Server Error",
                           [("Content-Type", "text/plain; charset=utf-8")])
            return [b"Internal Server Error: the web configuration is invalid (see the log)\n"]
        extra = list(config.headers.items())

        def plain(status: str, text: str, *headers: Tuple[str, str]) -> List[bytes]:
            start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                                    *headers] + extra)
            return [text.encode()]

        if config.users and not web.authorized(config, environ.get("HTTP_AUTHORIZATION")):
            return plain("401 Unauthorized", "Unauthorized\n", ("WWW-Authenticate", "Basic"))
        path = environ.get("PATH_INFO") or "/"
        if path == telemetry_path:
            def with_extra(status: str, headers: List[Tuple[str, str]],
                           exc_info: Any = None) -> Any:
                return start_response(status, [h for h in headers if h[0]] + extra, exc_info)
            return metrics(environ, with_extra)  # type: ignore[no-any-return]
        if path == "/":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")] + extra)
            return [landing]
        return plain("404 Not Found", "404 page not found\n")

    return app


class _QuietHandler(WSGIRequestHandler):
    # A client that connects and says nothing does not hold a thread forever.
    timeout = 60

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base's name
        log.debug("%s - %s", self.address_string(), format % args)


def _peer_sans(cert: Dict[str, Any]) -> List[str]:
    out = []
    for kind, value in cert.get("subjectAltName", ()):
        if kind == "IP Address":
            try:
                value = str(ipaddress.ip_address(value.strip()))
            except ValueError:
                pass
        out.append(value)
    return out


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    """A threading WSGI server that, per connection and in the
    connection's thread, takes the current web configuration and, with
    TLS, does the handshake (a plain HTTP request gets a 400 saying so)."""

    daemon_threads = True
    web: WebConfigSource

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            request = self._secure(request, client_address)
        except (OSError, WebConfigError) as exc:
            log.debug("%s: connection refused: %s", client_address[0], exc)
            self.shutdown_request(request)
            return
        super().process_request_thread(request, client_address)

    def _secure(self, request: socket.socket, client_address: Any) -> socket.socket:
        config = self.web.get()
        if config.ssl_context is None:
            return request
        request.settimeout(_QuietHandler.timeout)
        first = request.recv(1, socket.MSG_PEEK)
        if first and first != b"\x16":  # not a TLS handshake record
            request.sendall(b"HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\n"
                            b"Connection: close\r\n\r\n"
                            b"Client sent an HTTP request to an HTTPS server.\n")
            raise OSError("plain HTTP to the TLS listener")
        secure = config.ssl_context.wrap_socket(request, server_side=True)
        if config.allowed_sans:
            sans = _peer_sans(secure.getpeercert() or {})
            if not set(sans) & set(config.allowed_sans):
                secure.close()
                raise OSError(f"client certificate's SANs {sans} not in client_allowed_sans")
        return secure


def make_server(listen: Tuple[str, int], app: Callable, web: WebConfigSource) -> WSGIServer:
    """A server of *app* on *listen* (addr, port; addr "" for every
    address), not yet serving (call serve_forever() in a thread); OSError
    if it cannot listen."""
    addr, port = listen
    infos = socket.getaddrinfo(addr or None, port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    family = infos[0][0]
    if not addr:
        # Every address: IPv6's wildcard takes IPv4 too where IPv6 exists.
        family = socket.AF_INET6 if socket.has_ipv6 else socket.AF_INET
        addr = "::" if family == socket.AF_INET6 else "0.0.0.0"

    class Server(_Server):
        address_family = family

    Server.web = web
    server = Server((addr, port), _QuietHandler)
    server.set_app(app)
    return server
