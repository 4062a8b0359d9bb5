// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of the errno -> exception mapping (libtaskmon/src/error.cpp).
#include "internal.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <string>
#include <system_error>
#include <type_traits>

namespace {

using taskmon::detail::error_message;
using taskmon::detail::ErrorContext;
using taskmon::detail::throw_from_errno;
using ::testing::HasSubstr;
using ::testing::Not;

ErrorContext open_ctx()
{
    return ErrorContext{"open", "/dev/taskmonitor", "taskmonitor", 0};
}

ErrorContext ioctl_ctx(std::string_view op, pid_t pid = 0)
{
    return ErrorContext{op, "/dev/taskmonitor", "taskmonitor", pid};
}

// Runs throw_from_errno and returns the exception, caught as exactly E.
template <typename E>
E thrown(int errnum, const ErrorContext& ctx)
{
    try {
        throw_from_errno(errnum, ctx);
    } catch (const E& e) {
        return e;
    }
    ADD_FAILURE() << "throw_from_errno(" << errnum << ") did not throw the expected type";
    return E(errnum, "unreachable");
}

template <>
taskmon::NoSuchProcess thrown<taskmon::NoSuchProcess>(int errnum, const ErrorContext& ctx)
{
    try {
        throw_from_errno(errnum, ctx);
    } catch (const taskmon::NoSuchProcess& e) {
        return e;
    }
    ADD_FAILURE() << "throw_from_errno(" << errnum << ") did not throw NoSuchProcess";
    return {0, "unreachable"};
}

static_assert(std::is_base_of_v<std::system_error, taskmon::Error>);
static_assert(std::is_base_of_v<taskmon::Error, taskmon::DeviceNotFound>);
static_assert(std::is_base_of_v<taskmon::Error, taskmon::PermissionDenied>);
static_assert(std::is_base_of_v<taskmon::Error, taskmon::NotSupported>);
static_assert(std::is_base_of_v<taskmon::Error, taskmon::NoTarget>);
static_assert(std::is_base_of_v<taskmon::Error, taskmon::NoSuchProcess>);
static_assert(std::is_nothrow_copy_constructible_v<taskmon::Error>);
static_assert(std::is_nothrow_copy_constructible_v<taskmon::NoSuchProcess>);

TEST(ErrorMapping, MissingDeviceSaysHowToLoadTheModule)
{
    for (const int errnum : {ENOENT, ENODEV, ENXIO}) {
        const auto e = thrown<taskmon::DeviceNotFound>(errnum, open_ctx());
        EXPECT_EQ(e.code(), std::error_code(errnum, std::generic_category()));
        EXPECT_EQ(e.errnum(), errnum);
        EXPECT_EQ(e.device(), "/dev/taskmonitor");
        const std::string what = e.what();
        EXPECT_THAT(what, HasSubstr("cannot open /dev/taskmonitor"));
        EXPECT_THAT(what, HasSubstr("not loaded"));
        EXPECT_THAT(what, HasSubstr("sudo modprobe taskmonitor"));
        EXPECT_THAT(what, HasSubstr("sudo insmod taskmonitor.ko"));
    }
}

TEST(ErrorMapping, MissingHelloDeviceNamesItsOwnModule)
{
    const ErrorContext ctx{"open", "/dev/hello", "helloioctl", 0};
    const auto e = thrown<taskmon::DeviceNotFound>(ENOENT, ctx);
    EXPECT_THAT(std::string(e.what()), HasSubstr("sudo modprobe helloioctl"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("/dev/hello"));
}

TEST(ErrorMapping, PermissionDeniedSaysWhoMayOpenIt)
{
    for (const int errnum : {EACCES, EPERM}) {
        const auto e = thrown<taskmon::PermissionDenied>(errnum, open_ctx());
        EXPECT_EQ(e.code(), std::error_code(errnum, std::generic_category()));
        const std::string what = e.what();
        EXPECT_THAT(what, HasSubstr("root"));
        EXPECT_THAT(what, HasSubstr("udev"));
        EXPECT_THAT(what, HasSubstr("KERNEL==\"taskmonitor\""));
    }
    const auto e = thrown<taskmon::PermissionDenied>(EPERM, ioctl_ctx("TM_STOP"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("TM_STOP"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("root"));
}

TEST(ErrorMapping, NoSuchProcessNamesThePid)
{
    const auto e = thrown<taskmon::NoSuchProcess>(ESRCH, ioctl_ctx("TM_PID", 4242));
    EXPECT_EQ(e.pid(), 4242);
    EXPECT_EQ(e.code(), std::errc::no_such_process);
    const std::string what = e.what();
    EXPECT_THAT(what, HasSubstr("no process with pid 4242"));
    EXPECT_THAT(what, HasSubstr("target is unchanged"));
    EXPECT_THAT(what, HasSubstr("taskmon pid PID"));
}

TEST(ErrorMapping, ExitedTargetIsNamedWhenKnown)
{
    const auto known = thrown<taskmon::NoSuchProcess>(ESRCH, ioctl_ctx("TM_GET", 77));
    EXPECT_EQ(known.pid(), 77);
    EXPECT_THAT(std::string(known.what()), HasSubstr("monitored process (pid 77) has exited"));

    const auto unknown = thrown<taskmon::NoSuchProcess>(ESRCH, ioctl_ctx("TM_GET"));
    EXPECT_EQ(unknown.pid(), 0);
    EXPECT_THAT(std::string(unknown.what()), HasSubstr("monitored process has exited"));
    EXPECT_THAT(std::string(unknown.what()), HasSubstr("taskmon pid PID"));
}

TEST(ErrorMapping, ReadingAReapedTargetSaysSo)
{
    // TM_PID's read of a reaped target: ESRCH, the pid this program last
    // saw named if any; not the "no process with pid" of setting one.
    const auto known = thrown<taskmon::NoSuchProcess>(
        ESRCH, ErrorContext{"TM_PID", "/dev/taskmonitor", "taskmonitor", 77, true});
    EXPECT_EQ(known.pid(), 77);
    const std::string what = known.what();
    EXPECT_THAT(what, HasSubstr("monitored process (pid 77, as this program last saw it) has "
                                "exited and been reaped"));
    EXPECT_THAT(what, Not(HasSubstr("target is unchanged")));
    EXPECT_THAT(what, HasSubstr("taskmon pid PID"));

    const auto unknown = thrown<taskmon::NoSuchProcess>(
        ESRCH, ErrorContext{"TM_PID", "/dev/taskmonitor", "taskmonitor", 0, true});
    EXPECT_EQ(unknown.pid(), 0);
    EXPECT_THAT(std::string(unknown.what()),
                HasSubstr("monitored process has exited and been reaped"));
}

TEST(ErrorMapping, NoTargetSaysHowToSetOne)
{
    const auto e = thrown<taskmon::NoTarget>(ENODATA, ioctl_ctx("TM_GET"));
    EXPECT_EQ(e.code(), std::errc::no_message_available);
    EXPECT_THAT(std::string(e.what()), HasSubstr("No target process is set"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("taskmon pid PID"));
}

TEST(ErrorMapping, EnottyMeansWrongDeviceOrOldModule)
{
    const ErrorContext ctx{"TM_GET", "/dev/null", "taskmonitor", 0};
    const auto e = thrown<taskmon::NotSupported>(ENOTTY, ctx);
    EXPECT_EQ(e.code(), std::errc::inappropriate_io_control_operation);
    const std::string what = e.what();
    EXPECT_THAT(what, HasSubstr("/dev/null does not understand TM_GET"));
    EXPECT_THAT(what, HasSubstr("not a taskmonitor device"));
    EXPECT_THAT(what, HasSubstr("older than libtaskmon"));
}

TEST(ErrorMapping, EnottyFromOpenMeansNotACharacterDevice)
{
    const ErrorContext ctx{"open", "/tmp", "taskmonitor", 0};
    const auto e = thrown<taskmon::NotSupported>(ENOTTY, ctx);
    EXPECT_THAT(std::string(e.what()), HasSubstr("cannot open /tmp: not a character device"));
}

TEST(ErrorMapping, EinvalOnTmPidExplainsPositivePids)
{
    const auto e = thrown<taskmon::Error>(EINVAL, ioctl_ctx("TM_PID", 0));
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
    EXPECT_THAT(std::string(e.what()), HasSubstr("positive"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("got 0"));
}

TEST(ErrorMapping, OtherErrnosArePlainErrorsWithTheSystemMessage)
{
    for (const int errnum : {EIO, ENOMEM, EBUSY, EFAULT, EBADF, EMFILE, EINTR, EISDIR}) {
        try {
            throw_from_errno(errnum, ioctl_ctx("TM_START"));
        } catch (const taskmon::DeviceNotFound&) {
            ADD_FAILURE() << errnum;
        } catch (const taskmon::PermissionDenied&) {
            ADD_FAILURE() << errnum;
        } catch (const taskmon::NotSupported&) {
            ADD_FAILURE() << errnum;
        } catch (const taskmon::NoTarget&) {
            ADD_FAILURE() << errnum;
        } catch (const taskmon::NoSuchProcess&) {
            ADD_FAILURE() << errnum;
        } catch (const taskmon::Error& e) {
            EXPECT_EQ(e.errnum(), errnum);
            EXPECT_EQ(e.code().category(), std::generic_category());
            EXPECT_THAT(std::string(e.what()),
                        HasSubstr(std::error_code(errnum, std::generic_category()).message()));
            EXPECT_THAT(std::string(e.what()), HasSubstr("TM_START on /dev/taskmonitor failed"));
        }
    }
}

TEST(ErrorMapping, EveryMessageIsASentenceWithCauseAndFix)
{
    for (int errnum = 1; errnum < 134; ++errnum) {
        const std::string msg = error_message(errnum, ioctl_ctx("TM_GET", 5));
        EXPECT_THAT(msg, HasSubstr("TM_GET on /dev/taskmonitor failed: ")) << errnum;
        // Cause and fix follow the strerror text.
        EXPECT_GT(msg.size(), std::string("TM_GET on /dev/taskmonitor failed: ").size() + 40)
            << errnum;
        EXPECT_EQ(msg.back(), '.') << errnum << ": " << msg;
    }
}

TEST(ErrorMapping, CaughtAsSystemErrorComparesWithErrc)
{
    try {
        throw_from_errno(EACCES, open_ctx());
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::permission_denied);
        EXPECT_THAT(std::string(e.what()), HasSubstr("udev"))
            << "what() must be virtual-dispatched";
        return;
    }
    FAIL() << "not a std::system_error";
}

TEST(ErrorClass, PublicConstructorsAndCopies)
{
    const taskmon::Error e(EIO, "something broke", "/dev/x");
    EXPECT_STREQ(e.what(), "something broke");
    EXPECT_EQ(e.device(), "/dev/x");
    const taskmon::Error copy = e; // NOLINT(performance-unnecessary-copy-initialization)
    EXPECT_STREQ(copy.what(), "something broke");
    EXPECT_EQ(copy.code(), e.code());

    const taskmon::NoSuchProcess nsp(31337, "gone");
    EXPECT_EQ(nsp.pid(), 31337);
    EXPECT_EQ(nsp.errnum(), ESRCH);
    EXPECT_TRUE(nsp.device().empty());
}

} // namespace
