// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of `taskmon stats` and of `taskmon get`'s atomic read: parsing,
// the table and JSON formats, and run_main() end to end against the fake
// module of tests/libtaskmon/fake_stats_kernel.hpp, which this binary links:
// while a test has one alive, libtaskmon.so's TM_STATS, TM_STATS_BATCH,
// TM_PID and TM_GET are answered from it and counted; otherwise every
// request goes to the kernel, so the other tests of this binary are
// unaffected.
#include "commands.hpp"
#include "exit_codes.hpp"
#include "fake_stats_kernel.hpp"
#include "format.hpp"
#include "options.hpp"
#include "run_capture.hpp"

#include <taskmon/taskmon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace taskmon::cli;
using namespace taskmon::cli::test;
using taskmon::fake::FakeStatsKernel;
using taskmon::fake::kthread_record;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// A process with the shared fake's full record, but the times and memory
// this file's expectations are written for: user 1.25 s, system 0.5 s, rss
// 3 MiB + 1 MiB + 512 B (4.0 MiB), vsize 100 MiB.
taskmon_stats record(pid_t pid, const char* comm)
{
    taskmon_stats r = taskmon::fake::full_record(pid, comm);
    r.user_ns = 1'250'000'000;
    r.system_ns = 500'000'000;
    r.rss_anon_bytes = 3 * 1024 * 1024;
    r.rss_file_bytes = 1024 * 1024;
    r.rss_shmem_bytes = 512;
    r.vsize_bytes = 100ULL * 1024 * 1024;
    return r;
}

std::vector<std::string> lines(const std::string& text)
{
    std::vector<std::string> result;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        result.push_back(line);
    }
    return result;
}

TEST(StatsOptions, ParsesPidsAndThreads)
{
    const Options opts = parse_args({"stats", "1", "42", "--threads"});
    EXPECT_EQ(opts.command, Command::stats);
    EXPECT_EQ(opts.pids, (std::vector<pid_t>{1, 42}));
    EXPECT_TRUE(opts.threads);
    EXPECT_FALSE(parse_args({"-j", "stats", "7"}).threads);
    EXPECT_TRUE(parse_args({"stats", "-t", "7"}).threads);
}

TEST(StatsOptions, RejectsNoPidBadPidsAndThreadsElsewhere)
{
    const auto usage = [](const std::vector<std::string>& args) {
        try {
            static_cast<void>(parse_args(args));
        } catch (const UsageError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_THAT(usage({"stats"}), HasSubstr("'stats' needs at least one PID"));
    EXPECT_THAT(usage({"stats", "0"}), HasSubstr("invalid pid '0'"));
    EXPECT_THAT(usage({"stats", "1", "x"}), HasSubstr("invalid pid 'x'"));
    EXPECT_THAT(usage({"stats", "2147483648"}), HasSubstr("invalid pid"));
    EXPECT_THAT(usage({"get", "--threads"}), HasSubstr("'--threads' belongs to 'stats'"));
    EXPECT_THAT(usage({"stats", "--threads=1", "1"}), HasSubstr("takes no argument"));
    EXPECT_THAT(help_text(), HasSubstr("stats [-t] PID..."));
}

TEST(StatsFormat, Bytes)
{
    EXPECT_EQ(format_bytes(0), "0 B");
    EXPECT_EQ(format_bytes(1023), "1023 B");
    EXPECT_EQ(format_bytes(1024), "1.0 KiB");
    EXPECT_EQ(format_bytes(3 * 1024 * 1024 + 512 * 1024), "3.5 MiB");
    EXPECT_EQ(format_bytes(5ULL << 30), "5.0 GiB");
}

TEST(StatsFormat, JsonHasThePythonFieldNamesAndNullForWhatIsNotFilled)
{
    taskmon::Stats s;
    s.pid = 7;
    s.tgid = 7;
    s.comm = "a\"b";
    s.user = std::chrono::nanoseconds(5);
    s.rss_anon_bytes = 0; // measured zero stays 0
    const std::string json = format_stats(s, true);
    EXPECT_EQ(json,
              "{\"pid\": 7, \"tgid\": 7, \"ppid\": null, \"comm\": \"a\\\"b\", \"threads\": null, "
              "\"state\": null, \"uid\": null, \"euid\": null, \"gid\": null, \"egid\": null, "
              "\"user_ns\": 5, \"system_ns\": null, \"minor_faults\": null, \"major_faults\": "
              "null, \"voluntary_ctxsw\": null, \"involuntary_ctxsw\": null, "
              "\"rss_anon_bytes\": 0, \"rss_file_bytes\": null, \"rss_shmem_bytes\": null, "
              "\"vsize_bytes\": null, \"start_time_ns\": null, \"sample_time_ns\": null}\n");
}

TEST(StatsFormat, TableShowsDashesForWhatIsNotFilled)
{
    taskmon::Stats s;
    s.pid = 2;
    s.comm = "kthreadd";
    s.user = std::chrono::nanoseconds(0);
    s.system = std::chrono::milliseconds(20);
    const std::string row = format_stats(s, false);
    EXPECT_THAT(row, HasSubstr("0.020 s"));
    EXPECT_THAT(row, HasSubstr(" - "));
    EXPECT_THAT(row, testing::EndsWith(" kthreadd\n"));
    EXPECT_THAT(format_stats_header(false), HasSubstr("RSS"));
    EXPECT_EQ(format_stats_header(true), "");
    EXPECT_EQ(format_stats_error(9, ESRCH, "gone", false), "");
    EXPECT_EQ(format_stats_error(9, ESRCH, "gone", true),
              "{\"pid\": 9, \"error\": \"ESRCH\", \"errno\": 3, \"message\": \"gone\"}\n");
}

TEST(StatsRun, PrintsEveryPidAndFailsForTheOneThatExited)
{
    FakeStatsKernel k;
    k.processes[100] = record(100, "bash");
    k.processes[2] = kthread_record(2, "kthreadd");
    const Result r = run({"--device", "/dev/zero", "stats", "100", "555", "2"});
    EXPECT_EQ(r.status, exit_no_such_process);
    const auto out = lines(r.out);
    ASSERT_EQ(out.size(), 3U) << r.out; // header, 100, 2
    EXPECT_THAT(out[0], HasSubstr("PID"));
    EXPECT_THAT(out[1], HasSubstr("bash"));
    EXPECT_THAT(out[1], HasSubstr("4.0 MiB")); // rss: 3 MiB + 1 MiB + 512 B
    EXPECT_THAT(out[2], HasSubstr("kthreadd"));
    EXPECT_THAT(r.err, StartsWith("taskmon: "));
    EXPECT_THAT(r.err, HasSubstr("555"));
    EXPECT_EQ(k.stats_calls, 1); // one batch
}

TEST(StatsRun, JsonIsOneObjectPerPidInOrderWithErrorsInline)
{
    FakeStatsKernel k;
    k.processes[100] = record(100, "bash");
    k.processes[2] = kthread_record(2, "kthreadd");
    const Result r = run({"--json", "--device=/dev/zero", "stats", "2", "555", "100"});
    EXPECT_EQ(r.status, exit_no_such_process);
    const auto out = lines(r.out);
    ASSERT_EQ(out.size(), 3U) << r.out;
    EXPECT_THAT(out[0], StartsWith("{\"pid\": 2, "));
    EXPECT_THAT(out[0], HasSubstr("\"rss_anon_bytes\": null"));
    EXPECT_THAT(out[0], HasSubstr("\"vsize_bytes\": null"));
    EXPECT_THAT(out[1], StartsWith("{\"pid\": 555, \"error\": \"ESRCH\""));
    EXPECT_THAT(out[2], StartsWith("{\"pid\": 100, "));
    EXPECT_THAT(out[2], HasSubstr("\"rss_anon_bytes\": 3145728"));
    EXPECT_THAT(out[2], HasSubstr("\"user_ns\": 1250000000"));
    EXPECT_THAT(r.err, HasSubstr("555"));
}

TEST(StatsRun, AllPresentIsExit0AndThreadsIsPassedOn)
{
    FakeStatsKernel k;
    k.processes[100] = record(100, "bash");
    const Result r = run({"--device", "/dev/zero", "stats", "--threads", "100"});
    EXPECT_EQ(r.status, exit_ok) << r.err;
    EXPECT_EQ(r.err, "");
}

TEST(StatsRun, OldModuleIsExit7WithAClearMessage)
{
    FakeStatsKernel k;
    k.stats_errno = ENOTTY;
    const Result r = run({"--device", "/dev/zero", "stats", "1"});
    EXPECT_EQ(r.status, exit_not_supported);
    EXPECT_THAT(r.err, HasSubstr("does not understand TM_STATS_BATCH"));
    EXPECT_EQ(r.out, "");
}

TEST(GetRun, UsesTheAtomicReadWhenTheModuleHasIt)
{
    FakeStatsKernel k;
    k.processes[100] = record(100, "bash");
    k.target = 100;
    const Result r = run({"--device", "/dev/zero", "get"});
    EXPECT_EQ(r.status, exit_ok) << r.err;
    EXPECT_THAT(r.out, StartsWith("pid     100\nuser    1.250 s\nsystem  0.500 s\n"));
    EXPECT_EQ(k.stats_calls, 1);
    EXPECT_EQ(k.pid_calls, 0);
    EXPECT_EQ(k.get_calls, 0);
}

TEST(GetRun, FallsBackToTwoRequestsOnAnOldModule)
{
    FakeStatsKernel k;
    k.processes[100] = record(100, "bash");
    k.target = 100;
    k.stats_errno = ENOTTY;
    const Result r = run({"--json", "--device", "/dev/zero", "get"});
    EXPECT_EQ(r.status, exit_ok) << r.err;
    EXPECT_THAT(r.out, StartsWith("{\"pid\": 100, \"user_ns\": 1250000000, "));
    EXPECT_EQ(k.pid_calls, 1);
    EXPECT_EQ(k.get_calls, 1);
}

TEST(GetRun, NoTargetAndExitedTargetKeepTheirExitCodes)
{
    {
        const FakeStatsKernel k;
        EXPECT_EQ(run({"--device", "/dev/zero", "get"}).status, exit_no_target);
    }
    {
        FakeStatsKernel k;
        k.target = 4242;
        const Result r = run({"--device", "/dev/zero", "get"});
        EXPECT_EQ(r.status, exit_no_such_process);
        EXPECT_THAT(r.err, HasSubstr("4242"));
    }
}

TEST(GetRun, NotATaskmonitorStillSaysSo)
{
    const Result r = run({"--device", "/dev/null", "get"});
    EXPECT_EQ(r.status, exit_not_supported);
    EXPECT_THAT(r.err, HasSubstr("not a taskmonitor device"));
    const Result s = run({"--device", "/dev/null", "stats", "1"});
    EXPECT_EQ(s.status, exit_not_supported);
    EXPECT_THAT(s.err, HasSubstr("not a taskmonitor device"));
    EXPECT_THAT(s.err, Not(HasSubstr("Try 'taskmon --help'")));
}

} // namespace
