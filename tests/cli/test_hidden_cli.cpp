// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of `taskmon hidden`: its options, its lines (text and JSON) and
// its help.  The command against the real module and a real /proc is in
// tests/libtaskmon/vm/test_cli_hidden.cpp.
#include "exit_codes.hpp"
#include "hidden.hpp"
#include "options.hpp"
#include "usage_error.hpp"

#include <taskmon/taskmon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using taskmon::HiddenProcess;
using taskmon::HiddenReason;
using taskmon::cli::Command;
using taskmon::cli::format_hidden;
using taskmon::cli::HiddenEvent;
using taskmon::cli::Options;
using taskmon::cli::parse_args;
using taskmon::cli::parse_settle;
using taskmon::cli::UsageError;
using ::testing::HasSubstr;

using taskmon::cli::test::usage_error;

HiddenProcess sample_process()
{
    HiddenProcess p;
    p.pid = 4242;
    p.comm = "sleep";
    p.start_time = 812'340'000'123ns;
    p.reasons = static_cast<std::uint32_t>(HiddenReason::getdents) |
                static_cast<std::uint32_t>(HiddenReason::open);
    p.uid = 0;
    p.detail = "not in getdents64 of /proc";
    return p;
}

TEST(HiddenArgs, Defaults)
{
    const Options o = parse_args({"hidden"});
    EXPECT_EQ(o.command, Command::hidden);
    EXPECT_EQ(o.proc, "/proc");
    EXPECT_EQ(o.settle, 200ms);
    EXPECT_FALSE(o.watch);
    EXPECT_FALSE(o.json);
    EXPECT_FALSE(taskmon::cli::steers(o)) << "hidden opens the device read-only";
}

TEST(HiddenArgs, EveryOptionInEveryForm)
{
    const Options o = parse_args({"-j", "hidden", "--watch", "2.5", "--settle=0", "-p/mnt/proc"});
    EXPECT_TRUE(o.json);
    EXPECT_EQ(o.watch, 2500ms);
    EXPECT_EQ(o.settle, 0ms);
    EXPECT_EQ(o.proc, "/mnt/proc");
    const Options g = parse_args({"hidden", "-jw1", "-s", "1.5s", "--proc", "/p", "-d/dev/x"});
    EXPECT_TRUE(g.json);
    EXPECT_EQ(g.watch, 1s);
    EXPECT_EQ(g.settle, 1500ms);
    EXPECT_EQ(g.proc, "/p");
    EXPECT_EQ(g.device, "/dev/x");
    EXPECT_EQ(parse_args({"hidden", "--help"}).help_for, Command::hidden);
    EXPECT_EQ(parse_args({"help", "hidden"}).help_for, Command::hidden);
}

TEST(HiddenArgs, Errors)
{
    EXPECT_THAT(usage_error({"hidden", "1"}), HasSubstr("'hidden' takes no arguments"));
    EXPECT_THAT(usage_error({"hidden", "--watch", "0"}), HasSubstr("invalid interval '0'"));
    EXPECT_THAT(usage_error({"hidden", "--watch"}), HasSubstr("--watch needs an argument"));
    EXPECT_THAT(usage_error({"hidden", "--settle", "x"}), HasSubstr("invalid settle 'x'"));
    EXPECT_THAT(usage_error({"hidden", "--proc="}), HasSubstr("--proc needs a non-empty PATH"));
    // The options are hidden's own.
    EXPECT_THAT(usage_error({"--settle", "1", "hidden"}), HasSubstr("belongs to 'hidden'"));
    EXPECT_THAT(usage_error({"get", "--proc", "/proc"}), HasSubstr("belongs to 'hidden'"));
    EXPECT_THAT(usage_error({"watch", "-w", "1"}), HasSubstr("belongs to 'hidden'"));
    EXPECT_THAT(usage_error({"hidden", "-i", "1"}), HasSubstr("belongs to 'watch'"));
}

TEST(HiddenArgs, Settle)
{
    EXPECT_EQ(parse_settle("0"), 0ms);
    EXPECT_EQ(parse_settle("0.2"), 200ms);
    EXPECT_EQ(parse_settle(".5"), 500ms);
    EXPECT_EQ(parse_settle("3600"), 3600s);
    EXPECT_EQ(parse_settle("0.0001"), 1ms) << "rounded up";
    for (const char* bad :
         {"", ".", "-1", "1e3", "3601", "3600.001", "10000", "0x1", " 1", "1.0000000001", "s"}) {
        EXPECT_THROW(static_cast<void>(parse_settle(bad)), UsageError) << bad;
    }
}

TEST(HiddenFormat, Text)
{
    EXPECT_EQ(format_hidden(sample_process(), false),
              "pid 4242 comm sleep uid 0 start 812.340 s: getdents64,open "
              "(not in getdents64 of /proc)\n");
    HiddenProcess p = sample_process();
    p.uid.reset();
    p.comm.clear();
    p.detail.clear();
    EXPECT_EQ(format_hidden(p, false), "pid 4242 comm - uid - start 812.340 s: getdents64,open\n");
}

TEST(HiddenFormat, ANameCannotForgeLines)
{
    HiddenProcess p = sample_process();
    p.comm = "x\npid 1 comm init";
    const std::string line = format_hidden(p, false);
    EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
    EXPECT_THAT(line, HasSubstr("comm x?pid 1 comm init uid 0"));
}

TEST(HiddenFormat, Json)
{
    EXPECT_EQ(format_hidden(sample_process(), true),
              R"({"pid": 4242, "comm": "sleep", "uid": 0, "start_time_ns": 812340000123, )"
              R"("reasons": ["getdents64", "open"], "detail": "not in getdents64 of /proc"})"
              "\n");
    HiddenProcess p = sample_process();
    p.uid.reset();
    p.comm = "a\"b\n\xff";
    EXPECT_THAT(format_hidden(p, true), HasSubstr(R"("comm": "a\"b\n)"
                                                  "\xEF\xBF\xBD"
                                                  R"(", "comm_hex": "6122620aff", "uid": null)"));
}

TEST(HiddenFormat, WatchEvents)
{
    const HiddenEvent appeared = HiddenEvent::appeared;
    const HiddenEvent gone = HiddenEvent::disappeared;
    EXPECT_EQ(format_hidden(sample_process(), false, &appeared, 3012ms),
              "3.012 s appeared pid 4242 comm sleep uid 0 start 812.340 s: getdents64,open "
              "(not in getdents64 of /proc)\n");
    EXPECT_THAT(format_hidden(sample_process(), true, &gone, 1500ms),
                ::testing::StartsWith(
                    R"({"elapsed_s": 1.500000000, "event": "disappeared", "pid": 4242, )"));
}

TEST(HiddenHelp, DocumentsTheCommandAndItsStatus)
{
    const std::string all = taskmon::cli::help_text();
    EXPECT_THAT(all, HasSubstr("  hidden [-w S] [-s S] [-p PATH]\n"));
    EXPECT_THAT(all, HasSubstr("  8  hidden: any other runtime error"));
    const std::string own = taskmon::cli::help_text(Command::hidden);
    EXPECT_THAT(own, HasSubstr("Usage: taskmon [OPTIONS] hidden [-w S] [-s S] [-p PATH]\n"));
    EXPECT_THAT(own, HasSubstr("-w, --watch S"));
    EXPECT_THAT(own, HasSubstr("-s, --settle S"));
    EXPECT_THAT(own, HasSubstr("-p, --proc PATH"));
    EXPECT_EQ(taskmon::cli::exit_hidden_found, 1);
    EXPECT_GT(taskmon::cli::exit_hidden_failed, 1);
}

} // namespace
