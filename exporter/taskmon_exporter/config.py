# SPDX-License-Identifier: GPL-2.0-only
"""The exporter's configuration: a TOML file (docs/exporter.md), merged
with the command line.

    listen = "127.0.0.1:19110"     # ADDR:PORT, [IPv6]:PORT or :PORT
    telemetry_path = "/metrics"
    web_config_file = "/etc/taskmon/web-config.yml"   # TLS, basic auth (web.py)
    device = "/dev/taskmonitor"
    hidden = true                  # scan for hidden processes
    hidden_interval = 30           # every 30 s, apart from scrapes (0: in each scrape)
    hidden_settle = 0.2            # seconds between the scan's two looks
    proc = "/proc"

    [watch]
    pids = [1]
    pidfiles = ["/run/sshd.pid"]
    comm = ["^nginx$", "^postgres"]   # regular expressions, re.search on comm
    units = ["ssh.service"]           # systemd units, by their cgroup
    per_pid = false                   # taskmon_process_* per watched pid

    [groups]                          # process-exporter's groups (groups.py)
    config = "/etc/process-exporter/all.yaml"   # its configuration, unchanged
    children = true                   # process-exporter's -children

Every error is a :class:`ConfigError` whose message names the file, the
key and what is wrong.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import tomllib
from typing import Any, Dict, List, Optional, Tuple

from . import DEFAULT_PORT

__all__ = ["Config", "ConfigError", "WatchSet", "load", "parse_listen"]

DEFAULT_LISTEN = f":{DEFAULT_PORT}"


class ConfigError(ValueError):
    """A configuration the exporter cannot run with; the message says why."""


@dataclasses.dataclass
class WatchSet:
    """What to watch; each list may be empty."""

    pids: List[int] = dataclasses.field(default_factory=list)
    pidfiles: List[str] = dataclasses.field(default_factory=list)
    comm: List["re.Pattern[str]"] = dataclasses.field(default_factory=list)
    units: List[str] = dataclasses.field(default_factory=list)
    #: Serve the taskmon_process_* series of each watched pid (labels pid,
    #: comm: a new series set at every restart of a process); off, the
    #: watch set gives taskmon_watch_processes alone.
    per_pid: bool = False

    def selectors(self) -> List[Tuple[str, str]]:
        """(kind, value) for each entry, in a stable order: the labels of
        taskmon_watch_processes."""
        return ([("pid", str(p)) for p in self.pids]
                + [("pidfile", f) for f in self.pidfiles]
                + [("comm", c.pattern) for c in self.comm]
                + [("unit", u) for u in self.units])


@dataclasses.dataclass
class Config:
    """The whole configuration, defaults filled in."""

    listen: Tuple[str, int] = ("", DEFAULT_PORT)
    telemetry_path: str = "/metrics"
    #: The exporter-toolkit web configuration (TLS, basic auth), or None.
    web_config_file: Optional[str] = None
    device: str = "/dev/taskmonitor"
    hidden: bool = True
    hidden_settle: float = 0.2
    #: Seconds between two hidden-process scans, on their own thread; 0:
    #: one in each scrape.
    hidden_interval: float = 30.0
    proc: str = "/proc"
    cgroup_root: str = "/sys/fs/cgroup"
    watch: WatchSet = dataclasses.field(default_factory=WatchSet)
    #: process-exporter's configuration file, its rules (groups.py) once
    #: read, and whether unmatched children join their parent's group.
    groups_config: Optional[str] = None
    group_rules: Optional[List[Any]] = None
    groups_children: bool = True


_TOP_KEYS = {"listen", "telemetry_path", "web_config_file", "device", "hidden",
             "hidden_settle", "hidden_interval", "proc", "cgroup_root", "watch", "groups"}
_GROUPS_KEYS = {"config", "children"}
_WATCH_KEYS = {"pids", "pidfiles", "comm", "units", "per_pid"}


def parse_listen(text: str) -> Tuple[str, int]:
    """"ADDR:PORT", "[IPV6]:PORT" or ":PORT" (every address) as (addr, port);
    ConfigError if it is none of those."""
    if not isinstance(text, str) or ":" not in text:
        raise ConfigError(f"listen address {text!r}: expected ADDR:PORT, [IPV6]:PORT or :PORT")
    addr, _, port_text = text.rpartition(":")
    if addr.startswith("[") and addr.endswith("]"):
        addr = addr[1:-1]
        try:
            ipaddress.IPv6Address(addr)
        except ValueError:
            raise ConfigError(f"listen address {text!r}: {addr!r} is no IPv6 address") from None
    elif ":" in addr:
        raise ConfigError(f"listen address {text!r}: write an IPv6 address in brackets, "
                          "e.g. [::1]:PORT")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"listen address {text!r}: the port must be a number from 1 to 65535")
    return addr, int(port_text)


def _expect(path: str, key: str, value: Any, kind: type, what: str) -> Any:
    # bool is an int in Python: a port or pid of 'true' is a mistake.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ConfigError(f"{path}: {key} must be {what}, not {value!r}")
    return value


def _list(path: str, key: str, value: Any, kind: type, what: str) -> List[Any]:
    _expect(path, key, value, list, f"a list of {what}")
    return [_expect(path, f"{key}[{i}]", item, kind, what) for i, item in enumerate(value)]


def _pid(path: str, key: str, value: int) -> int:
    if not 0 < value <= 4194304:
        raise ConfigError(f"{path}: {key}: {value} is no pid (1 to 4194304)")
    return value


def compile_comm(pattern: str, where: str = "--comm") -> "re.Pattern[str]":
    """A command-name pattern, compiled; ConfigError naming *where* if bad."""
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"{where}: bad regular expression {pattern!r}: {exc}") from None


def _watch(path: str, table: Dict[str, Any]) -> WatchSet:
    _expect(path, "watch", table, dict, "a table ([watch])")
    unknown = sorted(set(table) - _WATCH_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) in [watch]: {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(_WATCH_KEYS))})")
    watch = WatchSet()
    for i, pid in enumerate(_list(path, "watch.pids", table.get("pids", []), int, "pids")):
        watch.pids.append(_pid(path, f"watch.pids[{i}]", pid))
    watch.pidfiles = _list(path, "watch.pidfiles", table.get("pidfiles", []), str, "paths")
    watch.comm = [compile_comm(p, f"{path}: watch.comm[{i}]") for i, p in
                  enumerate(_list(path, "watch.comm", table.get("comm", []), str, "patterns"))]
    watch.units = _list(path, "watch.units", table.get("units", []), str, "unit names")
    for i, unit in enumerate(watch.units):
        if not unit or ".." in unit.split("/"):
            raise ConfigError(f"{path}: watch.units[{i}]: {unit!r} is no unit name")
    if "per_pid" in table:
        watch.per_pid = _expect(path, "watch.per_pid", table["per_pid"], bool, "true or false")
    return watch


def parse(text: str, path: str = "<config>") -> Config:
    """A Config from TOML *text*; ConfigError if anything is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s): {', '.join(unknown)} "
                          f"(known: {', '.join(sorted(_TOP_KEYS))})")
    config = Config()
    if "listen" in data:
        try:
            config.listen = parse_listen(_expect(path, "listen", data["listen"], str,
                                                 "a string ADDR:PORT"))
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    for key in ("device", "proc", "cgroup_root", "web_config_file"):
        if key in data:
            setattr(config, key, _expect(path, key, data[key], str, "a path"))
    if "telemetry_path" in data:
        from .web import WebConfigError, check_telemetry_path
        try:
            config.telemetry_path = check_telemetry_path(
                _expect(path, "telemetry_path", data["telemetry_path"], str, "a path"))
        except WebConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    if "hidden" in data:
        config.hidden = _expect(path, "hidden", data["hidden"], bool, "true or false")
    if "hidden_settle" in data:
        settle = data["hidden_settle"]
        if isinstance(settle, bool) or not isinstance(settle, (int, float)) \
                or not 0 <= settle <= 10:
            raise ConfigError(f"{path}: hidden_settle must be 0 to 10 seconds, not {settle!r}")
        config.hidden_settle = float(settle)
    if "hidden_interval" in data:
        interval = data["hidden_interval"]
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) \
                or not 0 <= interval <= 86400:
            raise ConfigError(f"{path}: hidden_interval must be 0 (a scan in each scrape) to "
                              f"86400 seconds, not {interval!r}")
        config.hidden_interval = float(interval)
    if "watch" in data:
        config.watch = _watch(path, data["watch"])
    if "groups" in data:
        table = _expect(path, "groups", data["groups"], dict, "a table ([groups])")
        unknown = sorted(set(table) - _GROUPS_KEYS)
        if unknown:
            raise ConfigError(f"{path}: unknown key(s) in [groups]: {', '.join(unknown)} "
                              f"(known: {', '.join(sorted(_GROUPS_KEYS))})")
        if "config" in table:
            config.groups_config = _expect(path, "groups.config", table["config"], str, "a path")
        if "children" in table:
            config.groups_children = _expect(path, "groups.children", table["children"], bool,
                                             "true or false")
    return config


def load(path: Optional[str]) -> Config:
    """The Config of the file *path* (defaults if None); ConfigError if the
    file cannot be read or is wrong."""
    if path is None:
        return Config()
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    return parse(text, path)
