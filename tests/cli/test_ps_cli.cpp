// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of `taskmon ps`: its options, columns, sorting and output
// (table, --raw, --json, hostile names).  The command against the real
// module is in tests/libtaskmon/vm/test_cli_ps.cpp.
#include "fake_stats_kernel.hpp"
#include "format.hpp"
#include "options.hpp"
#include "ps.hpp"
#include "usage_error.hpp"

#include <taskmon/taskmon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using namespace taskmon::cli;
using taskmon::cli::test::usage_error;
using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> lines(const std::string& text)
{
    std::vector<std::string> result;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        result.push_back(line);
    }
    return result;
}

PsRow row(pid_t pid, const std::string& comm, std::uint64_t rss, std::chrono::nanoseconds cpu)
{
    PsRow r;
    r.stats.pid = pid;
    r.stats.ppid = 1;
    r.stats.comm = comm;
    r.stats.state = 'S';
    r.stats.threads = 1;
    r.stats.uid = 0;
    r.stats.euid = 0;
    r.user = "root";
    r.stats.rss_anon_bytes = rss;
    r.stats.rss_file_bytes = 0;
    r.stats.rss_shmem_bytes = 0;
    r.stats.vsize_bytes = rss * 4;
    r.stats.user = cpu;
    r.stats.system = 0ns;
    r.stats.start_time = 10s;
    return r;
}

PsContext context()
{
    PsContext x;
    x.boottime = 110s; // every process has run 100 s
    x.realtime = 1'796'621'445s;
    x.memory_bytes = 1ULL << 30;
    return x;
}

TEST(PsArgs, EveryOption)
{
    const Options o = parse_args({"ps", "-p", "1,2", "--pid=3", "-C", "sshd,bash", "-u", "root",
                                  "-o", "pid,%cpu,rss", "--format", "comm", "--sort=-rss,+pid",
                                  "--no-headers", "--json"});
    EXPECT_EQ(o.command, Command::ps);
    EXPECT_EQ(o.pids, (std::vector<pid_t>{1, 2, 3}));
    EXPECT_EQ(o.names, (std::vector<std::string>{"sshd", "bash"}));
    EXPECT_EQ(o.users, (std::vector<std::string>{"root"}));
    EXPECT_EQ(o.columns, (std::vector<std::string>{"pid", "pcpu", "rss", "comm"}));
    EXPECT_EQ(o.sort, (std::vector<std::string>{"-rss", "pid"}));
    EXPECT_TRUE(o.no_headers);
    EXPECT_TRUE(o.json);
    EXPECT_FALSE(steers(o)) << "ps opens the device read-only";
    EXPECT_EQ(parse_args({"ps", "-k", "rss"}).sort, (std::vector<std::string>{"rss"}));
}

TEST(PsArgs, BadInputSaysWhatToDo)
{
    EXPECT_THAT(usage_error({"ps", "-o", "pid,frob"}),
                HasSubstr("unknown column 'frob'; the columns are pid ppid"));
    EXPECT_THAT(usage_error({"ps", "--sort=-frob"}), HasSubstr("unknown column 'frob'"));
    EXPECT_THAT(usage_error({"ps", "-p", "1,,2"}), HasSubstr("empty PID in '1,,2'"));
    EXPECT_THAT(usage_error({"ps", "-p", "x"}), HasSubstr("invalid pid 'x'"));
    EXPECT_THAT(usage_error({"ps", "extra"}), HasSubstr("'ps' takes no arguments"));
    EXPECT_THAT(usage_error({"ps", "--no-headers=1"}), HasSubstr("takes no argument"));
}

TEST(PsArgs, HelpNamesEveryOption)
{
    const std::string help = help_text(Command::ps);
    for (const char* option :
         {"-p, --pid PID,...", "-C, --command NAME,...", "-u, --user USER,...",
          "-o, --format COL,...", "-k, --sort [-]COL,...", "    --no-headers"}) {
        EXPECT_THAT(help, HasSubstr(option));
    }
    EXPECT_THAT(help_text(), HasSubstr("ps [-p PID,...]"));
}

TEST(PsColumns, HelpNamesEveryColumn)
{
    std::string help = help_text(Command::ps);
    for (char& c : help) {
        c = c == '\n' ? ' ' : c;
    }
    for (const auto& name : ps_columns()) {
        EXPECT_THAT(help, ::testing::ContainsRegex(" " + name + " ")) << name;
    }
}

TEST(PsColumns, PsNamesAndAliases)
{
    EXPECT_EQ(ps_column("%cpu"), "pcpu");
    EXPECT_EQ(ps_column("%mem"), "pmem");
    EXPECT_EQ(ps_column("rssize"), "rss");
    EXPECT_EQ(ps_column("vsize"), "vsz");
    EXPECT_EQ(ps_column("thcount"), "nlwp");
    EXPECT_EQ(ps_column("euid"), "uid");
    EXPECT_EQ(ps_column("min_flt"), "minflt");
    EXPECT_EQ(ps_column("cputime"), "time");
    EXPECT_EQ(ps_column("ucomm"), "comm");
    EXPECT_EQ(ps_default_columns().back(), "comm");
    for (const auto& name : ps_default_columns()) {
        EXPECT_EQ(ps_column(name), name);
    }
}

TEST(PsColumns, NamesAndIdsAskNeitherTheThreadWalkNorTheMemorySums)
{
    using taskmon::Field;
    const taskmon::Fields costly = Field::cpu | Field::faults | Field::ctxsw | Field::rss;
    for (const std::vector<std::string>& cols : std::vector<std::vector<std::string>>{
             {"pid", "comm"},
             {"pid", "ppid", "user", "uid", "s", "comm"},
             {"pid", "nlwp", "vsz", "etime", "lstart", "hidden"}}) {
        EXPECT_TRUE((ps_fields(cols) & costly).empty()) << cols.size();
    }
    EXPECT_EQ(ps_fields({"pid", "comm"}), Field::ids | Field::comm);
    EXPECT_TRUE(ps_fields({"time"}).has(Field::cpu));
    EXPECT_TRUE(ps_fields({"%cpu"}).has(Field::cpu));
    EXPECT_TRUE(ps_fields({"rssize"}).has(Field::rss));
    EXPECT_TRUE(ps_fields({"pmem"}).has(Field::rss));
    EXPECT_TRUE(ps_fields({"min_flt"}).has(Field::faults));
    EXPECT_TRUE(ps_fields({"nivcsw"}).has(Field::ctxsw));
    const taskmon::Fields defaults = ps_fields(ps_default_columns());
    EXPECT_TRUE(defaults.has(Field::cpu) && defaults.has(Field::rss));
    EXPECT_FALSE(defaults.has(Field::faults)); // no fault column by default
    EXPECT_THROW(static_cast<void>(ps_fields({"nosuch"})), UsageError);
}

// Every column shows the same thing from an answer to its own groups as from
// one to every group: its groups are enough (the fake answers as the module
// does: the groups that cost nothing always, the others only when asked).
TEST(PsColumns, EachColumnsGroupsAreEnoughForIt)
{
    taskmon::fake::FakeStatsKernel k;
    k.processes[42] = taskmon::fake::full_record(42, "bash");
    const taskmon::Monitor monitor("/dev/zero");
    PsRow full;
    full.stats = monitor.stats(42);
    full.user = full.ruser = full.group = full.rgroup = "someone";
    ASSERT_EQ(full.stats.filled(), taskmon::Fields::all());
    for (const bool raw : {false, true}) {
        PsContext x = context();
        x.raw = raw;
        for (const auto& name : ps_columns()) {
            PsRow narrow = full;
            narrow.stats = monitor.stats(42, ps_fields({name}));
            EXPECT_EQ(format_ps({narrow}, {name}, x, true, false),
                      format_ps({full}, {name}, x, true, false))
                << name;
        }
    }
}

TEST(PsFormat, TableIsAlignedWithAHeader)
{
    const std::vector<PsRow> rows{row(1, "init", 4096, 1500ms), row(4242, "bash", 3 << 20, 3725s)};
    const std::string text = format_ps(
        rows, {"pid", "user", "rss", "time", "etime", "hidden", "comm"}, context(), false, true);
    const auto out = lines(text);
    ASSERT_EQ(out.size(), 3U) << text;
    EXPECT_EQ(out[0], " PID USER     RSS     TIME ELAPSED HIDDEN COMMAND");
    EXPECT_EQ(out[1], "   1 root 4.0 KiB 00:00:01   01:40 -      init");
    EXPECT_EQ(out[2], "4242 root 3.0 MiB 01:02:05   01:40 -      bash");
    EXPECT_EQ(lines(format_ps(rows, {"pid"}, context(), false, false)).size(), 2U);
}

TEST(PsFormat, RawHasPlainNumbersInBaseUnits)
{
    const std::vector<PsRow> rows{row(7, "a", 3 << 20, 1500ms)};
    PsContext x = context();
    x.raw = true;
    const auto out = lines(format_ps(
        rows, {"pid", "rss", "vsz", "time", "etime", "pcpu", "pmem", "comm"}, x, false, false));
    ASSERT_EQ(out.size(), 1U);
    EXPECT_EQ(out[0], "7 3145728 12582912 1.500000000 100.000000000 1.50 0.29 a");
}

TEST(PsFormat, HostileNamesAreSafeInTextAndRecoverableInJson)
{
    PsRow r = row(9, "\x1b[31mx\xff\ny", 0, 0ns);
    r.hidden = static_cast<std::uint32_t>(taskmon::HiddenReason::getdents);
    const std::string text = format_ps({r}, {"pid", "hidden", "comm"}, context(), false, true);
    EXPECT_THAT(text, HasSubstr("9 getdents64 ?[31mx??y\n"));
    EXPECT_EQ(lines(text).size(), 2U);
    EXPECT_EQ(text.find('\x1b'), std::string::npos);
    const std::string json =
        format_ps({r}, {"pid", "hidden", "comm", "rss"}, context(), true, true);
    EXPECT_TRUE(valid_utf8(json));
    EXPECT_EQ(json, "{\"pid\": 9, \"hidden\": [\"getdents64\"], \"comm\": "
                    "\"\\u001b[31mx\xef\xbf\xbd\\ny\", \"comm_hex\": \"1b5b33316d78ff0a79\", "
                    "\"rss\": 0}\n");
}

TEST(PsFormat, MissingFiguresAreDashesAndNull)
{
    PsRow r;
    r.stats.pid = 2;
    EXPECT_EQ(format_ps({r}, {"pid", "rss", "user", "comm"}, context(), false, false), "2 - - -\n");
    EXPECT_EQ(format_ps({r}, {"pid", "rss", "user"}, context(), true, false),
              "{\"pid\": 2, \"rss\": null, \"user\": null}\n");
}

TEST(PsSort, DescendingAscendingAndStable)
{
    std::vector<PsRow> rows{row(1, "b", 10, 1s), row(2, "a", 30, 1s), row(3, "c", 20, 2s)};
    sort_ps(rows, {"-rss"}, context());
    EXPECT_EQ(rows[0].stats.pid, 2);
    EXPECT_EQ(rows[1].stats.pid, 3);
    EXPECT_EQ(rows[2].stats.pid, 1);
    sort_ps(rows, {"comm"}, context());
    EXPECT_EQ(rows[0].stats.comm, "a");
    sort_ps(rows, {"time", "-pid"}, context());
    EXPECT_EQ(rows[0].stats.pid, 2);
    EXPECT_EQ(rows[1].stats.pid, 1);
    EXPECT_EQ(rows[2].stats.pid, 3);
}

} // namespace
