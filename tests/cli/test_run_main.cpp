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

TEST(RunMain, MissingDeviceExit5SaysHowToLoadTheModule)
{
    for (const char* command : {"get", "watch", "start", "stop", "pid"}) {
        const Result r = run({"--device", "/nonexistent/taskmonitor", command});
        EXPECT_EQ(r.status, exit_device_not_found) << command;
        EXPECT_THAT(r.err, StartsWith("taskmon: cannot open /nonexistent/taskmonitor: "));
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
        EXPECT_THAT(r.err, HasSubstr("Check the device path")) << r.err;
    }
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
