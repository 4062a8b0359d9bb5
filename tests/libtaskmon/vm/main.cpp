// SPDX-License-Identifier: GPL-2.0-only
//
// taskmon-vm-tests: libtaskmon, taskmon and hello-ioctl against the loaded
// modules.  See README.md beside this file.  GoogleTest flags apply, e.g.
// --gtest_output=xml:report.xml for a JUnit XML report.
//
// A hang loses one test, not the run: a watchdog gives every test
// $TASKMON_TEST_TIMEOUT seconds (default 300).  A test still running then
// is reported by name on stderr; the watchdog writes the --gtest_output XML
// itself (the tests that ended, and the hung one as a failure), writes the
// names of all of them to $TASKMON_GTEST_RESUME (if set, and if tests are
// left to run) as a GoogleTest filter, and ends the process with status 124. tests/run-guest-suites
// then runs the binary again without those tests.
#include "vm_util.hpp"

#include <taskmon/taskmon.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::string xml_escape(const std::string& text)
{
    std::string out;
    for (const char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        default:
            out += c;
            break;
        }
    }
    return out;
}

struct Ended {
    std::string suite;
    std::string name;
    std::string outcome; // passed, failed, skipped
    std::string message;
    double seconds;
};

// The watchdog's state.  Never freed: the watchdog thread may still look at
// it while the process exits.
struct WatchdogState {
    std::mutex lock;
    bool running = false;      // a test is running (guarded by lock)
    std::string suite, name;   // which one (guarded by lock)
    Clock::time_point started; // since when (guarded by lock)
    std::vector<Ended> ended;  // the tests that ended (guarded by lock)
    std::chrono::seconds limit{300};
    std::string xml_path; // from --gtest_output=xml:PATH, or empty
    std::string resume_path;
};

[[noreturn]] void expire(WatchdogState& s)
{
    const std::string hung = s.suite + "." + s.name;
    std::cerr << "\ntaskmon-vm-tests: TIMEOUT: " << hung << " still runs after " << s.limit.count()
              << " s (TASKMON_TEST_TIMEOUT): stopping the binary; the tests after it run again "
                 "without it"
              << std::endl;
    s.ended.push_back(
        {s.suite, s.name, "failed",
         "timed out after " + std::to_string(s.limit.count()) + " s (TASKMON_TEST_TIMEOUT)",
         static_cast<double>(s.limit.count())});
    if (!s.xml_path.empty()) {
        std::ofstream xml(s.xml_path);
        xml << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"AllTests\">\n"
            << "  <testsuite name=\"taskmon-vm-tests\" tests=\"" << s.ended.size() << "\">\n";
        for (const Ended& e : s.ended) {
            xml << "    <testcase name=\"" << xml_escape(e.name) << "\" classname=\""
                << xml_escape(e.suite) << "\" time=\"" << e.seconds << "\"";
            if (e.outcome == "passed") {
                xml << "/>\n";
                continue;
            }
            const char* tag = e.outcome == "failed" ? "failure" : "skipped";
            xml << ">\n      <" << tag << " message=\"" << xml_escape(e.message) << "\"/>\n"
                << "    </testcase>\n";
        }
        xml << "  </testsuite>\n</testsuites>\n";
    }
    // The tests after the hung one run again without those that ran, if
    // there are any left.
    const auto to_run =
        static_cast<std::size_t>(::testing::UnitTest::GetInstance()->test_to_run_count());
    if (!s.resume_path.empty() && s.ended.size() < to_run) {
        std::ofstream resume(s.resume_path);
        for (std::size_t i = 0; i < s.ended.size(); ++i) {
            resume << (i ? ":" : "") << s.ended[i].suite << "." << s.ended[i].name;
        }
        resume << '\n';
    }
    std::cout.flush();
    std::_Exit(124);
}

class Watchdog : public ::testing::EmptyTestEventListener {
public:
    explicit Watchdog(WatchdogState* state) : s_(state)
    {
        std::thread([state] {
            for (;;) {
                std::this_thread::sleep_for(std::chrono::seconds(1));
                const std::lock_guard<std::mutex> guard(state->lock);
                if (state->running && Clock::now() - state->started > state->limit) {
                    expire(*state);
                }
            }
        }).detach();
    }

    void OnTestStart(const ::testing::TestInfo& info) override
    {
        const std::lock_guard<std::mutex> guard(s_->lock);
        s_->running = true;
        s_->suite = info.test_suite_name();
        s_->name = info.name();
        s_->started = Clock::now();
    }

    void OnTestEnd(const ::testing::TestInfo& info) override
    {
        const std::lock_guard<std::mutex> guard(s_->lock);
        s_->running = false;
        const ::testing::TestResult& r = *info.result();
        std::string outcome = r.Skipped() ? "skipped" : r.Failed() ? "failed" : "passed";
        std::string message;
        for (int i = 0; i < r.total_part_count(); ++i) {
            if (r.GetTestPartResult(i).failed() || r.GetTestPartResult(i).skipped()) {
                message = r.GetTestPartResult(i).summary();
                break;
            }
        }
        s_->ended.push_back({info.test_suite_name(), info.name(), outcome, message,
                             static_cast<double>(r.elapsed_time()) / 1000.0});
    }

private:
    WatchdogState* s_;
};

void install_watchdog()
{
    auto* state = new WatchdogState; // NOLINT(cppcoreguidelines-owning-memory): never freed
    const std::string limit = taskmon::vmtest::env_or("TASKMON_TEST_TIMEOUT", "300");
    try {
        state->limit = std::chrono::seconds(std::stoi(limit));
    } catch (const std::exception&) {
        std::cerr << "taskmon-vm-tests: TASKMON_TEST_TIMEOUT must be whole seconds, not '" << limit
                  << "'\n";
        std::exit(2); // NOLINT(concurrency-mt-unsafe): before any thread
    }
    const std::string output = ::testing::GTEST_FLAG(output);
    if (output.rfind("xml:", 0) == 0) {
        state->xml_path = output.substr(4);
    }
    state->resume_path = taskmon::vmtest::env_or("TASKMON_GTEST_RESUME", "");
    ::testing::UnitTest::GetInstance()->listeners().Append(new Watchdog(state));
}

} // namespace

int main(int argc, char* argv[])
{
    ::testing::InitGoogleTest(&argc, argv);
    namespace vm = taskmon::vmtest;
    install_watchdog();

    std::cout << "taskmon-vm-tests " << TASKMON_VERSION_STRING << ": device "
              << vm::monitor_device() << ", hello " << vm::hello_device() << ", taskmon '"
              << vm::cli_program() << "', hello-ioctl '" << vm::hello_program()
              << "', TASKMON_IN_VM=" << (vm::in_vm() ? "1" : "0") << std::endl;

    // Leave the monitoring thread as it was found.
    const int kthreads_before = vm::count_kthreads();
    const int status = RUN_ALL_TESTS();
    try {
        if (::access(vm::monitor_device().c_str(), F_OK) == 0) {
            taskmon::Monitor monitor(vm::monitor_device(), taskmon::Access::steer);
            if (kthreads_before > 0) {
                monitor.start();
            } else if (kthreads_before == 0) {
                monitor.stop();
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "taskmon-vm-tests: restoring the thread state failed: " << e.what() << '\n';
    }
    return status;
}
