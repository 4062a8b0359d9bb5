// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of `taskmon exits`: its arguments, its help, and its lines
// (table, --raw, --json, exit codes and signals, hostile names).  The
// command against the real module is in tests/libtaskmon/vm/test_cli.cpp.
#include "exits.hpp"
#include "format.hpp"
#include "options.hpp"
#include "usage_error.hpp"

#include <taskmon/taskmon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <string>

namespace {

using namespace std::chrono_literals;
using namespace taskmon::cli;
using taskmon::ExitRecord;
using taskmon::cli::test::usage_error;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;

ExitRecord record(int status, std::string comm = "sleep")
{
    ExitRecord r;
    r.seq = 4;
    r.pid = 1234;
    r.ppid = 1;
    r.uid = 1000;
    r.status = status;
    r.start_time = 10s;
    r.exit_time = 12500ms;
    r.user = 1500ms;
    r.system = 250ms;
    r.max_rss_bytes = std::uint64_t{3} * 1024U * 1024U;
    r.comm = std::move(comm);
    return r;
}

// 2026-12-07T05:30:45.123456789Z
constexpr std::chrono::nanoseconds wall{1796621445123456789};

TEST(ExitsCli, TakesNoOperandsAndOnlyTheGlobalOptions)
{
    EXPECT_EQ(parse_args({"exits"}).command, Command::exits);
    const Options opts = parse_args({"exits", "--json", "--raw", "-d", "/dev/x"});
    EXPECT_TRUE(opts.json);
    EXPECT_TRUE(opts.raw);
    EXPECT_EQ(opts.device, "/dev/x");
    EXPECT_FALSE(steers(opts)) << "subscribing is reading";
    EXPECT_THAT(usage_error({"exits", "1234"}), HasSubstr("'exits' takes no arguments"));
    EXPECT_THAT(usage_error({"exits", "--interval", "1"}),
                HasSubstr("belongs to 'watch': give it after the command"));
    EXPECT_THAT(usage_error({"exits", "--bogus"}), HasSubstr("unknown option '--bogus'"));
    EXPECT_THAT(usage_error({"exit"}), HasSubstr("exits"));
}

TEST(ExitsCli, HasItsHelp)
{
    const Options opts = parse_args({"exits", "--help"});
    EXPECT_EQ(opts.command, Command::help);
    ASSERT_TRUE(opts.help_for);
    EXPECT_EQ(*opts.help_for, Command::exits);
    EXPECT_THAT(help_text(Command::exits), HasSubstr("Usage: taskmon [OPTIONS] exits"));
    EXPECT_THAT(help_text(), HasSubstr("exits "));
}

TEST(ExitsCli, StatusIsExitNOrSignalName)
{
    EXPECT_EQ(exit_status_text(record(0)), "exit 0");
    EXPECT_EQ(exit_status_text(record(3 << 8)), "exit 3");
    EXPECT_EQ(exit_status_text(record(SIGKILL)), "signal SIGKILL");
    EXPECT_EQ(exit_status_text(record(SIGSEGV | 0x80)), "signal SIGSEGV");
    EXPECT_EQ(exit_status_text(record(SIGRTMIN + 2)), "signal " + std::to_string(SIGRTMIN + 2));
}

TEST(ExitsCli, ARowHasEveryColumn)
{
    const std::string header = format_exits_header(false);
    EXPECT_THAT(header, HasSubstr("PID"));
    EXPECT_THAT(header, HasSubstr("STATUS"));
    EXPECT_THAT(header, EndsWith("COMM\n"));
    const std::string line = format_exit(record(SIGTERM), "alice", wall, false);
    EXPECT_THAT(line, HasSubstr(" 1234 "));
    EXPECT_THAT(line, HasSubstr(" alice "));
    EXPECT_THAT(line, HasSubstr("signal SIGTERM"));
    EXPECT_THAT(line, HasSubstr("1.500 s"));
    EXPECT_THAT(line, HasSubstr("0.250 s"));
    EXPECT_THAT(line, HasSubstr("3.0 MiB"));
    EXPECT_THAT(line, HasSubstr("2.500 s"));
    EXPECT_THAT(line, EndsWith(" sleep\n"));
    const std::string raw = format_exit(record(0), "alice", wall, false, true);
    EXPECT_THAT(raw, HasSubstr(" 1.500000000 "));
    EXPECT_THAT(raw, HasSubstr(" 3145728 "));
    EXPECT_THAT(raw, Not(HasSubstr(" s ")));
    EXPECT_EQ(format_exits_header(true), "");
}

TEST(ExitsCli, AHostileNameCannotReachTheTerminal)
{
    const std::string line = format_exit(record(0, "a\x1b[2Jb\n\xff"), "x\ty", wall, false);
    EXPECT_THAT(line, EndsWith(" a?[2Jb??\n"));
    EXPECT_THAT(line, HasSubstr(" x?y "));
    EXPECT_EQ(line.find('\x1b'), std::string::npos);
}

TEST(ExitsCli, JsonHasThePythonNamesAndIsValidUtf8)
{
    const std::string json = format_exit(record(7 << 8, "ok\xff\"q"), "alice", wall, true);
    EXPECT_THAT(json, HasSubstr(R"("time": "2026-12-07T05:30:45.123456789Z")"));
    EXPECT_THAT(json, HasSubstr(R"("time_unix_ns": 1796621445123456789)"));
    EXPECT_THAT(json, HasSubstr(R"("pid": 1234, "ppid": 1, "uid": 1000, "username": "alice")"));
    EXPECT_THAT(json, HasSubstr(R"("exited": true, "exit_code": 7, "signaled": false)"));
    EXPECT_THAT(json, HasSubstr(R"("term_signal": null, "signal": null)"));
    EXPECT_THAT(json, HasSubstr(R"("user_ns": 1500000000, "system_ns": 250000000)"));
    EXPECT_THAT(json, HasSubstr(R"("lifetime_s": 2.500000000)"));
    EXPECT_THAT(json, HasSubstr(R"("max_rss_bytes": 3145728)"));
    EXPECT_THAT(json, HasSubstr("\"comm\": \"ok\xEF\xBF\xBD\\\"q\", \"comm_hex\": \"6f6bff2271\""));
    EXPECT_TRUE(valid_utf8(json));
    EXPECT_THAT(json, EndsWith("}\n"));
    const std::string killed = format_exit(record(SIGKILL), "alice", wall, true);
    EXPECT_THAT(
        killed,
        HasSubstr(R"("exit_code": null, "signaled": true, "term_signal": 9, "signal": "SIGKILL")"));
}

TEST(ExitsCli, LostRecordsHaveALine)
{
    EXPECT_EQ(format_exits_lost(3, wall, false), "3 exits lost: the output did not keep up\n");
    EXPECT_THAT(format_exits_lost(3, wall, true), HasSubstr(R"("lost": 3})"));
}

} // namespace
