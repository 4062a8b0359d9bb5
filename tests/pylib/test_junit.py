# SPDX-License-Identifier: GPL-2.0-only
"""tests/pylib/junit.py and scripts/summarize-results on fixture results (a
host test, harness.host): each case counts once, by name; a wrapper ctest
test counts as its suite's cases; skips are skips, whichever runner wrote
them; zero tests, unreadable files and failed steps are failures."""
import pathlib
import subprocess
import sys

import junit

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
SUMMARIZE = ROOT / "scripts" / "summarize-results"

CTEST = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="Linux" tests="5" failures="{fail}" disabled="1" skipped="1" hostname="" time="3">
  <testcase name="cli.FormatSeconds.Zero" classname="cli.FormatSeconds.Zero" time="0.1"
            status="run"/>
  <testcase name="lint.clang-format" classname="lint.clang-format" time="0.1" status="notrun">
    <skipped message="clang-format is not installed"/>
  </testcase>
  <testcase name="cli.DISABLED_x" classname="cli.DISABLED_x" time="0" status="disabled"/>
  <testcase name="python.host" classname="python.host" time="2" status="{wrapper}">{failure}
  </testcase>
  <testcase name="exporter.host" classname="exporter.host" time="1" status="run"/>
</testsuite>
"""

PYTEST = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="python.host"
 errors="0" failures="0" skipped="1" tests="4">
<testcase classname="test_cli" name="test_version" time="0.1"/>
<testcase classname="test_cli" name="test_help[a]" time="0.1"/>
<testcase classname="test_cli" name="test_help[b]" time="0.1"/>
<testcase classname="test_api_host" name="test_perm" time="0.0">
  <skipped type="pytest.skip" message="the owner may read its own file">why</skipped>
</testcase>
</testsuite></testsuites>
"""

GTEST = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3" failures="1" disabled="1" errors="0" name="AllTests">
  <testsuite name="Api" tests="3" failures="1" disabled="1" skipped="0" errors="0">
    <testcase name="Ok" status="run" result="completed" classname="Api"/>
    <testcase name="Bad" status="run" result="completed" classname="Api">
      <failure message="test_api.cpp:12&#x0A;Expected: 1" type=""/>
    </testcase>
    <testcase name="DISABLED_Off" status="notrun" result="suppressed" classname="Api"/>
    <testcase name="Skip" status="run" result="skipped" classname="Api">
      <skipped message="no pidhider.ko"/>
    </testcase>
  </testsuite>
</testsuites>
"""


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def host_results(tmp_path, wrapper_failed=False, with_pytest=True):
    failure = '\n    <failure message="Failed"/>' if wrapper_failed else ""
    write(tmp_path / "host" / "ctest.xml",
          CTEST.format(fail=int(wrapper_failed), wrapper="fail" if wrapper_failed else "run",
                       failure=failure))
    if with_pytest:
        write(tmp_path / "host" / "python.host.xml", PYTEST)
    return tmp_path


def summarize(results):
    return subprocess.run([sys.executable, str(SUMMARIZE), str(results)],
                          capture_output=True, text=True, timeout=60)


def test_a_wrapper_counts_as_its_cases(tmp_path):
    suites = junit.collect(host_results(tmp_path))
    by_label = {s.label: s for s in suites}
    ctest = [c.name for c in by_label["host/ctest"].cases]
    assert "python.host" not in ctest, "the wrapper counts through its own cases only"
    assert "exporter.host" in ctest, "a wrapper without its own file stays"
    assert by_label["host/python.host"].count() == (3, 0, 1)
    # ctest: one pass, two skips (notrun, disabled), exporter.host's pass
    assert by_label["host/ctest"].count() == (2, 0, 2)
    assert junit.totals(suites) == (5, 0, 3)


def test_a_wrapper_that_failed_with_clean_cases_is_one_failure(tmp_path):
    """A pytest run killed by ctest's TIMEOUT after its JUnit was written,
    or that failed outside any test: the failure is not lost."""
    suites = junit.collect(host_results(tmp_path, wrapper_failed=True))
    assert junit.totals(suites) == (5, 1, 3)
    failed = [c.name for s in suites for c in s.cases if c.outcome == junit.FAIL]
    assert failed == ["python.host (the whole run)"]


def test_a_wrapper_without_its_own_file_counts_as_itself(tmp_path):
    suites = junit.collect(host_results(tmp_path, wrapper_failed=True, with_pytest=False))
    assert junit.totals(suites) == (2, 1, 2)


def test_googletest_outcomes(tmp_path):
    write(tmp_path / "vm" / "6.1" / "libtaskmon.xml", GTEST)
    (suite,) = junit.collect(tmp_path)
    assert suite.count() == (1, 1, 2)
    bad = [c for c in suite.cases if c.outcome == junit.FAIL][0]
    assert bad.name == "Api::Bad" and bad.message == "test_api.cpp:12: Expected: 1"


def test_zero_tests_is_a_failure(tmp_path):
    write(tmp_path / "vm" / "empty.xml",
          '<?xml version="1.0"?><testsuite name="kernel" tests="0"></testsuite>')
    (suite,) = junit.collect(tmp_path)
    assert suite.count() == (0, 1, 0)
    assert "no test case" in suite.cases[0].message


def test_an_unreadable_file_is_a_failure(tmp_path):
    write(tmp_path / "vm" / "cut.xml", '<?xml version="1.0"?><testsuite name="kernel"><testc')
    (suite,) = junit.collect(tmp_path)
    assert suite.count() == (0, 1, 0)
    assert "unreadable" in suite.cases[0].message


def test_the_command_line_prints_the_counts(tmp_path):
    out = subprocess.run([sys.executable, str(ROOT / "tests/pylib/junit.py"),
                          str(host_results(tmp_path))], capture_output=True, text=True)
    assert out.stdout == "5 0 3\n"


def test_summary_counts_cases_and_lists_skips(tmp_path):
    results = host_results(tmp_path)
    write(results / "steps.tsv", "build\tok\t90\t\nhost\tok\t50\t\n")
    out = summarize(results)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.splitlines()[-1] == "5 passed, 0 failed, 3 skipped"
    assert "host/python.host: test_api_host::test_perm (the owner may read its own file)" \
        in out.stdout


def test_summary_fails_on_a_failed_step_and_names_it(tmp_path):
    results = host_results(tmp_path)
    write(results / "steps.tsv", "host\tok\t50\t\nvm\tfail\t1500\ttimed out after 1500 s\n"
          "dkms\tskip\t0\tthe vm step failed\n")
    out = summarize(results)
    assert out.returncode == 1
    assert out.stdout.splitlines()[-1] == "5 passed, 1 failed, 4 skipped"
    assert "step vm: timed out after 1500 s" in out.stdout


def test_summary_fails_on_a_failed_case(tmp_path):
    write(tmp_path / "vm" / "6.1" / "libtaskmon.xml", GTEST)
    out = summarize(tmp_path)
    assert out.returncode == 1
    assert "vm/6.1/libtaskmon: Api::Bad (test_api.cpp:12: Expected: 1)" in out.stdout
    assert out.stdout.splitlines()[-1] == "1 passed, 1 failed, 2 skipped"


def test_summary_of_nothing_fails(tmp_path):
    out = summarize(tmp_path)
    assert out.returncode == 1
    assert out.stdout.splitlines()[-1] == "0 passed, 0 failed, 0 skipped"
