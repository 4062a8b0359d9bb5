# SPDX-License-Identifier: GPL-2.0-only
"""TaskmonCollector: the metric families, built at scrape time.

Each scrape resolves the watch set again, so a process that exited is gone
from the next scrape and one that started (a pid file rewritten, a unit
restarted, a new process whose name matches) appears.  A watched process
that does not run is no error: ``taskmon_watch_processes`` is 0 for its
selector.  Whatever fails (permission, a bad pid file, a module without a
request) counts in ``taskmon_exporter_scrape_errors_total`` and is logged;
the rest of the scrape goes on.

The hidden-process scan (which reads every /proc/PID and waits
``hidden_settle`` when it finds a candidate) runs on its own thread every
``hidden_interval`` seconds (:class:`HiddenScanner`); a scrape serves its
last result, with the scan's time and duration.  ``hidden_interval = 0``
scans in each scrape instead.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Dict, Iterator, List, Optional, Set, Tuple

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from . import __version__
from .config import Config
from .source import read_pidfile, unit_pids

__all__ = ["HiddenScanner", "TaskmonCollector"]

log = logging.getLogger("taskmon_exporter")

_NS = 1e9
_PROC_LABELS = ["pid", "comm"]


class HiddenScanner:
    """The hidden-process scan of *source*, every *interval* seconds on a
    thread of its own (:meth:`start`, :meth:`stop`), or on demand
    (:meth:`scan`); :meth:`last` gives the latest result to scrapes."""

    #: How long the first scrape waits for the first scan (seconds).
    FIRST_WAIT = 5.0

    def __init__(self, source: object, settle: float, interval: float,
                 on_error: Callable[[str, BaseException], None]) -> None:
        self.source = source
        self.settle = settle
        self.interval = interval
        self._on_error = on_error
        # Guards the three figures below, written by the scan thread and
        # read by scrapes.
        self._lock = threading.Lock()
        self._found: Optional[list] = None      # None: no result (no scan, no module)
        self._finished: Optional[float] = None  # time.time() when the last scan ended
        self._duration: Optional[float] = None  # how long it took, seconds
        self._stop = threading.Event()
        self._scanned = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        """Start the thread (once); a no-op for interval 0."""
        if self.interval > 0 and self._thread is None and not self._stop.is_set():
            self._thread = threading.Thread(target=self._run, name="hidden-scan", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread, waiting for a scan in progress to end."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=self.settle + 30)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.scan()
            self._scanned.set()
            if self._stop.wait(self.interval):
                break

    def scan(self, reader: Optional[object] = None) -> None:
        """One scan, through *reader* (a scrape's) or a read of its own."""
        started = time.monotonic()
        found: Optional[list] = None
        try:
            if reader is not None:
                found = reader.hidden(self.settle)  # type: ignore[attr-defined]
            elif self.source.module()[0]:  # type: ignore[attr-defined]
                with self.source.scrape() as own:  # type: ignore[attr-defined]
                    found = own.hidden(self.settle)
        except Exception as exc:  # noqa: BLE001 - counted, the next scan tries again
            self._on_error("scanning for hidden processes", exc)
            found = None
        with self._lock:
            self._found = found
            self._finished = time.time()
            self._duration = time.monotonic() - started

    def last(self) -> Tuple[Optional[list], Optional[float], Optional[float]]:
        """(hidden processes or None, when the scan ended, its duration);
        the first call waits up to FIRST_WAIT s for the first scan."""
        if self.running and not self._scanned.is_set():
            self._scanned.wait(self.FIRST_WAIT)
        with self._lock:
            return self._found, self._finished, self._duration


class TaskmonCollector(Collector):
    """Collects from *source* (a TaskmonSource or the tests' fake) the
    processes that *config* watches."""

    def __init__(self, config: Config, source: object) -> None:
        self.config = config
        self.source = source
        self._errors = 0
        self._errors_lock = threading.Lock()   # the scan thread counts too
        self._hidden: Optional[HiddenScanner] = None
        if config.hidden:
            self._hidden = HiddenScanner(source, config.hidden_settle, config.hidden_interval,
                                         self._error)
        self._groups = None
        #: The exit-record subscription (groups only), and whether its
        #: failure was logged (once).
        self._exits: Optional[object] = None
        self._exits_logged = False
        if config.group_rules is not None:
            from .groups import GroupTracker
            self._groups = GroupTracker(config.group_rules, config.proc, config.groups_children)
            self._subscribe()
        # prometheus_client's server may scrape from two threads at once.
        self._lock = threading.Lock()

    def _subscribe(self) -> None:
        """Subscribe to the module's exit records for the groups; on
        failure log once and go on without (members' last figures before
        their exit are then lost, as in process-exporter)."""
        subscribe = getattr(self.source, "exits", None)
        try:
            if subscribe is None:
                raise NotImplementedError("the source gives no exit records")
            self._exits = subscribe()
        except Exception as exc:  # noqa: BLE001 - EOPNOTSUPP, EDQUOT, old module...
            if not self._exits_logged:
                log.warning("groups: no exit records (%s): what a member does between the last "
                            "scrape and its exit is not counted; trying again at each scrape",
                            exc)
                self._exits_logged = True
            return
        if self._exits_logged:
            log.info("groups: exit records subscribed")
        self._exits_logged = False
        assert self._groups is not None
        self._groups.follow_exits = True

    def _drain_exits(self) -> List[object]:
        """The exit records queued since the last drain."""
        records: List[object] = []
        if self._exits is None:
            return records
        try:
            while len(records) < 1 << 20:
                record = self._exits.try_next()  # type: ignore[attr-defined]
                if record is None:
                    break
                records.append(record)
        except Exception as exc:  # noqa: BLE001
            self._error("reading the exit records", exc)
            self._unsubscribe()
        return records

    def start(self) -> None:
        """Start the background work (the hidden-process scan's thread);
        the first scrape does it otherwise."""
        if self._hidden is not None:
            self._hidden.start()

    def close(self) -> None:
        """Stop the hidden-process scan's thread and end the exit-record
        subscription (at the exporter's exit)."""
        if self._hidden is not None:
            self._hidden.stop()
        self._unsubscribe()

    def _unsubscribe(self) -> None:
        """End the exit-record subscription (a later scrape subscribes
        again); the hidden-process scan goes on."""
        exits, self._exits = self._exits, None
        if self._groups is not None:
            self._groups.follow_exits = False
        if exits is not None:
            try:
                exits.close()  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - closing at exit
                pass

    def describe(self) -> List[object]:
        # No collect() at registration: the module may not be loaded yet.
        return []

    def _error(self, what: str, exc: BaseException) -> None:
        with self._errors_lock:
            self._errors += 1
        log.warning("scrape: %s: %s", what, exc)

    def _watched_pids(
            self, reader: object
    ) -> Tuple[Set[int], Dict[Tuple[str, str], Set[int]], Dict[int, object]]:
        """(every watched pid, the pids of each selector, stats already read)."""
        watch = self.config.watch
        by_selector: Dict[Tuple[str, str], Set[int]] = {}
        for pid in watch.pids:
            by_selector[("pid", str(pid))] = {pid}
        for path in watch.pidfiles:
            in_file: Optional[int]
            try:
                in_file = read_pidfile(path)
            except (OSError, ValueError) as exc:
                self._error(f"pid file {path}", exc)
                in_file = None
            by_selector[("pidfile", path)] = set() if in_file is None else {in_file}
        for unit in watch.units:
            try:
                by_selector[("unit", unit)] = unit_pids(self.config.cgroup_root, unit)
            except OSError as exc:
                self._error(f"unit {unit}", exc)
                by_selector[("unit", unit)] = set()
        known: Dict[int, object] = {}
        if watch.comm:
            try:
                known = reader.stats(reader.all_pids())  # type: ignore[attr-defined]
            except Exception as exc:  # noqa: BLE001 - counted, the scrape goes on
                self._error("listing the processes for the comm patterns", exc)
            for pattern in watch.comm:
                by_selector[("comm", pattern.pattern)] = {
                    pid for pid, st in known.items() if pattern.search(getattr(st, "comm") or "")}
        pids: Set[int] = set()
        for members in by_selector.values():
            pids |= members
        return pids, by_selector, known

    def collect(self) -> Iterator[Metric]:
        self.start()
        with self._lock:
            yield from self._collect()

    def _collect(self) -> Iterator[Metric]:
        started = time.monotonic()
        cpu = CounterMetricFamily(
            "taskmon_process_cpu_seconds", "CPU time of the process, all its threads, by mode.",
            labels=_PROC_LABELS + ["mode"])
        rss = GaugeMetricFamily(
            "taskmon_process_resident_memory_bytes",
            "Resident memory of the process by kind (anon, file, shmem).",
            labels=_PROC_LABELS + ["kind"])
        vsize = GaugeMetricFamily("taskmon_process_virtual_memory_bytes",
                                  "Virtual memory size of the process.", labels=_PROC_LABELS)
        threads = GaugeMetricFamily("taskmon_process_threads",
                                    "Number of threads of the process.", labels=_PROC_LABELS)
        faults = CounterMetricFamily(
            "taskmon_process_page_faults", "Page faults of the process: minor (no I/O), major.",
            labels=_PROC_LABELS + ["kind"])
        ctxsw = CounterMetricFamily(
            "taskmon_process_context_switches",
            "Context switches of the process: voluntary (it slept), involuntary (preempted).",
            labels=_PROC_LABELS + ["kind"])
        watched = GaugeMetricFamily(
            "taskmon_watch_processes",
            "Processes that run for each watch selector of the configuration (0: none runs).",
            labels=["selector", "value"])
        families: List[Metric] = [watched]
        if self.config.watch.per_pid:
            families += [cpu, rss, vsize, threads, faults, ctxsw]

        loaded, version = False, None
        try:
            loaded, version = self.source.module()  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001
            self._error("module state", exc)
        module_loaded = GaugeMetricFamily(
            "taskmon_module_loaded", "1 if taskmonitor.ko is loaded, else 0.",
            value=1 if loaded else 0)
        families.append(module_loaded)
        if loaded:
            families.append(InfoMetricFamily(
                "taskmon_module", "The loaded taskmonitor.ko's version.",
                value={"version": version or "unknown"}))

        if loaded:
            try:
                with self.source.scrape() as reader:  # type: ignore[attr-defined]
                    families += self._from_reader(reader, cpu, rss, vsize, threads, faults,
                                                  ctxsw, watched)
            except Exception as exc:  # noqa: BLE001 - e.g. permission denied on the device
                self._error(f"reading {getattr(self.source, 'device', 'the device')}", exc)
        else:
            for kind, value in self.config.watch.selectors():
                watched.add_metric([kind, value], 0)

        if self._groups is not None:
            families.append(GaugeMetricFamily(
                "taskmon_exporter_exit_records",
                "1 while the exporter receives the module's exit records for the groups (the "
                "figures of members between the last scrape and their exit count), else 0.",
                value=1 if self._exits is not None else 0))
            families.append(CounterMetricFamily(
                "taskmon_exporter_exit_records_lost",
                "Exit records the module dropped because the exporter read too late: those "
                "processes' last figures are not in their groups.",
                value=self._groups.exits_lost))
        families.append(InfoMetricFamily(
            "taskmon_exporter_build", "The exporter's and libtaskmon's versions.",
            value={"version": __version__,
                   "library_version": _library_version(self.source)}))
        families.append(CounterMetricFamily(
            "taskmon_exporter_scrape_errors",
            "Errors met while collecting (each also logged), since the exporter started.",
            value=self._errors))
        families.append(GaugeMetricFamily(
            "taskmon_exporter_scrape_duration_seconds", "How long this scrape's collection took.",
            value=time.monotonic() - started))
        yield from families

    def _from_reader(self, reader: object, cpu: CounterMetricFamily, rss: GaugeMetricFamily,
                     vsize: GaugeMetricFamily, threads: GaugeMetricFamily,
                     faults: CounterMetricFamily, ctxsw: CounterMetricFamily,
                     watched: GaugeMetricFamily) -> List[Metric]:
        out: List[Metric] = []
        pids, by_selector, known = self._watched_pids(reader)
        stats: Dict[int, object] = {pid: known[pid] for pid in pids if pid in known}
        missing = pids - set(stats)
        if missing:
            try:
                stats.update(reader.stats(missing))  # type: ignore[attr-defined]
            except Exception as exc:  # noqa: BLE001
                self._error("reading the watched processes' statistics", exc)
        for (kind, value), members in by_selector.items():
            watched.add_metric([kind, value], sum(1 for pid in members if pid in stats))
        if self.config.watch.per_pid:
            for pid in sorted(stats):
                _add_process(stats[pid], cpu, rss, vsize, threads, faults, ctxsw)

        if self._groups is not None:
            from .groups import group_families
            if self._exits is None:
                self._subscribe()
            try:
                every = known or reader.stats(reader.all_pids())  # type: ignore[attr-defined]
                out += group_families(self._groups.update(every, self._drain_exits()))
            except Exception as exc:  # noqa: BLE001
                self._error("reading the processes for the groups", exc)

        try:
            count: Optional[int] = len(reader.all_pids())  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001
            self._error("counting the processes", exc)
            count = None
        if count is not None:
            out.append(GaugeMetricFamily(
                "taskmon_processes", "Processes (thread groups) the kernel runs.", value=count))

        if self._hidden is not None:
            if self._hidden.interval == 0:
                self._hidden.scan(reader)
            found, finished, duration = self._hidden.last()
            if finished is not None:
                out.append(GaugeMetricFamily(
                    "taskmon_hidden_scan_timestamp_seconds",
                    "When the last hidden-process scan ended (Unix time; it runs every "
                    "hidden_interval seconds).", value=finished))
                out.append(GaugeMetricFamily(
                    "taskmon_hidden_scan_duration_seconds",
                    "How long the last hidden-process scan took.", value=duration))
            if found is not None:
                out.append(GaugeMetricFamily(
                    "taskmon_hidden_processes",
                    "Processes the kernel runs that /proc does not show truthfully.",
                    value=len(found)))
                info = InfoMetricFamily(
                    "taskmon_hidden_process",
                    "One per hidden process: its pid, comm (from the kernel) and the checks it "
                    "failed (reason, comma-separated: getdents64, readdir, open, stat).",
                    labels=["pid", "comm", "reason"])
                for proc in found:
                    info.add_metric([str(proc.pid), proc.comm or "", ",".join(proc.reasons)], {})
                out.append(info)
        return out


def _library_version(source: object) -> str:
    getter = getattr(source, "library_version", None)
    version = getter() if getter is not None else None
    return version or "unknown"


def _add_process(st: object, cpu: CounterMetricFamily, rss: GaugeMetricFamily,
                 vsize: GaugeMetricFamily, threads: GaugeMetricFamily,
                 faults: CounterMetricFamily, ctxsw: CounterMetricFamily) -> None:
    """One process's samples; a field the kernel did not fill (None, e.g. a
    kernel thread's memory) gives no sample rather than a false zero."""
    labels = [str(getattr(st, "pid")), getattr(st, "comm") or ""]

    def add(family: object, extra: List[str], value: Optional[float]) -> None:
        if value is not None:
            family.add_metric(labels + extra, value)  # type: ignore[attr-defined]

    user_ns, system_ns = getattr(st, "user_ns"), getattr(st, "system_ns")
    add(cpu, ["user"], None if user_ns is None else user_ns / _NS)
    add(cpu, ["system"], None if system_ns is None else system_ns / _NS)
    for kind in ("anon", "file", "shmem"):
        add(rss, [kind], getattr(st, f"rss_{kind}_bytes"))
    add(vsize, [], getattr(st, "vsize_bytes"))
    add(threads, [], getattr(st, "threads"))
    add(faults, ["minor"], getattr(st, "minor_faults"))
    add(faults, ["major"], getattr(st, "major_faults"))
    add(ctxsw, ["voluntary"], getattr(st, "voluntary_ctxsw"))
    add(ctxsw, ["involuntary"], getattr(st, "involuntary_ctxsw"))
