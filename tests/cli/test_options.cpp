// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of the taskmon command's argument parsing.
#include "../project_version.hpp"
#include "options.hpp"
#include "usage_error.hpp"

#include <taskmon/taskmon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using taskmon::cli::Command;
using taskmon::cli::Options;
using taskmon::cli::parse_args;
using taskmon::cli::UsageError;
using ::testing::HasSubstr;

Options parse(const std::vector<std::string>& args)
{
    return parse_args(args);
}

using taskmon::cli::test::usage_error;

TEST(ParseArgs, Commands)
{
    EXPECT_EQ(parse({"get"}).command, Command::get);
    EXPECT_EQ(parse({"watch"}).command, Command::watch);
    EXPECT_EQ(parse({"start"}).command, Command::start);
    EXPECT_EQ(parse({"stop"}).command, Command::stop);
    EXPECT_EQ(parse({"pid"}).command, Command::pid);
    EXPECT_EQ(parse({"help"}).command, Command::help);
}

TEST(ParseArgs, Defaults)
{
    const Options o = parse({"get"});
    EXPECT_EQ(o.device, "/dev/taskmonitor");
    EXPECT_FALSE(o.json);
    EXPECT_EQ(o.interval, 1s);
    EXPECT_FALSE(o.count);
    EXPECT_FALSE(o.pid);
}

TEST(ParseArgs, HelpAndVersion)
{
    EXPECT_EQ(parse({"--help"}).command, Command::help);
    EXPECT_EQ(parse({"-h"}).command, Command::help);
    EXPECT_FALSE(parse({"-h"}).help_for);
    EXPECT_EQ(parse({"--version"}).command, Command::version);
    EXPECT_EQ(parse({"-V", "frob"}).command, Command::version);
    EXPECT_EQ(parse({"-jV"}).command, Command::version);
    // After a command: that command's help.
    const Options watch = parse({"watch", "-i", "1", "--help"});
    EXPECT_EQ(watch.command, Command::help);
    EXPECT_EQ(watch.help_for, Command::watch);
    EXPECT_EQ(parse({"help", "stats"}).help_for, Command::stats);
    EXPECT_EQ(parse({"get", "-V"}).command, Command::version);
    // Options are taken in order, as getopt_long does: an error first is an error.
    EXPECT_THAT(usage_error({"get", "--bogus", "--help"}), HasSubstr("unknown option '--bogus'"));
    // After "--" they are words, not options.
    EXPECT_THAT(usage_error({"--", "--help"}), HasSubstr("unknown command '--help'"));
    EXPECT_THAT(usage_error({"get", "--", "--help"}), HasSubstr("'get' takes no arguments"));
    EXPECT_THAT(usage_error({"help", "frob"}), HasSubstr("unknown command 'frob'"));
}

TEST(ParseArgs, GlobalOptionsBeforeOrAfterTheCommand)
{
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--device", "/dev/x", "--json", "get"},
             {"get", "--device", "/dev/x", "--json"},
             {"-d", "/dev/x", "get", "-j"},
             {"--device=/dev/x", "get", "--json"},
             {"-d/dev/x", "-j", "get"},          // value attached to the short option
             {"-jd", "/dev/x", "get"},           // grouped short options, the last takes a value
             {"-jd/dev/x", "get"},               // both
             {"get", "-jd", "/dev/x"},           // the same after the command
             {"--dev", "/dev/x", "--js", "get"}, // unambiguous abbreviations, as getopt_long
         }) {
        const Options o = parse(args);
        EXPECT_EQ(o.command, Command::get) << args.front();
        EXPECT_EQ(o.device, "/dev/x") << args.front();
        EXPECT_TRUE(o.json) << args.front();
    }
}

TEST(ParseArgs, Watch)
{
    const Options o = parse({"watch", "--interval", "0.25", "--count", "2"});
    EXPECT_EQ(o.command, Command::watch);
    EXPECT_EQ(o.interval, 250ms);
    ASSERT_TRUE(o.count);
    EXPECT_EQ(*o.count, 2U);
    const Options p = parse({"-j", "watch", "-i3", "-jn", "10"});
    EXPECT_EQ(p.interval, 3s);
    EXPECT_EQ(*p.count, 10U);
    EXPECT_TRUE(p.json);
    EXPECT_EQ(parse({"watch", "--interval=1.5"}).interval, 1500ms);
    EXPECT_TRUE(o.pids.empty()) << "no PID: the target";
}

TEST(ParseArgs, WatchPids)
{
    const Options o = parse({"watch", "12", "-i", "0.1", "34", "--count=3"});
    EXPECT_EQ(o.pids, (std::vector<pid_t>{12, 34}));
    EXPECT_EQ(o.interval, 100ms);
    EXPECT_EQ(*o.count, 3U);
    EXPECT_THAT(usage_error({"watch", "x"}), HasSubstr("invalid pid 'x'"));
    EXPECT_THAT(usage_error({"watch", "0"}), HasSubstr("invalid pid"));
    EXPECT_THAT(usage_error({"watch", "-5"}), HasSubstr("invalid pid"));
}

TEST(ParseArgs, Pid)
{
    EXPECT_FALSE(parse({"pid"}).pid);
    const Options o = parse({"pid", "1234"});
    ASSERT_TRUE(o.pid);
    EXPECT_EQ(*o.pid, 1234);
    EXPECT_EQ(*parse({"--json", "pid", "1"}).pid, 1);
    EXPECT_EQ(*parse({"pid", "--", "7"}).pid, 7);
}

TEST(ParseArgs, OnlySteeringOpensForWriting)
{
    using taskmon::cli::steers;
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"get"}, {"watch"}, {"pid"}, {"stats", "1"}, {"help"}, {"--version"}}) {
        EXPECT_FALSE(steers(parse(args))) << args.front();
    }
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"start"}, {"stop"}, {"pid", "1"}}) {
        EXPECT_TRUE(steers(parse(args))) << args.front();
    }
}

TEST(ParseArgs, UsageErrorsSayWhatIsWrong)
{
    EXPECT_THAT(usage_error({}), HasSubstr("no command given"));
    EXPECT_THAT(usage_error({}), HasSubstr("pid, stats, hidden, ps, top, exits and help"));
    EXPECT_THAT(usage_error({"frob"}), HasSubstr("unknown command 'frob'"));
    EXPECT_THAT(usage_error({"frob"}),
                HasSubstr("get, watch, start, stop, pid, stats, hidden, ps, top, exits and help"));
    EXPECT_THAT(usage_error({"get", "--frob"}), HasSubstr("unknown option '--frob'"));
    EXPECT_THAT(usage_error({"get", "--frob=1"}), HasSubstr("unknown option '--frob'"));
    EXPECT_THAT(usage_error({"-x", "get"}), HasSubstr("unknown option '-x'"));
    EXPECT_THAT(usage_error({"get", "-jx"}), HasSubstr("unknown option '-x'"));
    EXPECT_THAT(usage_error({"get", "extra"}), HasSubstr("'get' takes no arguments"));
    EXPECT_THAT(usage_error({"start", "1"}), HasSubstr("'start' takes no arguments"));
    EXPECT_THAT(usage_error({"pid", "1", "2"}), HasSubstr("at most one argument"));
    EXPECT_THAT(usage_error({"stats"}), HasSubstr("at least one PID"));
    EXPECT_THAT(usage_error({"get", "--device"}), HasSubstr("--device needs an argument, PATH"));
    EXPECT_THAT(usage_error({"-d"}), HasSubstr("--device needs an argument, PATH"));
    EXPECT_THAT(usage_error({"get", "--device="}), HasSubstr("non-empty PATH"));
    EXPECT_THAT(usage_error({"watch", "--interval"}), HasSubstr("needs an argument, S"));
    EXPECT_THAT(usage_error({"watch", "-n"}), HasSubstr("--count needs an argument, N"));
    EXPECT_THAT(usage_error({"get", "--count", "3"}), HasSubstr("belongs to 'watch'"));
    EXPECT_THAT(usage_error({"-i", "3", "watch"}), HasSubstr("give it after the command"));
    EXPECT_THAT(usage_error({"pid", "--interval", "3"}),
                HasSubstr("'--interval' belongs to 'watch'"));
    EXPECT_THAT(usage_error({"get", "-t"}), HasSubstr("'-t' belongs to 'stats'"));
    EXPECT_THAT(usage_error({"get", "--json=yes"}), HasSubstr("--json takes no argument"));
}

TEST(ParsePid, AcceptsPositiveIntegersOnly)
{
    EXPECT_EQ(taskmon::cli::parse_pid("1"), 1);
    EXPECT_EQ(taskmon::cli::parse_pid("4194304"), 4194304);
    EXPECT_EQ(taskmon::cli::parse_pid("2147483647"), 2147483647);
    for (const char* bad : {"0", "-1", "-5", "", " 1", "1 ", "+1", "1x", "0x10", "2147483648",
                            "99999999999999999999", "1.0"}) {
        EXPECT_THROW(static_cast<void>(taskmon::cli::parse_pid(bad)), UsageError) << bad;
    }
    EXPECT_THAT(usage_error({"pid", "0"}), HasSubstr("invalid pid '0'"));
    EXPECT_THAT(usage_error({"pid", "-5"}), HasSubstr("invalid pid: '-5' is not an option"))
        << "a negative number is a bad pid, not an unknown option";
    EXPECT_THAT(usage_error({"stats", "1", "-5"}), HasSubstr("invalid pid"));
    EXPECT_THAT(usage_error({"pid", "abc"}), HasSubstr("positive integer"));
}

TEST(ParseInterval, DecimalSecondsWithinBounds)
{
    using taskmon::cli::parse_interval;
    EXPECT_EQ(parse_interval("1"), 1s);
    EXPECT_EQ(parse_interval("0.5"), 500ms);
    EXPECT_EQ(parse_interval(".5"), 500ms);
    EXPECT_EQ(parse_interval("2."), 2s);
    EXPECT_EQ(parse_interval("0.01"), 10ms);
    EXPECT_EQ(parse_interval("1.000000001"), 1'000'000'001ns);
    EXPECT_EQ(parse_interval("0.5s"), 500ms);
    EXPECT_EQ(parse_interval("86400"), 86400s);
    for (const char* bad : {"0", "0.0", "0.009", "86400.000000001", "86401", "", ".", "s", "-1",
                            "1e3", "abc", "1..2", "0.1234567891", " 1", "99999999999999999999"}) {
        EXPECT_THROW(static_cast<void>(parse_interval(bad)), UsageError) << bad;
    }
}

TEST(ParseCount, PositiveIntegers)
{
    using taskmon::cli::parse_count;
    EXPECT_EQ(parse_count("1"), 1U);
    EXPECT_EQ(parse_count("18446744073709551615"), 18446744073709551615ULL);
    for (const char* bad : {"0", "-1", "", "1.5", "x", "18446744073709551616"}) {
        EXPECT_THROW(static_cast<void>(parse_count(bad)), UsageError) << bad;
    }
}

TEST(HelpText, DocumentsCommandsOptionsAndExitCodes)
{
    const std::string help = taskmon::cli::help_text();
    for (const char* text : {"Usage: taskmon",
                             "get",
                             "watch",
                             "--interval",
                             "--count",
                             "start",
                             "stop",
                             "pid PID",
                             "stats [-t] PID...",
                             "--threads",
                             "help [COMMAND]",
                             "--device PATH",
                             "--json",
                             "--help",
                             "--version",
                             "Exit status:",
                             "0  success",
                             "1  any other runtime error",
                             "2  usage error",
                             "3  no such process",
                             "4  no target set",
                             "5  device not found",
                             "6  permission denied",
                             "7  not a taskmonitor device",
                             "sudo modprobe taskmonitor",
                             "group taskmon"}) {
        EXPECT_THAT(help, HasSubstr(text));
    }
}

TEST(HelpText, OfOneCommand)
{
    using taskmon::cli::help_text;
    const std::string watch = help_text(Command::watch);
    EXPECT_THAT(watch,
                ::testing::StartsWith("Usage: taskmon [OPTIONS] watch [-i S] [-n N] [PID...]\n"));
    EXPECT_THAT(watch, HasSubstr("--interval S"));
    EXPECT_THAT(watch, HasSubstr("--device PATH"));
    EXPECT_THAT(watch, ::testing::Not(HasSubstr("--threads")));
    EXPECT_THAT(help_text(Command::pid), HasSubstr("       taskmon [OPTIONS] pid PID\n"));
    EXPECT_EQ(help_text(Command::help), help_text());
}

TEST(VersionText, NamesCliAndLibraryVersions)
{
    const std::string expected = project_version();
    EXPECT_EQ(taskmon::cli::version_text(),
              "taskmon " + expected + " (libtaskmon " + expected + ")\n");
}

} // namespace
