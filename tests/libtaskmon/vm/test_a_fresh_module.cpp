// SPDX-License-Identifier: GPL-2.0-only
//
// Linked first so that it runs first: ENODATA is only observable while no
// target has ever been set, i.e. on a freshly loaded taskmonitor.ko.
#include "vm_util.hpp"

#include <taskmon/taskmon.hpp>

#include <linux/taskmon.h>
#include <sys/ioctl.h>

#include <gmock/gmock.h>

#include <cerrno>

namespace taskmon::vmtest {
namespace {

using ::testing::HasSubstr;

class FreshModule : public VmTest {};

TEST_F(FreshModule, NoTargetIsEnodataEverywhere)
{
    Monitor monitor(monitor_device());
    try {
        const pid_t pid = monitor.target();
        GTEST_SKIP() << "a target is already set (pid " << pid
                     << "): ENODATA can only be checked right after loading taskmonitor.ko; "
                        "reload the module and run taskmon-vm-tests first to cover it";
    } catch (const NoTarget& e) {
        EXPECT_EQ(e.code(), std::errc::no_message_available);
        EXPECT_THAT(std::string(e.what()), HasSubstr("taskmon pid PID"));
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
