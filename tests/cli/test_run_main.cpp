// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of the whole taskmon command short of a loaded module: exit
// codes, and error messages that name the cause and the fix.
#include "commands.hpp"
#include "exit_codes.hpp"
#include "run_capture.hpp"

#include <taskmon/taskmon.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <vector>

namespace {

using namespace taskmon::cli;
using namespace taskmon::cli::test;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(RunMain, HelpAndVersionGoToStdout)
{
    const Result help = run({"--help"});
    EXPECT_EQ(help.status, exit_ok);
    EXPECT_THAT(help.out, StartsWith("Usage: taskmon"));
    EXPECT_EQ(help.err, "");
    EXPECT_EQ(run({"help"}).out, help.out);
    const Result version = run({"--version"});
    EXPECT_EQ(version.status, exit_ok);
    EXPECT_THAT(version.out, StartsWith("taskmon "));
}

TEST(RunMain, UsageErrorsExit2WithAHint)
{
    for (const auto& args : std::vector<std::vector<std::string>>{
             {}, {"frob"}, {"pid", "0"}, {"watch", "--interval", "0"}, {"get", "x"}}) {
        const Result r = run(args);
        EXPECT_EQ(r.status, exit_usage);
        EXPECT_EQ(r.out, "");
        EXPECT_THAT(r.err, StartsWith("taskmon: "));
        EXPECT_THAT(r.err, HasSubstr("Try 'taskmon --help'"));
    }
}

TEST(RunMain, HelpOfOneCommand)
{
    const Result r = run({"watch", "--help"});
    EXPECT_EQ(r.status, exit_ok);
    EXPECT_THAT(r.out, StartsWith("Usage: taskmon [OPTIONS] watch"));
    EXPECT_EQ(run({"help", "watch"}).out, r.out);
}

TEST(RunMain, MissingDeviceExit5SaysHowToLoadTheModule)
{
    for (const char* command : {"get", "watch", "start", "stop", "pid"}) {
        const Result r = run({"--device", "/nonexistent/taskmonitor", command});
        EXPECT_EQ(r.status, exit_device_not_found) << command;
        EXPECT_THAT(r.err, StartsWith("taskmon: cannot open /nonexistent/taskmonitor"));
        EXPECT_THAT(r.err, HasSubstr("sudo modprobe taskmonitor"));
        EXPECT_THAT(r.err, HasSubstr("sudo insmod taskmonitor.ko"));
        EXPECT_EQ(r.out, "");
    }
}

TEST(RunMain, WrongDeviceExit7)
{
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--device", "/dev/null", "get"},
             {"--device", "/dev/null", "--json", "watch", "--count", "1"},
             {"--device", "/dev/null", "start"},
             {"--device", "/dev/null", "stop"},
             {"--device", "/dev/null", "pid"},
             {"--device", "/dev/null", "pid", "1"},
             {"--device", "/", "get"}}) {
        const Result r = run(args);
        EXPECT_EQ(r.status, exit_not_supported) << args.back();
        EXPECT_THAT(r.err, ::testing::AnyOf(HasSubstr("is /dev/null the taskmonitor device"),
                                            HasSubstr("is / the taskmonitor device")))
            << r.err;
    }
}

// The advice is the command's own, chosen from the error's class and
// accessors and from the command line, never from the library's message.
TEST(Advice, PermissionDeniedSaysWhichRuleAndWhatToDo)
{
    const auto opts = [](const std::vector<std::string>& args) { return parse_args(args); };
    const taskmon::PermissionDenied open_refused(EACCES, "x", "/dev/taskmonitor", "open");
    for (const char* command : {"get", "watch", "pid"}) {
        EXPECT_THAT(advice(open_refused, opts({command})),
                    HasSubstr("sudo adduser $USER taskmon', then log in again"))
            << command;
    }
    EXPECT_THAT(advice(open_refused, opts({"stats", "1"})), HasSubstr("group taskmon"));
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"start"}, {"stop"}, {"pid", "1"}}) {
        EXPECT_THAT(advice(open_refused, opts(args)), HasSubstr("run them as root"))
            << args.front();
    }
    const taskmon::PermissionDenied no_capability(EPERM, "x", "/dev/taskmonitor", "TM_PID", 1);
    EXPECT_THAT(advice(no_capability, opts({"pid", "1"})), HasSubstr("run them as root"));
    EXPECT_THAT(advice(no_capability, opts({"pid", "1"})), HasSubstr("user namespace"));
}

TEST(Advice, OtherErrors)
{
    const auto opts = [](const std::vector<std::string>& args) { return parse_args(args); };
    EXPECT_THAT(advice(taskmon::DeviceNotFound(ENOENT, "x", "/dev/t", "open"), opts({"get"})),
                HasSubstr("sudo modprobe taskmonitor"));
    EXPECT_THAT(advice(taskmon::NoTarget(ENODATA, "x", "/dev/t", "TM_GET"), opts({"get"})),
                HasSubstr("sudo taskmon pid PID"));
    const taskmon::NoSuchProcess gone(ESRCH, "x", "/dev/t", "TM_PID", 42);
    EXPECT_THAT(advice(gone, opts({"pid", "42"})), HasSubstr("'ps' lists the pids"));
    EXPECT_THAT(advice(gone, opts({"get"})), HasSubstr("choose another target"));
    EXPECT_THAT(advice(taskmon::NotSupported(ENOTTY, "x", "/dev/null", "TM_GET"), opts({"get"})),
                HasSubstr("is /dev/null the taskmonitor device"));
    EXPECT_EQ(advice(taskmon::Error(EIO, "x", "/dev/t", "TM_GET"), opts({"get"})), "");
}

TEST(ExitCodeFor, EachErrorClassHasItsStatus)
{
    EXPECT_EQ(exit_code_for(UsageError("x")), exit_usage);
    EXPECT_EQ(exit_code_for(taskmon::NoSuchProcess(1, "x")), exit_no_such_process);
    EXPECT_EQ(exit_code_for(taskmon::NoTarget(ENODATA, "x")), exit_no_target);
    EXPECT_EQ(exit_code_for(taskmon::DeviceNotFound(ENOENT, "x")), exit_device_not_found);
    EXPECT_EQ(exit_code_for(taskmon::PermissionDenied(EACCES, "x")), exit_permission_denied);
    EXPECT_EQ(exit_code_for(taskmon::NotSupported(ENOTTY, "x")), exit_not_supported);
    EXPECT_EQ(exit_code_for(taskmon::Error(EIO, "x")), exit_failure);
    EXPECT_EQ(exit_code_for(std::runtime_error("x")), exit_failure);
}

TEST(ExitCodes, MatchTheDocumentation)
{
    EXPECT_EQ(exit_ok, 0);
    EXPECT_EQ(exit_failure, 1);
    EXPECT_EQ(exit_usage, 2);
    EXPECT_EQ(exit_no_such_process, 3);
    EXPECT_EQ(exit_no_target, 4);
    EXPECT_EQ(exit_device_not_found, 5);
    EXPECT_EQ(exit_permission_denied, 6);
    EXPECT_EQ(exit_not_supported, 7);
}

} // namespace
