// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of the errno -> exception mapping (libtaskmon/src/error.cpp).
#include "internal.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

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

std::string name_of_user(uid_t uid)
{
    const passwd* pw = ::getpwuid(uid); // NOLINT(concurrency-mt-unsafe): one thread
    return pw != nullptr ? pw->pw_name : std::to_string(uid);
}

std::string name_of_group(gid_t gid)
{
    const group* gr = ::getgrgid(gid); // NOLINT(concurrency-mt-unsafe): one thread
    return gr != nullptr ? gr->gr_name : std::to_string(gid);
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
static_assert(std::is_base_of_v<taskmon::Error, taskmon::InvalidArgument>);
static_assert(std::is_nothrow_copy_constructible_v<taskmon::Error>);
static_assert(std::is_nothrow_copy_constructible_v<taskmon::NoSuchProcess>);

// Library messages give no advice in terms of one front end.
void expect_no_front_end_advice(const std::string& what)
{
    EXPECT_THAT(what, Not(HasSubstr("taskmon pid")));
    EXPECT_THAT(what, Not(HasSubstr("set_target()")));
    EXPECT_THAT(what, Not(HasSubstr("Monitor::")));
    EXPECT_THAT(what, Not(HasSubstr("sudo")));
}

TEST(ErrorMapping, MissingDeviceSaysTheModuleIsNotLoaded)
{
    for (const int errnum : {ENOENT, ENODEV, ENXIO}) {
        const auto e = thrown<taskmon::DeviceNotFound>(errnum, open_ctx());
        EXPECT_EQ(e.code(), std::error_code(errnum, std::generic_category()));
        EXPECT_EQ(e.errnum(), errnum);
        EXPECT_EQ(e.device(), "/dev/taskmonitor");
        EXPECT_EQ(e.operation(), "open");
        EXPECT_EQ(e.pid(), 0);
        const std::string what = e.what();
        EXPECT_THAT(what, HasSubstr("cannot open /dev/taskmonitor: "));
        EXPECT_THAT(what, HasSubstr(std::error_code(errnum, std::generic_category()).message()));
        EXPECT_THAT(what, HasSubstr("the taskmonitor kernel module"));
        EXPECT_THAT(what, HasSubstr("not loaded"));
        expect_no_front_end_advice(what);
    }
}

TEST(ErrorMapping, MissingHelloDeviceNamesItsOwnModule)
{
    const ErrorContext ctx{"open", "/dev/hello", "helloioctl", 0};
    const auto e = thrown<taskmon::DeviceNotFound>(ENOENT, ctx);
    EXPECT_THAT(std::string(e.what()), HasSubstr("the helloioctl kernel module"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("/dev/hello"));
}

TEST(ErrorMapping, EpermFromSteeringNamesTheCapability)
{
    for (const char* op : {"TM_STOP", "TM_START"}) {
        const auto e = thrown<taskmon::PermissionDenied>(EPERM, ioctl_ctx(op));
        EXPECT_EQ(e.code(), std::errc::operation_not_permitted);
        EXPECT_EQ(e.operation(), op);
        const std::string what = e.what();
        EXPECT_THAT(what, HasSubstr(std::string(op) + " on /dev/taskmonitor failed: "));
        EXPECT_THAT(what, HasSubstr("CAP_SYS_ADMIN in the initial user namespace"));
        expect_no_front_end_advice(what);
    }
    const auto e = thrown<taskmon::PermissionDenied>(EPERM, ioctl_ctx("TM_PID", 42));
    EXPECT_EQ(e.pid(), 42);
    EXPECT_THAT(std::string(e.what()), HasSubstr("TM_PID on /dev/taskmonitor for pid 42 failed"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("CAP_SYS_ADMIN"));
}

TEST(ErrorMapping, EbadfFromSteeringReadOnlyIsPermissionDenied)
{
    for (const char* op : {"TM_STOP", "TM_START", "TM_PID"}) {
        const auto e = thrown<taskmon::PermissionDenied>(EBADF, ioctl_ctx(op, 7));
        EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
        const std::string what = e.what();
        EXPECT_THAT(what, HasSubstr("opened read-only"));
        EXPECT_THAT(what, HasSubstr("needs it opened for steering"));
        expect_no_front_end_advice(what);
    }
    // Reading requests are not steering: EBADF stays a plain Error.
    ErrorContext read_target{"TM_PID", "/dev/taskmonitor", "taskmonitor", 0, true};
    try {
        throw_from_errno(EBADF, read_target);
    } catch (const taskmon::PermissionDenied&) {
        ADD_FAILURE() << "reading the target is not steering";
    } catch (const taskmon::Error& plain) {
        EXPECT_EQ(plain.code(), std::errc::bad_file_descriptor);
        EXPECT_THAT(std::string(plain.what()), Not(HasSubstr("read-only")));
    }
}

TEST(ErrorMapping, EaccesOnOpenDescribesTheDevicePermissions)
{
    // A file standing in for the device: its real owner, group and mode
    // make the reason, whatever they are.
    char dir_template[] = "/tmp/taskmon-perm-XXXXXX"; // NOLINT(modernize-avoid-c-arrays)
    ASSERT_NE(::mkdtemp(dir_template), nullptr);
    const std::string path = std::string(dir_template) + "/taskmonitor";
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ::close(fd);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    const std::string owner = name_of_user(st.st_uid);
    const std::string group = name_of_group(st.st_gid);

    ErrorContext ctx{"open", path, "taskmonitor", 0};
    ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
    auto e = thrown<taskmon::PermissionDenied>(EACCES, ctx);
    EXPECT_EQ(e.code(), std::errc::permission_denied);
    EXPECT_EQ(std::string(e.what()),
              "cannot open " + path + ": Permission denied (the device is " + owner + ":" + group +
                  " 0640: reading needs membership of its group " + group + ")");
    expect_no_front_end_advice(e.what());

    ctx.writable = true; // the group has no write bit: steering is the owner's
    e = thrown<taskmon::PermissionDenied>(EACCES, ctx);
    EXPECT_THAT(std::string(e.what()), HasSubstr("cannot open " + path + " for steering"));
    EXPECT_THAT(
        std::string(e.what()),
        HasSubstr(" 0640: opening it for steering (read-write) needs to be its owner " + owner));

    ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
    ctx.writable = false;
    e = thrown<taskmon::PermissionDenied>(EACCES, ctx);
    EXPECT_THAT(std::string(e.what()), HasSubstr(" 0600: reading needs to be its owner " + owner));

    ASSERT_EQ(::chmod(path.c_str(), 0), 0);
    e = thrown<taskmon::PermissionDenied>(EACCES, ctx);
    EXPECT_THAT(std::string(e.what()), HasSubstr("CAP_DAC_OVERRIDE"));

    ::unlink(path.c_str());
    ::rmdir(dir_template);
    // A device that cannot be stat()ed: the errno text alone.
    e = thrown<taskmon::PermissionDenied>(EACCES, ctx);
    EXPECT_EQ(std::string(e.what()), "cannot open " + path + ": Permission denied");
}

TEST(ErrorMapping, NoSuchProcessNamesThePid)
{
    const auto e = thrown<taskmon::NoSuchProcess>(ESRCH, ioctl_ctx("TM_PID", 4242));
    EXPECT_EQ(e.pid(), 4242);
    EXPECT_EQ(e.operation(), "TM_PID");
    EXPECT_EQ(e.code(), std::errc::no_such_process);
    const std::string what = e.what();
    EXPECT_THAT(what, HasSubstr("TM_PID on /dev/taskmonitor for pid 4242 failed: No such process"));
    EXPECT_THAT(what, HasSubstr("no process 4242 visible in this pid namespace"));
    EXPECT_THAT(what, HasSubstr("target is unchanged"));
    expect_no_front_end_advice(what);
}

TEST(ErrorMapping, ExitedTargetIsNamedWhenKnown)
{
    const auto known = thrown<taskmon::NoSuchProcess>(ESRCH, ioctl_ctx("TM_GET", 77));
    EXPECT_EQ(known.pid(), 77);
    EXPECT_THAT(std::string(known.what()), HasSubstr("monitored process (pid 77) has exited"));

    const auto unknown = thrown<taskmon::NoSuchProcess>(ESRCH, ioctl_ctx("TM_GET"));
    EXPECT_EQ(unknown.pid(), 0);
    EXPECT_THAT(std::string(unknown.what()), HasSubstr("monitored process has exited"));
    expect_no_front_end_advice(unknown.what());
}

TEST(ErrorMapping, ReadingAReapedTargetSaysSo)
{
    // TM_PID's read of a reaped target: ESRCH, the pid this program last
    // saw named if any; not the "no process" of setting one.
    const auto known = thrown<taskmon::NoSuchProcess>(
        ESRCH, ErrorContext{"TM_PID", "/dev/taskmonitor", "taskmonitor", 77, true});
    EXPECT_EQ(known.pid(), 77);
    const std::string what = known.what();
    EXPECT_THAT(what, HasSubstr("TM_PID on /dev/taskmonitor failed"));
    EXPECT_THAT(what, HasSubstr("monitored process (pid 77, as last seen here) has exited and been "
                                "reaped"));
    EXPECT_THAT(what, Not(HasSubstr("target is unchanged")));
    expect_no_front_end_advice(what);

    const auto unknown = thrown<taskmon::NoSuchProcess>(
        ESRCH, ErrorContext{"TM_PID", "/dev/taskmonitor", "taskmonitor", 0, true});
    EXPECT_EQ(unknown.pid(), 0);
    EXPECT_THAT(std::string(unknown.what()),
                HasSubstr("monitored process has exited and been reaped"));
}

TEST(ErrorMapping, NoTargetSaysSoWithoutAdvice)
{
    const auto e = thrown<taskmon::NoTarget>(ENODATA, ioctl_ctx("TM_GET"));
    EXPECT_EQ(e.code(), std::errc::no_message_available);
    EXPECT_THAT(std::string(e.what()), HasSubstr("TM_GET on /dev/taskmonitor failed: "));
    EXPECT_THAT(std::string(e.what()), HasSubstr("(no target process is set)"));
    expect_no_front_end_advice(e.what());
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

TEST(ErrorMapping, ALocalCheckSaysTheKernelWasNotAsked)
{
    ErrorContext ctx = ioctl_ctx("set_target", 0);
    ctx.local = true;
    const auto e = thrown<taskmon::InvalidArgument>(EINVAL, ctx);
    EXPECT_EQ(e.code(), std::errc::invalid_argument);
    EXPECT_EQ(e.operation(), "set_target");
    const std::string what = e.what();
    EXPECT_EQ(what, "set_target on /dev/taskmonitor refused by libtaskmon without asking the "
                    "kernel: Invalid argument (a target pid must be a positive process id, not 0)");
    EXPECT_THAT(what, Not(HasSubstr("TM_")));

    ctx = ioctl_ctx("stats", -3);
    ctx.local = true;
    EXPECT_THAT(std::string(thrown<taskmon::InvalidArgument>(EINVAL, ctx).what()),
                HasSubstr("(a pid must be a positive process id, not -3)"));
}

TEST(ErrorMapping, EinvalFromTheKernelIsInvalidArgument)
{
    const auto e = thrown<taskmon::InvalidArgument>(EINVAL, ioctl_ctx("TM_STATS_BATCH"));
    EXPECT_THAT(std::string(e.what()), HasSubstr("TM_STATS_BATCH on /dev/taskmonitor failed: "));
    EXPECT_THAT(std::string(e.what()), HasSubstr("the taskmonitor module rejected the request"));
}

TEST(ErrorMapping, StreamLimitsSayWhatToDo)
{
    // EDQUOT: the per-user limit on streams; the message names the
    // parameter root may raise.  A plain Error, as every other errno.
    const auto quota = thrown<taskmon::Error>(EDQUOT, ioctl_ctx("TM_SUBSCRIBE"));
    EXPECT_EQ(quota.errnum(), EDQUOT);
    const std::string what = quota.what();
    EXPECT_THAT(what, HasSubstr("TM_SUBSCRIBE on /dev/taskmonitor failed: "));
    EXPECT_THAT(what, HasSubstr("uid " + std::to_string(::getuid())));
    EXPECT_THAT(what, HasSubstr("/sys/module/taskmonitor/parameters/max_user_subscriptions"));
    expect_no_front_end_advice(what);
    // ENOMEM: the ring does not fit in the caller's memory cgroup.
    EXPECT_THAT(std::string(thrown<taskmon::Error>(ENOMEM, ioctl_ctx("TM_SUBSCRIBE")).what()),
                HasSubstr("ask for a smaller ring"));
    // EINVAL: a process named twice is one of the reasons given.
    EXPECT_THAT(
        std::string(thrown<taskmon::InvalidArgument>(EINVAL, ioctl_ctx("TM_SUBSCRIBE")).what()),
        HasSubstr("each process may be named once"));
    // Other requests do not speak of streams.
    EXPECT_THAT(error_message(EDQUOT, ioctl_ctx("TM_GET")), Not(HasSubstr("streams")));
}

TEST(ErrorMapping, OtherErrnosArePlainErrorsWithTheSystemMessage)
{
    for (const int errnum : {EIO, ENOMEM, EBUSY, EFAULT, EMFILE, EINTR, EISDIR}) {
        try {
            throw_from_errno(errnum, ioctl_ctx("TM_GET"));
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
        } catch (const taskmon::InvalidArgument&) {
            ADD_FAILURE() << errnum;
        } catch (const taskmon::Error& e) {
            EXPECT_EQ(e.errnum(), errnum);
            EXPECT_EQ(e.code().category(), std::generic_category());
            EXPECT_THAT(std::string(e.what()),
                        HasSubstr(std::error_code(errnum, std::generic_category()).message()));
            EXPECT_THAT(std::string(e.what()), HasSubstr("TM_GET on /dev/taskmonitor failed"));
        }
    }
}

TEST(ErrorMapping, EveryMessageSaysWhatFailedAndTheErrnoText)
{
    for (int errnum = 1; errnum < 134; ++errnum) {
        const std::string msg = error_message(errnum, ioctl_ctx("TM_GET", 5));
        const std::string head = "TM_GET on /dev/taskmonitor for pid 5 failed: " +
                                 std::error_code(errnum, std::generic_category()).message();
        EXPECT_EQ(msg.rfind(head, 0), 0U) << errnum << ": " << msg;
        // Then nothing, or the reason in parentheses.
        if (msg.size() > head.size()) {
            EXPECT_EQ(msg.substr(head.size(), 2), " (") << msg;
            EXPECT_EQ(msg.back(), ')') << msg;
        }
        expect_no_front_end_advice(msg);
    }
}

TEST(ErrorMapping, CaughtAsSystemErrorComparesWithErrc)
{
    try {
        throw_from_errno(EACCES, ioctl_ctx("TM_GET"));
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::permission_denied);
        EXPECT_THAT(std::string(e.what()), HasSubstr("refused TM_GET"))
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

    EXPECT_TRUE(copy.operation().empty());
    EXPECT_EQ(copy.pid(), 0);

    const taskmon::NoSuchProcess nsp(31337, "gone");
    EXPECT_EQ(nsp.pid(), 31337);
    EXPECT_EQ(nsp.errnum(), ESRCH);
    EXPECT_TRUE(nsp.device().empty());

    const taskmon::InvalidArgument inval(EINVAL, "bad", "/dev/y", "set_target", -1);
    EXPECT_EQ(inval.operation(), "set_target");
    EXPECT_EQ(inval.pid(), -1);
    EXPECT_EQ(inval.device(), "/dev/y");
    // NOLINTNEXTLINE(performance-unnecessary-copy-initialization): the copy is the test
    const taskmon::InvalidArgument inval_copy = inval;
    EXPECT_EQ(inval_copy.operation(), "set_target");
}

} // namespace
