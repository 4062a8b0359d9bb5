# SPDX-License-Identifier: GPL-2.0-only
"""The taskmon-exporter command: options, the HTTP server, signals."""

from __future__ import annotations

import argparse
import logging
import signal
import socket
import socketserver
import sys
import threading
from typing import List, Optional, Sequence
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from . import DEFAULT_PORT, __version__
from .config import DEFAULT_LISTEN, Config, ConfigError, compile_comm, load, parse_listen

__all__ = ["main", "build_parser", "make_config", "serve"]

log = logging.getLogger("taskmon_exporter")

_DESCRIPTION = """\
Serve taskmon's kernel-side figures of the watched processes, the number of
processes the kernel runs and the hidden ones, in Prometheus's text format
on http://ADDR:PORT/metrics. Reads /dev/taskmonitor read-only (member of the
group taskmon, or root). The options add to the configuration file's watch
set; --listen replaces its address."""

_EPILOG = f"""\
The default port, {DEFAULT_PORT}, is outside Prometheus's fully allocated exporter
range 9100-9999. Configuration format, metrics and alert rules: man
taskmon-exporter, docs/exporter.md."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taskmon-exporter", description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listen", metavar="ADDR:PORT",
                        help=f"where to serve /metrics: ADDR:PORT, [IPV6]:PORT or :PORT for every "
                             f"address (default: the configuration's, else {DEFAULT_LISTEN})")
    parser.add_argument("--config", metavar="FILE",
                        help="TOML configuration file (format: man taskmon-exporter)")
    parser.add_argument("--pid", metavar="PID", type=int, action="append", default=[],
                        help="watch this process (repeatable)")
    parser.add_argument("--pidfile", metavar="FILE", action="append", default=[],
                        help="watch the process whose pid FILE holds (repeatable)")
    parser.add_argument("--comm", metavar="REGEX", action="append", default=[],
                        help="watch every process whose command name matches REGEX (repeatable)")
    parser.add_argument("--unit", metavar="UNIT", action="append", default=[],
                        help="watch the processes of a systemd unit, by its cgroup (repeatable)")
    parser.add_argument("--device", metavar="PATH",
                        help="the taskmonitor device (default /dev/taskmonitor)")
    parser.add_argument("--no-hidden", action="store_true",
                        help="do not scan for hidden processes at each scrape")
    parser.add_argument("--log-level", default="info",
                        choices=["debug", "info", "warning", "error"],
                        help="what to log on standard error (default info)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def make_config(args: argparse.Namespace) -> Config:
    """The configuration file's settings with the options applied;
    ConfigError if anything is wrong."""
    config = load(args.config)
    if args.listen is not None:
        config.listen = parse_listen(args.listen)
    if args.device is not None:
        config.device = args.device
    if args.no_hidden:
        config.hidden = False
    for pid in args.pid:
        if not 0 < pid <= 4194304:
            raise ConfigError(f"--pid {pid}: no pid (1 to 4194304)")
        if pid not in config.watch.pids:
            config.watch.pids.append(pid)
    config.watch.pidfiles += args.pidfile
    config.watch.comm += [compile_comm(p) for p in args.comm]
    config.watch.units += args.unit
    return config


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base's name
        log.debug("%s - %s", self.address_string(), format % args)


def serve(config: Config, registry: object) -> WSGIServer:
    """An HTTP server of *registry* on config.listen, not yet serving
    (call serve_forever() in a thread); OSError if it cannot listen."""
    from prometheus_client import make_wsgi_app

    addr, port = config.listen
    infos = socket.getaddrinfo(addr or None, port, type=socket.SOCK_STREAM,
                               flags=socket.AI_PASSIVE)
    family = infos[0][0]
    if not addr:
        # Every address: IPv6's wildcard takes IPv4 too where IPv6 exists.
        family = socket.AF_INET6 if socket.has_ipv6 else socket.AF_INET
        addr = "::" if family == socket.AF_INET6 else "0.0.0.0"

    class Server(socketserver.ThreadingMixIn, WSGIServer):
        daemon_threads = True
        address_family = family

    return make_server(addr, port, make_wsgi_app(registry), Server, handler_class=_QuietHandler)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="taskmon-exporter: %(levelname)s: %(message)s")
    try:
        config = make_config(args)
    except ConfigError as exc:
        print(f"taskmon-exporter: {exc}", file=sys.stderr)
        return 2
    try:
        from prometheus_client import CollectorRegistry
    except ImportError:
        print("taskmon-exporter: the Python module prometheus_client is missing "
              "(apt-get install python3-prometheus-client)", file=sys.stderr)
        return 1
    from .collector import TaskmonCollector
    from .source import TaskmonSource

    registry = CollectorRegistry(auto_describe=False)
    registry.register(TaskmonCollector(config, TaskmonSource(config.device, config.proc)))
    try:
        server = serve(config, registry)
    except OSError as exc:
        addr, port = config.listen
        print(f"taskmon-exporter: cannot listen on {addr or '*'}:{port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    selectors: List[str] = [f"{kind} {value}" for kind, value in config.watch.selectors()]
    log.info("serving http://%s:%d/metrics; watching %s", f"[{host}]" if ":" in host else host,
             port, ", ".join(selectors) or "no process (see --pid, --config)")
    while not stop.wait(3600):
        pass
    server.shutdown()
    server.server_close()
    return 0
