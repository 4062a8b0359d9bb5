// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of `taskmon top`: its options and their errors, the accounting
// of the CPU time between two samples (fed samples and exit records by
// hand), the /proc/stat total and the output (table, --json, hostile
// names).  The command against the real module, with a workload of
// short-lived processes, and its terminal mode are in
// tests/python/test_top_vm.py.
#include "format.hpp"
#include "options.hpp"
#include "top.hpp"
#include "usage_error.hpp"

#include <taskmon/taskmon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace taskmon::cli;
using taskmon::cli::test::usage_error;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(TopOptions, DefaultsAreTops)
{
    const Options o = parse_args({"top"});
    EXPECT_EQ(o.command, Command::top);
    EXPECT_EQ(o.interval, 3s);
    EXPECT_FALSE(o.count);
    EXPECT_FALSE(o.batch);
    EXPECT_EQ(o.device, "/dev/taskmonitor");
}

TEST(TopOptions, BatchDelayIterationsPids)
{
    const Options o = parse_args({"top", "-b", "-d", "0.5", "-n", "2", "-p", "1,42", "--json"});
    EXPECT_TRUE(o.batch);
    EXPECT_EQ(o.interval, 500ms);
    EXPECT_EQ(o.count, 2U);
    EXPECT_EQ(o.pids, (std::vector<pid_t>{1, 42}));
    EXPECT_TRUE(o.json);
    const Options l = parse_args({"top", "--batch", "--delay=2", "--iterations", "3", "--pid=7"});
    EXPECT_TRUE(l.batch);
    EXPECT_EQ(l.interval, 2s);
    EXPECT_EQ(l.count, 3U);
    EXPECT_EQ(l.pids, std::vector<pid_t>{7});
}

TEST(TopOptions, DashDAfterTopIsTheDelayAndTheDeviceIsLong)
{
    EXPECT_EQ(parse_args({"top", "-d", "1"}).interval, 1s);
    EXPECT_EQ(parse_args({"top", "-d", "1"}).device, "/dev/taskmonitor");
    EXPECT_EQ(parse_args({"top", "--device", "/dev/x"}).device, "/dev/x");
    EXPECT_EQ(parse_args({"-d", "/dev/x", "top", "-d", "1"}).device, "/dev/x");
    EXPECT_EQ(parse_args({"-d", "/dev/x", "top", "-d", "1"}).interval, 1s);
}

TEST(TopOptions, ErrorsSayWhatToDo)
{
    EXPECT_THAT(usage_error({"top", "-d", "fast"}), HasSubstr("invalid interval 'fast'"));
    EXPECT_THAT(usage_error({"top", "-d", "0"}), HasSubstr("from 0.01 to 86400"));
    EXPECT_THAT(usage_error({"top", "-d"}), HasSubstr("option --delay needs an argument, S"));
    EXPECT_THAT(usage_error({"top", "-n", "0"}), HasSubstr("invalid count '0'"));
    EXPECT_THAT(usage_error({"top", "-n", "x"}), HasSubstr("give a positive integer"));
    EXPECT_THAT(usage_error({"top", "-p", "0"}), HasSubstr("invalid pid '0'"));
    EXPECT_THAT(usage_error({"top", "-p", "1,,2"}), HasSubstr("empty PID in '1,,2'"));
    EXPECT_THAT(usage_error({"top", "42"}), HasSubstr("'top' takes no arguments"));
    EXPECT_THAT(usage_error({"top", "--sort=rss"}), HasSubstr("belongs to 'ps'"));
    EXPECT_THAT(usage_error({"top", "-b=1"}), Not(HasSubstr("unknown command")));
}

TEST(TopOptions, HelpNamesTheOptions)
{
    const std::string help = help_text(Command::top);
    EXPECT_THAT(help, HasSubstr("-b, --batch"));
    EXPECT_THAT(help, HasSubstr("-d, --delay S"));
    EXPECT_THAT(help, HasSubstr("-n, --iterations N"));
    EXPECT_THAT(help, HasSubstr("-p, --pid PID,..."));
    EXPECT_EQ(parse_args({"top", "--help"}).help_for, Command::top);
}

TEST(TopProcStat, TicksAndIdleInNanoseconds)
{
    const KernelCpu k = parse_proc_stat("cpu  100 20 30 9999 5 6 7 8 0 0\n", 100);
    EXPECT_EQ(k.ticks, 1500ms);   // user + nice + system
    EXPECT_EQ(k.idle, 100'120ms); // idle + iowait + steal
    EXPECT_EQ(parse_proc_stat("cpu 1 0 0 0 0 0 0 0 0 0", 3).ticks, 333'333'333ns);
    EXPECT_EQ(parse_proc_stat("cpu 1 2 3 4", 100).idle, 40ms); // an old kernel's four
    EXPECT_THROW((void)parse_proc_stat("cpu0 1 2 3 4", 100), std::runtime_error);
    EXPECT_THROW((void)parse_proc_stat("cpu 1 2 3", 100), std::runtime_error);
    EXPECT_THROW((void)parse_proc_stat("", 100), std::runtime_error);
}

// /proc/stat at monotonic time @p at on 2 CPUs, @p idle of them idle so far.
KernelCpu kcpu(std::chrono::nanoseconds at, std::chrono::nanoseconds idle,
               std::chrono::nanoseconds ticks = 0s)
{
    KernelCpu k;
    k.monotonic = at;
    k.idle = idle;
    k.ticks = ticks;
    k.cpus = 2;
    return k;
}

taskmon::Stats stats(pid_t pid, std::chrono::nanoseconds start, std::chrono::nanoseconds user,
                     std::chrono::nanoseconds system, std::chrono::nanoseconds read_at)
{
    taskmon::Stats s;
    s.pid = pid;
    s.start_time = start;
    s.user = user;
    s.system = system;
    s.sample_time = read_at;
    s.comm = "p" + std::to_string(pid);
    s.state = 'R';
    s.threads = 1;
    return s;
}

TopExit exit_of(pid_t pid, std::chrono::nanoseconds start, std::chrono::nanoseconds end,
                std::chrono::nanoseconds user, std::chrono::nanoseconds system)
{
    TopExit e;
    e.pid = pid;
    e.start_time = start;
    e.exit_time = end;
    e.user = user;
    e.system = system;
    e.comm = "x" + std::to_string(pid);
    return e;
}

const TopRow* find(const TopInterval& iv, pid_t pid)
{
    for (const auto& r : iv.rows) {
        if (r.pid == pid) {
            return &r;
        }
    }
    return nullptr;
}

TEST(TopAccounting, DeltasExitsAndReusedPids)
{
    TopAccounting a;
    // t = 10 s: 1 and 2 run.
    EXPECT_FALSE(
        a.add({stats(1, 1s, 5s, 1s, 10s), stats(2, 2s, 1s, 0s, 10s)}, 10s, {}, 0, kcpu(10s, 5s)));
    // t = 12 s: 1 used 1.5 s; 2 exited with 0.4 s more; 3 started and exited
    // in between (0.3 s); pid 4 was reused: the one of the sample is new.
    // An exit after 1's read belongs to the next interval.
    auto iv = a.add({stats(1, 1s, 6s, 1500ms, 12s), stats(4, 11s, 100ms, 0s, 12s)}, 12s,
                    {exit_of(2, 2s, 11s, 1300ms, 100ms), exit_of(3, 10500ms, 10700ms, 200ms, 100ms),
                     exit_of(1, 1s, 12500ms, 6s, 1600ms)},
                    0, kcpu(12s, 5s, 3s));
    ASSERT_TRUE(iv);
    EXPECT_EQ(iv->length, 2s);
    EXPECT_EQ(iv->kernel, 4s); // 2 CPUs x 2 s, none idle
    EXPECT_EQ(iv->kernel_ticks, 3s);
    EXPECT_EQ(iv->exited, 2U);
    const TopRow* one = find(*iv, 1);
    ASSERT_NE(one, nullptr);
    EXPECT_EQ(one->kind, TopKind::running);
    EXPECT_EQ(one->user_cpu, 1s);
    EXPECT_EQ(one->system_cpu, 500ms);
    EXPECT_DOUBLE_EQ(one->cpu_percent, 75.0);
    const TopRow* two = find(*iv, 2);
    ASSERT_NE(two, nullptr);
    EXPECT_EQ(two->kind, TopKind::exited);
    EXPECT_EQ(two->user_cpu + two->system_cpu, 400ms);
    const TopRow* three = find(*iv, 3);
    ASSERT_NE(three, nullptr);
    EXPECT_EQ(three->kind, TopKind::started_exited);
    EXPECT_EQ(three->user_cpu + three->system_cpu, 300ms);
    const TopRow* four = find(*iv, 4);
    ASSERT_NE(four, nullptr);
    EXPECT_EQ(four->kind, TopKind::started);
    EXPECT_EQ(iv->accounted, 1500ms + 400ms + 300ms + 100ms);
    ASSERT_TRUE(iv->accounted_percent());
    EXPECT_DOUBLE_EQ(*iv->accounted_percent(), 57.5);

    // t = 14 s: 1's exit, held back, now counts its last 0.1 s once.
    iv = a.add({stats(4, 11s, 200ms, 0s, 14s)}, 14s, {}, 0, kcpu(14s, 8s));
    ASSERT_TRUE(iv);
    one = find(*iv, 1);
    ASSERT_NE(one, nullptr);
    EXPECT_EQ(one->kind, TopKind::exited);
    EXPECT_EQ(one->user_cpu + one->system_cpu, 100ms);
    EXPECT_EQ(iv->accounted, 200ms);
}

TEST(TopAccounting, AZombieIsCountedOnceByItsExitRecord)
{
    TopAccounting a;
    (void)a.add({stats(5, 1s, 1s, 0s, 10s)}, 10s, {}, 0, kcpu(10s, 0s));
    auto iv =
        a.add({stats(5, 1s, 2s, 0s, 12s)}, 12s, {exit_of(5, 1s, 11s, 2s, 0s)}, 0, kcpu(12s, 3s));
    ASSERT_TRUE(iv);
    EXPECT_EQ(iv->rows.size(), 1U);
    EXPECT_EQ(iv->rows[0].kind, TopKind::exited);
    EXPECT_EQ(iv->accounted, 1s);
    iv = a.add({stats(5, 1s, 2s, 0s, 14s)}, 14s, {}, 0, kcpu(14s, 7s));
    ASSERT_TRUE(iv);
    EXPECT_TRUE(iv->rows.empty());
    EXPECT_FALSE(iv->accounted_percent()); // the kernel total is 0
}

TEST(TopFormat, TableAndJsonMarkExitedAndKeepNamesSafe)
{
    TopInterval iv;
    iv.index = 1;
    iv.length = 2s;
    iv.kernel = 2s;
    iv.accounted = 1990ms;
    iv.exited = 1;
    TopRow r;
    r.pid = 42;
    r.kind = TopKind::started_exited;
    r.uid = 0;
    r.user = "root";
    r.user_cpu = 10ms;
    r.cpu_percent = 0.5;
    r.comm = "ev\x1b[2Jil\xff";
    iv.rows.push_back(r);
    const std::string table = format_top(iv, TopSort::cpu, false, false);
    EXPECT_THAT(table, HasSubstr("1.990 s accounted to processes of 2.000 s the kernel's tasks"));
    EXPECT_THAT(table, HasSubstr(": 99.5 %"));
    EXPECT_THAT(table, HasSubstr("ev?[2Jil? [new+exited]"));
    EXPECT_THAT(table, Not(HasSubstr("\x1b")));
    const std::string json = format_top(iv, TopSort::cpu, true, false);
    EXPECT_THAT(json, HasSubstr("\"accounted_percent\": 99.50"));
    EXPECT_THAT(json, HasSubstr("\"kernel_seconds\": 2.000000000"));
    EXPECT_THAT(json, HasSubstr("\"exited\": true"));
    EXPECT_THAT(json, HasSubstr("\"status\": \"new+exited\""));
    EXPECT_THAT(json, HasSubstr("\"comm\": \"ev\\u001b[2Jil\xef\xbf\xbd\""));
    EXPECT_THAT(json, HasSubstr("\"comm_hex\": "));
    EXPECT_EQ(json.find('\n'), json.size() - 1); // one line
}

TEST(TopSorting, ByEachKey)
{
    std::vector<TopRow> rows(3);
    rows[0].pid = 3;
    rows[0].user_cpu = 1ms;
    rows[0].rss_bytes = 300;
    rows[0].total_cpu = 5s;
    rows[1].pid = 1;
    rows[1].user_cpu = 3ms;
    rows[1].rss_bytes = 100;
    rows[1].total_cpu = 1s;
    rows[2].pid = 2;
    rows[2].user_cpu = 2ms;
    rows[2].total_cpu = 9s;
    const auto pids = [&rows]() {
        return std::vector<pid_t>{rows[0].pid, rows[1].pid, rows[2].pid};
    };
    sort_top(rows, TopSort::cpu);
    EXPECT_EQ(pids(), (std::vector<pid_t>{1, 2, 3}));
    sort_top(rows, TopSort::memory);
    EXPECT_EQ(pids(), (std::vector<pid_t>{3, 1, 2}));
    sort_top(rows, TopSort::time);
    EXPECT_EQ(pids(), (std::vector<pid_t>{2, 3, 1}));
    sort_top(rows, TopSort::pid);
    EXPECT_EQ(pids(), (std::vector<pid_t>{1, 2, 3}));
}

} // namespace
