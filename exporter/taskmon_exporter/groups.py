# SPDX-License-Identifier: GPL-2.0-only
"""Process groups the way Prometheus's process-exporter makes them: its
configuration file read unchanged, its ``namedprocess_namegroup_*`` series
with its names, labels and types, from taskmon's figures.

    process_names:
      - name: "{{.Comm}}"               # Go template: .Comm .ExeBase .ExeFull
        comm: [bash, sshd]              # .Username .PID .Cwd .Matches.NAME
      - exe: [/usr/sbin/nginx, postgres]
      - name: "prom:{{.Matches.cfg}}"
        cmdline: ['prometheus\\s+--config.file=(?P<cfg>\\S+)']

As process-exporter does: the first rule that matches a process names its
group; within a rule every kind given must match (comm: the command name
is one of the list; exe: argv[0], or its base name when the entry has no
"/"; cmdline: every regular expression is found in the arguments joined
by spaces, its named groups becoming .Matches); a process is named once,
when first seen; a process that matches no rule joins its parent's group
when the parent is in one (process-exporter's -children, on by default).

Counters never go backwards: each member's progress since the previous
scrape is added to its group's sums, which stay when members exit (and
the group, with no member, is still served).  A process seen for the first
time adds only what it does after that, as in process-exporter, unless it
started after the previous scrape: then all it did counts, which
process-exporter (reading /proc at scrape time) loses.

With the module's exit records (:meth:`GroupTracker.update`'s *exits*),
what process-exporter loses at an exit counts too: a member's final
figures minus those seen at its last scrape, and all of a process that
started after the first scrape and exited before any scrape saw it.  Such
a process is named from its record alone: its command line, executable
and working directory are gone, so a rule decides only if it has no
``exe`` or ``cmdline`` matcher (``{{.ExeBase}}`` and ``{{.ExeFull}}`` are
then its comm, ``{{.Cwd}}`` empty); the first rule with one stops the
rules unmatched, as the process might have matched it, and the children
rule then places the process in its parent's group (the parent pid of the
record: a member of this scrape, of an earlier one, or a process of the
same records).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pwd
import re
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Set, Tuple

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

__all__ = ["GroupError", "Rule", "GroupTracker", "load_process_names", "parse_process_names",
           "STATES"]

log = logging.getLogger("taskmon_exporter")

_RULE_KEYS = {"name", "comm", "exe", "cmdline"}
_FIELDS = {"Comm", "ExeBase", "ExeFull", "Username", "PID", "Cwd"}
_ACTION = re.compile(r"\{\{(-?)\s*(.*?)\s*(-?)\}\}", re.S)
#: process-exporter's states and the /proc state letters that count as each.
STATES = ("Running", "Sleeping", "Waiting", "Zombie", "Other")
_STATE_OF = {"R": "Running", "S": "Sleeping", "D": "Waiting", "Z": "Zombie"}
_COUNTERS = ("user_ns", "system_ns", "minor_faults", "major_faults", "voluntary_ctxsw",
             "involuntary_ctxsw")


class GroupError(ValueError):
    """A process-exporter configuration the exporter cannot use; says why."""


@dataclasses.dataclass
class Attributes:
    """What a rule looks at, and its name template's fields."""

    pid: int
    comm: str
    cmdline: List[str]
    username: str
    cwd: Callable[[], str] = lambda: ""


def _template(path: str, where: str, text: str) -> Callable[[Attributes, Dict[str, str]], str]:
    """A Go text/template of process-exporter's fields, compiled; only
    field actions ({{.Comm}}, {{.Matches.NAME}}, ...): anything else is
    refused with a message."""
    parts: List[Any] = []
    pos = 0
    for match in _ACTION.finditer(text):
        literal = text[pos:match.start()]
        if match.group(1):
            literal = literal.rstrip()
        parts.append(literal)
        action = match.group(2)
        field = re.fullmatch(r"\.(\w+)(?:\.(\w+))?", action)
        if field and field.group(1) in _FIELDS and field.group(2) is None:
            parts.append(("field", field.group(1)))
        elif field and field.group(1) == "Matches" and field.group(2):
            parts.append(("match", field.group(2)))
        else:
            raise GroupError(
                f"{path}: {where}: template action {{{{{action}}}}} is not supported by "
                "taskmon-exporter (it knows {{.Comm}}, {{.ExeBase}}, {{.ExeFull}}, "
                "{{.Username}}, {{.PID}}, {{.Cwd}} and {{.Matches.NAME}})")
        pos = match.end()
        if match.group(3):
            rest = text[pos:]
            pos += len(rest) - len(rest.lstrip())
    tail = text[pos:]
    if "{{" in tail or "}}" in tail:
        raise GroupError(f"{path}: {where}: unbalanced {{{{ }}}} in the name template {text!r}")
    parts.append(tail)

    def render(attrs: Attributes, matches: Dict[str, str]) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            elif part[0] == "match":
                out.append(matches.get(part[1], ""))
            else:
                out.append(_field(attrs, part[1]))
        return "".join(out)
    return render


def _exe(attrs: Attributes) -> Tuple[str, str]:
    """(ExeBase, ExeFull): argv[0] and its base name, as process-exporter
    (the command name when there is no command line)."""
    if attrs.cmdline:
        return os.path.basename(attrs.cmdline[0]), attrs.cmdline[0]
    return attrs.comm, attrs.comm


def _field(attrs: Attributes, name: str) -> str:
    if name == "Comm":
        return attrs.comm
    if name == "ExeBase":
        return _exe(attrs)[0]
    if name == "ExeFull":
        return _exe(attrs)[1]
    if name == "Username":
        return attrs.username
    if name == "PID":
        return str(attrs.pid)
    return attrs.cwd()


@dataclasses.dataclass
class Rule:
    """One entry of process_names."""

    render: Callable[[Attributes, Dict[str, str]], str]
    comms: Optional[Set[str]] = None
    exes: Optional[Dict[str, str]] = None
    cmdlines: Optional[List["re.Pattern[str]"]] = None

    def match_and_name(self, attrs: Attributes) -> Optional[str]:
        if self.comms is not None and attrs.comm not in self.comms:
            return None
        if self.exes is not None:
            if not attrs.cmdline:
                return None
            full = self.exes.get(os.path.basename(attrs.cmdline[0]))
            if full is None or (full and full != attrs.cmdline[0]):
                return None
        matches: Dict[str, str] = {}
        if self.cmdlines is not None:
            joined = " ".join(attrs.cmdline)
            for regex in self.cmdlines:
                found = regex.search(joined)
                if found is None:
                    return None
                matches.update({k: v or "" for k, v in found.groupdict().items()})
        return self.render(attrs, matches)

    def decides_after_exit(self) -> bool:
        """Whether the rule can be decided on an exit record alone (no
        command line, no executable): it has only comm matchers."""
        return self.exes is None and self.cmdlines is None


def _strings(path: str, where: str, value: Any) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GroupError(f"{path}: {where} must be a list of strings, not {value!r}")
    return value


def parse_process_names(text: str, path: str = "<process names>") -> List[Rule]:
    """The rules of a process-exporter configuration (YAML *text*);
    GroupError naming the file and the rule if it is wrong."""
    import yaml  # type: ignore[import]
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GroupError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("process_names"), list):
        raise GroupError(f"{path}: expected process-exporter's format: a list process_names "
                         "of rules (name, comm, exe, cmdline)")
    rules = []
    for i, entry in enumerate(data["process_names"]):
        where = f"process_names[{i}]"
        if not isinstance(entry, dict):
            raise GroupError(f"{path}: {where} must be a mapping (name, comm, exe, cmdline)")
        unknown = sorted(str(k) for k in entry if k not in _RULE_KEYS)
        if unknown:
            # process-exporter ignores them: so do we, saying so.
            log.warning("%s: %s: unknown key(s) ignored: %s", path, where, ", ".join(unknown))
        name = entry.get("name") or "{{.ExeBase}}"
        if not isinstance(name, str):
            raise GroupError(f"{path}: {where}.name must be a string")
        rule = Rule(render=_template(path, f"{where}.name", name))
        if entry.get("comm") is not None:
            rule.comms = set(_strings(path, f"{where}.comm", entry["comm"]))
        if entry.get("exe") is not None:
            rule.exes = {}
            for exe in _strings(path, f"{where}.exe", entry["exe"]):
                rule.exes[os.path.basename(exe)] = exe if "/" in exe else ""
        if entry.get("cmdline") is not None:
            rule.cmdlines = []
            for j, pattern in enumerate(_strings(path, f"{where}.cmdline", entry["cmdline"])):
                try:
                    rule.cmdlines.append(re.compile(pattern))
                except re.error as exc:
                    raise GroupError(f"{path}: {where}.cmdline[{j}]: bad regular expression "
                                     f"{pattern!r}: {exc}") from None
        if rule.comms is None and rule.exes is None and rule.cmdlines is None:
            raise GroupError(f"{path}: {where}: no matchers provided (comm, exe or cmdline)")
        rules.append(rule)
    return rules


def load_process_names(path: str) -> List[Rule]:
    """The rules of the process-exporter configuration file *path*."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise GroupError(f"{path}: cannot read the process-exporter configuration: "
                         f"{exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise GroupError(f"{path}: not UTF-8 text") from None
    return parse_process_names(text, path)


@dataclasses.dataclass
class _Member:
    group: Optional[str]          # None: matched no rule (not followed)
    counters: Tuple[int, ...]


@dataclasses.dataclass
class Group:
    """A group's figures at one scrape."""

    procs: int = 0
    threads: int = 0
    resident: int = 0
    virtual: int = 0
    swapped: int = 0
    oldest_start: Optional[float] = None
    states: Dict[str, int] = dataclasses.field(default_factory=lambda: dict.fromkeys(STATES, 0))
    #: Sums since the exporter started: user_ns, system_ns, minor, major,
    #: voluntary, involuntary context switches.
    counters: List[int] = dataclasses.field(default_factory=lambda: [0] * len(_COUNTERS))


class GroupTracker:
    """Follows the processes across scrapes and sums them into groups."""

    #: Scrapes a member that left the process list waits for its exit
    #: record before it is forgotten (the record was lost).
    DEPARTED_SCRAPES = 5

    def __init__(self, rules: List[Rule], proc: str = "/proc", children: bool = True) -> None:
        self.rules = rules
        self.proc = proc
        self.children = children
        #: Whether update() is given the exit records of every process
        #: (then members that left wait for theirs, see DEPARTED_SCRAPES).
        self.follow_exits = False
        #: Exit records read, and those the kernel dropped (their ``lost``).
        self.exits_read = 0
        self.exits_lost = 0
        self._members: Dict[Tuple[int, int], _Member] = {}
        #: Members that left the list, waiting for their exit record:
        #: (pid, start) -> (member at its last scrape, scrapes waited).
        self._departed: Dict[Tuple[int, int], Tuple[_Member, int]] = {}
        #: The first scrape's sample time: what started before it is the
        #: baseline, as process-exporter's first scrape.
        self._first_sample_ns: Optional[int] = None
        self._sums: Dict[str, List[int]] = {}
        self._last_sample_ns: Optional[int] = None
        self._users: Dict[int, str] = {}
        self._boot: Optional[float] = None

    def _read(self, pid: int, name: str) -> Optional[bytes]:
        try:
            with open(os.path.join(self.proc, str(pid), name), "rb") as file:
                return file.read()
        except OSError:
            return None

    def _username(self, uid: Optional[int]) -> str:
        if uid is None:
            return ""
        if uid not in self._users:
            try:
                self._users[uid] = pwd.getpwuid(uid).pw_name
            except KeyError:
                self._users[uid] = str(uid)
        return self._users[uid]

    def _attributes(self, st: Any) -> Attributes:
        raw = self._read(st.pid, "cmdline") or b""
        cmdline = [a.decode("utf-8", "replace") for a in raw.split(b"\0")]
        while cmdline and cmdline[-1] == "":
            cmdline.pop()

        def cwd() -> str:
            try:
                return os.readlink(os.path.join(self.proc, str(st.pid), "cwd"))
            except OSError:
                return ""
        return Attributes(pid=st.pid, comm=st.comm or "", cmdline=cmdline,
                          username=self._username(st.uid), cwd=cwd)

    def _name(self, st: Any) -> Optional[str]:
        attrs = self._attributes(st)
        for rule in self.rules:
            name = rule.match_and_name(attrs)
            if name is not None:
                return name
        return None

    def _name_after_exit(self, record: Any) -> Optional[str]:
        """The group of a process known only from its exit record: the
        rules up to the first that needs a command line (module doc)."""
        attrs = Attributes(pid=record.pid, comm=record.comm or "", cmdline=[],
                           username=self._username(record.uid))
        for rule in self.rules:
            if not rule.decides_after_exit():
                return None
            name = rule.match_and_name(attrs)
            if name is not None:
                return name
        return None

    def boot_time(self) -> float:
        """Seconds since the epoch at boot (/proc/stat's btime)."""
        if self._boot is None:
            text = (self._read_file("stat") or b"").decode("ascii", "replace")
            found = re.search(r"^btime\s+(\d+)", text, re.M)
            self._boot = float(found.group(1)) if found else 0.0
        return self._boot

    def _read_file(self, name: str) -> Optional[bytes]:
        try:
            with open(os.path.join(self.proc, name), "rb") as file:
                return file.read()
        except OSError:
            return None

    def _swapped(self, pid: int) -> int:
        text = (self._read(pid, "status") or b"").decode("ascii", "replace")
        found = re.search(r"^VmSwap:\s+(\d+)\s+kB", text, re.M)
        return int(found.group(1)) * 1024 if found else 0

    def update(self, stats: Dict[int, Any], exits: Iterable[Any] = ()) -> Dict[str, Group]:
        """The groups after this scrape, from *stats* (pid -> taskmon.Stats
        of every process the kernel runs) and, when :attr:`follow_exits`,
        *exits*: the exit records (taskmon.ExitRecord) read since the
        previous scrape, after *stats* was read."""
        previous = self._last_sample_ns
        seen: Dict[Tuple[int, int], _Member] = {}
        groups: Dict[str, Group] = {}
        # Parents before children: a child can join its parent's group.
        order = sorted(stats.values(), key=lambda s: (getattr(s, "start_time_ns", 0) or 0,
                                                      s.pid))
        by_pid: Dict[int, Tuple[int, int]] = {}
        for st in order:
            key = (st.pid, st.start_time_ns or 0)
            by_pid[st.pid] = key
            counters = tuple(getattr(st, c) or 0 for c in _COUNTERS)
            member = self._members.get(key)
            if member is None:
                name = self._name(st)
                if name is None and self.children:
                    parent = seen.get(by_pid.get(st.ppid or 0, (0, 0)))
                    name = parent.group if parent else None
                # Seen for the first time: what it did before counts only
                # if that was after the previous scrape (it started since).
                started_since = previous is not None and (st.start_time_ns or 0) > previous
                base = (0,) * len(_COUNTERS) if started_since else counters
                member = _Member(group=name, counters=base)
            if member.group is not None:
                sums = self._sums.setdefault(member.group, [0] * len(_COUNTERS))
                for i, (now, before) in enumerate(zip(counters, member.counters)):
                    sums[i] += max(0, now - before)
                group = groups.setdefault(member.group, Group())
                group.procs += 1
                group.threads += st.threads or 0
                group.resident += (st.rss_anon_bytes or 0) + (st.rss_file_bytes or 0) \
                    + (st.rss_shmem_bytes or 0)
                group.virtual += st.vsize_bytes or 0
                group.swapped += self._swapped(st.pid)
                group.states[_STATE_OF.get(st.state or "", "Other")] += 1
                start = self.boot_time() + (st.start_time_ns or 0) / 1e9
                if group.oldest_start is None or start < group.oldest_start:
                    group.oldest_start = start
            seen[key] = _Member(group=member.group, counters=counters)
        if self.follow_exits:
            self._leave(seen, by_pid, exits)
        else:
            self._departed.clear()
        self._members = seen
        samples = [s.sample_time_ns for s in stats.values()
                   if getattr(s, "sample_time_ns", None)]
        if samples:
            self._last_sample_ns = max(samples)
            if self._first_sample_ns is None:
                self._first_sample_ns = self._last_sample_ns
        for name, sums in self._sums.items():
            groups.setdefault(name, Group()).counters = list(sums)
        return groups

    def _add(self, group: Optional[str], final: Any, before: Tuple[int, ...]) -> None:
        if group is None:
            return
        sums = self._sums.setdefault(group, [0] * len(_COUNTERS))
        for i, name in enumerate(_COUNTERS):
            sums[i] += max(0, (getattr(final, name, 0) or 0) - before[i])

    def _leave(self, seen: Dict[Tuple[int, int], _Member], by_pid: Dict[int, Tuple[int, int]],
               exits: Iterable[Any]) -> None:
        """Count the exit records: a member's last figures since its last
        scrape, a process never seen in full (module doc); keep the
        members that left without a record yet."""
        for key, member in self._members.items():
            if key not in seen:
                self._departed[key] = (member, 0)
        zero = (0,) * len(_COUNTERS)
        named: Dict[int, Optional[str]] = {}

        def parent_group(ppid: int) -> Optional[str]:
            if ppid in named:
                return named[ppid]
            key = by_pid.get(ppid)
            if key is not None and key in seen:
                return seen[key].group
            for (pid, _), (member, _) in self._departed.items():
                if pid == ppid:
                    return member.group
            return None

        records = sorted(exits, key=lambda r: (r.start_time_ns, r.pid))
        for record in records:
            self.exits_read += 1
            self.exits_lost += record.lost or 0
            key = (record.pid, record.start_time_ns)
            final = tuple(getattr(record, c, 0) or 0 for c in _COUNTERS)
            if key in seen:
                # Exited after this scrape's read, or a zombie still
                # listed: its final figures are its last, so that a zombie
                # listed at the next scrapes adds nothing more.
                member = seen[key]
                seen[key] = _Member(group=member.group, counters=final)
            elif key in self._departed:
                member = self._departed.pop(key)[0]
            else:
                # Never seen: all of it counts if it started after the
                # first scrape (the baseline), in the group it would
                # have joined.
                if self._first_sample_ns is None \
                        or record.start_time_ns <= self._first_sample_ns:
                    continue
                name = self._name_after_exit(record)
                if name is None and self.children:
                    name = parent_group(record.ppid)
                named[record.pid] = name
                self._add(name, record, zero)
                continue
            named[record.pid] = member.group
            self._add(member.group, record, member.counters)
        for key in list(self._departed):
            member, waited = self._departed[key]
            if waited + 1 >= self.DEPARTED_SCRAPES:
                del self._departed[key]
            else:
                self._departed[key] = (member, waited + 1)


def group_families(groups: Dict[str, Group]) -> Iterable[Metric]:
    """process-exporter's namedprocess_namegroup_* families of *groups*."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    def counter(name: str, doc: str, extra: Optional[str] = None) -> CounterMetricFamily:
        return CounterMetricFamily(f"namedprocess_namegroup_{name}", doc,
                                   labels=["groupname"] + ([extra] if extra else []))

    def gauge(name: str, doc: str, extra: Optional[str] = None) -> GaugeMetricFamily:
        return GaugeMetricFamily(f"namedprocess_namegroup_{name}", doc,
                                 labels=["groupname"] + ([extra] if extra else []))

    num_procs = gauge("num_procs", "number of processes in this group")
    cpu = counter("cpu_seconds", "Cpu user usage in seconds", "mode")
    memory = gauge("memory_bytes", "number of bytes of memory in use", "memtype")
    threads = gauge("num_threads", "Number of threads")
    states = gauge("states", "Number of processes in states Running, Sleeping, Waiting, "
                   "Zombie, or Other", "state")
    ctxsw = counter("context_switches", "Context switches", "ctxswitchtype")
    major = counter("major_page_faults", "Major page faults")
    minor = counter("minor_page_faults", "Minor page faults")
    oldest = gauge("oldest_start_time_seconds",
                   "start time in seconds since 1970/01/01 of oldest process in group")
    for name in sorted(groups):
        group, g = groups[name], [name]
        user_ns, system_ns, minor_faults, major_faults, vol, invol = group.counters
        num_procs.add_metric(g, group.procs)
        cpu.add_metric(g + ["user"], user_ns / 1e9)
        cpu.add_metric(g + ["system"], system_ns / 1e9)
        memory.add_metric(g + ["resident"], group.resident)
        memory.add_metric(g + ["virtual"], group.virtual)
        memory.add_metric(g + ["swapped"], group.swapped)
        threads.add_metric(g, group.threads)
        for state in STATES:
            states.add_metric(g + [state], group.states[state])
        ctxsw.add_metric(g + ["voluntary"], vol)
        ctxsw.add_metric(g + ["nonvoluntary"], invol)
        major.add_metric(g, major_faults)
        minor.add_metric(g, minor_faults)
        oldest.add_metric(g, group.oldest_start or 0)
    return [num_procs, cpu, memory, threads, states, ctxsw, major, minor, oldest]
