# SPDX-License-Identifier: GPL-2.0-only
"""Where the figures come from: the taskmon bindings (:class:`TaskmonSource`)
and the files that name the watched processes (pid files, cgroups).

A source has two methods, which the tests' fake source imitates:

- ``module()``: ``(loaded, version)``, from /sys/module/taskmonitor;
- ``scrape()``: a context manager giving a reader for one scrape, with
  ``all_pids()`` (every process the kernel runs), ``stats(pids)`` (a dict
  pid -> taskmon.Stats, without the pids that do not run) and
  ``hidden(settle)`` (a list of taskmon.HiddenProcess, or None when the
  bindings have no hidden-process scan).

and, when the exporter makes groups, ``exits()``: a subscription to the
module's exit records (taskmon.Exits: ``try_next()``, ``close()``), or an
exception when the module or the bindings cannot give them.
"""

from __future__ import annotations

import contextlib
import os
from typing import Dict, Iterable, Iterator, List, Optional, Set, Tuple

__all__ = ["TaskmonSource", "read_pidfile", "unit_pids"]

_SYS_MODULE = "/sys/module/taskmonitor"


class _Reader:
    """One scrape's reads, on one read-only open of the device."""

    def __init__(self, monitor: object, proc: str) -> None:
        self._monitor = monitor
        self._proc = proc

    def all_pids(self) -> List[int]:
        """Every process (thread group) the kernel runs: TM_LIST when the
        bindings have it, else /proc's listing (which misses hidden ones)."""
        processes = getattr(self._monitor, "processes", None)
        if processes is not None:
            return [entry.pid for entry in processes()]
        return sorted(int(name) for name in os.listdir(self._proc) if name.isdigit())

    def stats(self, pids: Iterable[int]) -> Dict[int, object]:
        """Stats of *pids* that run; one that exited is left out."""
        import taskmon
        asked = sorted(set(pids))
        if not asked:
            return {}
        out = {}
        for pid, entry in zip(asked, self._monitor.stats_many(asked)):  # type: ignore[attr-defined]
            if isinstance(entry, taskmon.NoSuchProcessError):
                continue
            if isinstance(entry, BaseException):
                raise entry
            out[pid] = entry
        return out

    def hidden(self, settle: float) -> Optional[list]:
        """The hidden processes, or None if the bindings cannot scan."""
        scan = getattr(self._monitor, "hidden", None)
        if scan is None:
            return None
        return scan(self._proc, settle)


class TaskmonSource:
    """The real source: /dev/taskmonitor through the taskmon bindings,
    opened read-only for each scrape (so the exporter survives the module
    being unloaded and loaded again)."""

    def __init__(self, device: str = "/dev/taskmonitor", proc: str = "/proc",
                 sys_module: str = _SYS_MODULE) -> None:
        self.device = device
        self.proc = proc
        self.sys_module = sys_module

    def module(self) -> Tuple[bool, Optional[str]]:
        """Whether taskmonitor.ko is loaded (its /sys/module folder, or the
        device when /sys is not this machine's) and its version if known."""
        loaded = os.path.isdir(self.sys_module) or os.path.exists(self.device)
        version = None
        for name in ("version", "srcversion"):
            try:
                with open(os.path.join(self.sys_module, name), encoding="ascii") as file:
                    version = file.read().strip() or None
            except OSError:
                continue
            if version:
                break
        return loaded, version

    @contextlib.contextmanager
    def scrape(self) -> Iterator[_Reader]:
        import taskmon
        with taskmon.Monitor(self.device) as monitor:
            yield _Reader(monitor, self.proc)

    #: Records the kernel keeps between two drains (one per scrape):
    #: 16384 records of 136 bytes, 2.2 MiB charged to the exporter.
    EXIT_RING = 16384

    def exits(self) -> object:
        """A subscription to every exit (taskmon.Exits), on its own
        read-only file of the device.  NotSupportedError for a module or
        bindings without exit records, EDQUOT, ENOENT (not loaded)..."""
        import taskmon
        if not hasattr(taskmon, "Exits"):
            raise NotImplementedError("the taskmon bindings have no exit records (taskmon.Exits)")
        return taskmon.Exits(self.device, ring=self.EXIT_RING)

    @staticmethod
    def library_version() -> Optional[str]:
        try:
            import taskmon
            return taskmon.library_version()
        except Exception:  # the bindings missing or broken: health says so
            return None


def read_pidfile(path: str) -> Optional[int]:
    """The pid in the pid file *path*, or None if the file is missing or
    empty (the service is not running: not an error).  ValueError if it
    holds something else than a pid."""
    try:
        with open(path, encoding="ascii", errors="replace") as file:
            text = file.read(64).strip()
    except FileNotFoundError:
        return None
    if not text:
        return None
    first = text.split()[0]
    if not first.isdigit() or int(first) <= 0:
        raise ValueError(f"pid file {path}: {first!r} is no pid")
    return int(first)


def _unit_dirs(cgroup_root: str, unit: str) -> List[str]:
    """The cgroup folders of *unit*: UNIT given as a path below the cgroup
    root, or found by name in system.slice or anywhere (depth 4) below the
    unified hierarchy (cgroup v2) or v1's name=systemd one."""
    if "." not in unit.rsplit("/", 1)[-1]:
        unit += ".service"
    roots = [r for r in (cgroup_root, os.path.join(cgroup_root, "unified"),
                         os.path.join(cgroup_root, "systemd"))
             if os.path.isfile(os.path.join(r, "cgroup.procs"))]
    found = []
    for root in roots:
        if "/" in unit:
            candidate = os.path.join(root, unit.strip("/"))
            if os.path.isdir(candidate):
                found.append(candidate)
            continue
        candidate = os.path.join(root, "system.slice", unit)
        if os.path.isdir(candidate):
            found.append(candidate)
            continue
        base = root.rstrip("/").count("/")
        for here, dirs, _ in os.walk(root):
            if here.count("/") - base >= 4:
                dirs[:] = []
            if unit in dirs:
                found.append(os.path.join(here, unit))
                dirs.remove(unit)
    return found


def unit_pids(cgroup_root: str, unit: str) -> Set[int]:
    """The processes of the systemd unit *unit* (with or without
    ".service"), from cgroup.procs of its cgroup and the cgroups below;
    empty if the unit does not run."""
    pids: Set[int] = set()
    for top in _unit_dirs(cgroup_root, unit):
        for here, _, files in os.walk(top):
            if "cgroup.procs" not in files:
                continue
            try:
                with open(os.path.join(here, "cgroup.procs"), encoding="ascii") as file:
                    pids.update(int(line) for line in file if line.strip().isdigit())
            except OSError:
                continue  # the cgroup went away during the walk
    return pids
