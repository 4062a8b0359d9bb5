# SPDX-License-Identifier: GPL-2.0-only
"""JUnit XML, read in one place: scripts/summarize-results and
scripts/check-fresh count with it, so that a case is a pass, a failure or a
skip by the same rules everywhere.

    python3 tests/pylib/junit.py DIR      # prints "PASSED FAILED SKIPPED"

A case is
  failed   when it has a <failure> or an <error>;
  skipped  when it has a <skipped>, or ctest's status="notrun"/"disabled",
           or GoogleTest's result="skipped"/"suppressed" (a DISABLED_ test);
  passed   otherwise.
A file that cannot be parsed, or that holds no test case at all, is one
failure: zero tests is never a pass.

Wrappers.  The host step's ctest runs whole pytest suites and a GoogleTest
binary as one ctest test each (python.host, exporter.host, vm.emulated...);
each of those writes its own JUnit file named after its ctest test
(python.host.xml) beside ctest's (ctest.xml).  The ctest case is then
replaced by that file's cases, so every case counts once, by name; a
wrapper that failed although its own file records no failure (it timed
out, or crashed after writing) still counts as one failure.
"""
import pathlib
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

PASS, FAIL, SKIP = "passed", "failed", "skipped"


@dataclass
class Case:
    name: str
    outcome: str
    message: str = ""


@dataclass
class Suite:
    """One JUnit file: its label (the path under the results, no .xml) and cases."""
    label: str
    cases: List[Case] = field(default_factory=list)

    def count(self) -> Tuple[int, int, int]:
        outcomes = [c.outcome for c in self.cases]
        return outcomes.count(PASS), outcomes.count(FAIL), outcomes.count(SKIP)


def _first_line(node: ET.Element, default: str) -> str:
    """The message's first line; GoogleTest's starts with the file:line
    alone, then the message's own first line follows it."""
    lines = [line.strip() for line in
             (node.get("message") or node.text or "").strip().splitlines() if line.strip()]
    if not lines:
        return default
    if len(lines) > 1 and re.fullmatch(r"\S+:\d+", lines[0]):
        return f"{lines[0]}: {lines[1]}"
    return lines[0]


def outcome(case: ET.Element) -> Tuple[str, str]:
    for tag in ("failure", "error"):
        node = case.find(tag)
        if node is not None:
            return FAIL, _first_line(node, tag)
    node = case.find("skipped")
    if node is not None:
        return SKIP, _first_line(node, "")
    if case.get("status") in ("notrun", "disabled") or \
            case.get("result") in ("skipped", "suppressed"):
        return SKIP, case.get("status") or case.get("result") or ""
    return PASS, ""


def read(path: pathlib.Path, label: str) -> Suite:
    """The cases of one file; an unreadable or empty file is one failed case."""
    suite = Suite(label)
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        suite.cases.append(Case("(results)", FAIL, f"unreadable results: {e}"))
        return suite
    for case in root.iter("testcase"):
        name = case.get("name") or "?"
        classname = case.get("classname") or ""
        if classname and classname != name:
            name = f"{classname}::{name}"
        suite.cases.append(Case(name, *outcome(case)))
    if not suite.cases:
        suite.cases.append(Case(
            "(results)", FAIL, "no test case at all: the suite ran nothing (zero tests fail)"))
    return suite


def _wrapped(case: ET.Element, xml: pathlib.Path) -> pathlib.Path:
    return xml.parent / f"{case.get('name')}.xml"


def collect(results: pathlib.Path) -> List[Suite]:
    """Every JUnit file under RESULTS, wrappers replaced by their own files."""
    files = sorted(results.rglob("*.xml"))
    suites: Dict[pathlib.Path, Suite] = {}
    for xml in files:
        suites[xml] = read(xml, str(xml.relative_to(results).with_suffix("")))
    # Replace the wrapper cases: a ctest case NAME with NAME.xml beside it.
    for xml in files:
        try:
            root = ET.parse(xml).getroot()
        except (ET.ParseError, OSError):
            continue
        kept = []
        by_name = {c.get("name"): c for c in root.iter("testcase")}
        for case in suites[xml].cases:
            element = by_name.get(case.name)
            own = _wrapped(element, xml) if element is not None else None
            if own is None or own == xml or own not in suites:
                kept.append(case)
                continue
            if case.outcome == FAIL and FAIL not in [c.outcome for c in suites[own].cases]:
                suites[own].cases.append(Case(
                    f"{case.name} (the whole run)", FAIL,
                    f"the ctest test {case.name} failed although its cases did not "
                    f"(a time-out or a crash): {case.message}"))
        suites[xml].cases = kept
    return [s for s in suites.values() if s.cases]


def totals(suites: List[Suite]) -> Tuple[int, int, int]:
    p = f = s = 0
    for suite in suites:
        sp, sf, ss = suite.count()
        p, f, s = p + sp, f + sf, s + ss
    return p, f, s


def main(argv: List[str]) -> int:
    if len(argv) != 2:
        print("usage: junit.py RESULTS_DIR", file=sys.stderr)
        return 2
    print(*totals(collect(pathlib.Path(argv[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
