// SPDX-License-Identifier: GPL-2.0-only
//
// Linked first so that it runs first: ENODATA is only observable while no
// target has ever been set, i.e. on a freshly loaded taskmonitor.ko.
//
// The module is taken to be fresh -- whoever runs this binary loads
// taskmonitor.ko right before (tests/run-guest-suites does) -- so a target
// found set is a failure.  Only TASKMON_FRESH_MODULE=0 in the environment
// (the module was loaded earlier and may have been used since) turns it
// into a skip.
#include "vm_util.hpp"

#include <taskmon/taskmon.hpp>

#include <linux/taskmon.h>
#include <sys/ioctl.h>

#include <gmock/gmock.h>

#include <cerrno>
#include <cstdlib>
#include <string_view>

namespace taskmon::vmtest {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class FreshModule : public VmTest {};

/** True when the environment says the module may not be fresh (TASKMON_FRESH_MODULE=0). */
bool said_not_fresh()
{
    const char* value = std::getenv("TASKMON_FRESH_MODULE"); // NOLINT(concurrency-mt-unsafe)
    return value != nullptr && std::string_view(value) == "0";
}

TEST_F(FreshModule, NoTargetIsEnodataEverywhere)
{
    const Monitor monitor(monitor_device()); // reading only
    try {
        const pid_t pid = monitor.target();
        if (said_not_fresh()) {
            GTEST_SKIP() << "TASKMON_FRESH_MODULE=0 and a target is set (pid " << pid
                         << "): ENODATA can only be checked right after loading "
                            "taskmonitor.ko; reload the module and run taskmon-vm-tests "
                            "first, without TASKMON_FRESH_MODULE=0, to cover it";
        }
        FAIL() << "taskmonitor.ko has a target (pid " << pid
               << ") before any test set one: ENODATA cannot be checked.  Either the "
                  "module lost its 'no target' state, or it was not freshly loaded: then "
                  "set TASKMON_FRESH_MODULE=0 to skip this test";
    } catch (const NoTarget& e) {
        EXPECT_EQ(e.code(), std::errc::no_message_available);
        EXPECT_THAT(std::string(e.what()), HasSubstr("(no target process is set)"));
        EXPECT_THAT(std::string(e.what()), Not(HasSubstr("taskmon pid")));
    }

    EXPECT_THROW(static_cast<void>(monitor.sample()), NoTarget);
    EXPECT_THROW(static_cast<void>(monitor.sample_text()), NoTarget);

    __kernel_pid_t pid = -1;
    errno = 0;
    EXPECT_EQ(::ioctl(monitor.fd(), TM_PID, &pid), -1); // NOLINT(cppcoreguidelines-pro-type-vararg)
    EXPECT_EQ(errno, ENODATA);
    task_sample raw{};
    errno = 0;
    EXPECT_EQ(::ioctl(monitor.fd(), TM_GET, &raw), -1); // NOLINT(cppcoreguidelines-pro-type-vararg)
    EXPECT_EQ(errno, ENODATA);

    const std::string cli = cli_program();
    if (cli.empty()) {
        if (in_vm()) {
            FAIL() << "the taskmon binary was not found (set TASKMON_CLI)";
        }
        return;
    }
    const RunResult get = run_program(cli, {"--device", monitor_device(), "get"});
    EXPECT_EQ(get.status, 4) << get.err;
    EXPECT_THAT(get.err, HasSubstr("taskmon pid PID"));
    const RunResult pid_cmd = run_program(cli, {"--device", monitor_device(), "pid"});
    EXPECT_EQ(pid_cmd.status, 4) << pid_cmd.err;
}

} // namespace
} // namespace taskmon::vmtest
