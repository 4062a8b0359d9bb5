# SPDX-License-Identifier: GPL-2.0-only
"""The taskmon-exporter command: options, the HTTP server, signals."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import signal
import sys
import threading
from typing import List, Optional, Sequence
from wsgiref.simple_server import WSGIServer

from . import DEFAULT_PORT, __version__
from .config import DEFAULT_LISTEN, Config, ConfigError, compile_comm, load, parse_listen
from .web import (WebConfigError, WebConfigSource, check_telemetry_path, make_app,
                  make_server)

__all__ = ["main", "build_parser", "build_registry", "make_config", "serve"]

log = logging.getLogger("taskmon_exporter")

_DESCRIPTION = """\
Serve taskmon's kernel-side figures of the watched processes, the number of
processes the kernel runs and the hidden ones, in Prometheus's text format
on http(s)://ADDR:PORT/metrics, with the exporter's own process_* and
python_* metrics. Reads /dev/taskmonitor read-only (member of the group
taskmon, or root). The options add to the configuration file's watch set;
the --web.* options replace its settings."""

_EPILOG = f"""\
The default port, {DEFAULT_PORT}, is outside Prometheus's fully allocated exporter
range 9100-9999. --web.config.file takes the Prometheus exporter-toolkit
format (tls_server_config, basic_auth_users with bcrypt hashes). Configuration
format, metrics and alert rules: man taskmon-exporter, docs/exporter.md."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="taskmon-exporter", description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    # --listen: the option's name before the Prometheus ecosystem's, kept.
    parser.add_argument("--web.listen-address", "--listen", dest="listen", metavar="ADDR:PORT",
                        help=f"where to serve: ADDR:PORT, [IPV6]:PORT or :PORT for every "
                             f"address (default: the configuration's, else {DEFAULT_LISTEN}); "
                             "--listen is the same")
    parser.add_argument("--web.telemetry-path", dest="telemetry_path", metavar="PATH",
                        help="the path of the metrics (default: the configuration's, else "
                             "/metrics); / is a landing page, any other path 404")
    parser.add_argument("--web.config.file", dest="web_config_file", metavar="FILE",
                        help="web configuration (YAML, Prometheus exporter-toolkit format): "
                             "TLS certificate and key, client CA for mutual TLS, "
                             "basic_auth_users with bcrypt hashes (default: plain HTTP, "
                             "no authentication)")
    parser.add_argument("--config", metavar="FILE",
                        help="TOML configuration file (format: man taskmon-exporter)")
    parser.add_argument("--groups.config", dest="groups_config", metavar="FILE",
                        help="serve process-exporter's namedprocess_namegroup_* series for the "
                             "groups its configuration FILE (YAML, process_names) makes")
    parser.add_argument("--pid", metavar="PID", type=int, action="append", default=[],
                        help="watch this process (repeatable)")
    parser.add_argument("--pidfile", metavar="FILE", action="append", default=[],
                        help="watch the process whose pid FILE holds (repeatable)")
    parser.add_argument("--comm", metavar="REGEX", action="append", default=[],
                        help="watch every process whose command name matches REGEX (repeatable)")
    parser.add_argument("--unit", metavar="UNIT", action="append", default=[],
                        help="watch the processes of a systemd unit, by its cgroup (repeatable)")
    parser.add_argument("--per-pid", action="store_true",
                        help="serve the taskmon_process_* series of each watched process "
                             "(labels pid and comm; [watch] per_pid); without it the watch "
                             "set gives taskmon_watch_processes alone")
    parser.add_argument("--device", metavar="PATH",
                        help="the taskmonitor device (default /dev/taskmonitor)")
    parser.add_argument("--no-hidden", action="store_true",
                        help="do not scan for hidden processes")
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
    if args.telemetry_path is not None:
        try:
            config.telemetry_path = check_telemetry_path(args.telemetry_path)
        except WebConfigError as exc:
            raise ConfigError(f"--web.telemetry-path: {exc}") from None
    if args.web_config_file is not None:
        config.web_config_file = args.web_config_file
    if args.groups_config is not None:
        config.groups_config = args.groups_config
    if config.groups_config is not None:
        from .groups import GroupError, load_process_names
        try:
            config.group_rules = load_process_names(config.groups_config)
        except GroupError as exc:
            raise ConfigError(f"groups: {exc}") from None
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
    if args.per_pid:
        config.watch.per_pid = True
    return config


def build_registry(config: Config, source: object) -> object:
    """The registry a scrape collects: taskmon's collector and the
    exporter's own process_* and python_* metrics (prometheus_client's
    process, platform and garbage-collector collectors)."""
    from prometheus_client import (CollectorRegistry, GCCollector, PlatformCollector,
                                   ProcessCollector)

    from .collector import TaskmonCollector

    registry = CollectorRegistry(auto_describe=False)
    collector = TaskmonCollector(config, source)
    registry.register(collector)
    registry.taskmon_collector = collector  # type: ignore[attr-defined]
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return registry


def serve(config: Config, registry: object,
          web: Optional[WebConfigSource] = None) -> WSGIServer:
    """An HTTP(S) server of *registry* on config.listen, not yet serving
    (call serve_forever() in a thread); OSError if it cannot listen,
    WebConfigError if config.web_config_file is wrong."""
    if web is None:
        web = WebConfigSource(config.web_config_file)
    return make_server(config.listen, make_app(registry, config.telemetry_path, web), web)


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
        web = WebConfigSource(config.web_config_file)
    except WebConfigError as exc:
        print(f"taskmon-exporter: --web.config.file {exc}", file=sys.stderr)
        return 2
    if importlib.util.find_spec("prometheus_client") is None:
        print("taskmon-exporter: the Python module prometheus_client is missing "
              "(apt-get install python3-prometheus-client)", file=sys.stderr)
        return 1
    from .source import TaskmonSource

    registry = build_registry(config, TaskmonSource(config.device, config.proc))
    try:
        server = serve(config, registry, web)
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
    collector = getattr(registry, "taskmon_collector")
    collector.start()
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    host, port = str(server.server_address[0]), server.server_address[1]
    selectors: List[str] = [f"{kind} {value}" for kind, value in config.watch.selectors()]
    scheme = "https" if web.get().ssl_context is not None else "http"
    log.info("serving %s://%s:%d%s%s; watching %s", scheme,
             f"[{host}]" if ":" in host else host, port, config.telemetry_path,
             " (basic authentication)" if web.get().users else "",
             ", ".join(selectors) or "no process (see --pid, --config)")
    while not stop.wait(3600):
        pass
    server.shutdown()
    server.server_close()
    collector.close()
    return 0
