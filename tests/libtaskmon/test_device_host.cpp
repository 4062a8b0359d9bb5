// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of Monitor and Hello without the kernel modules: missing
// devices, files that are not taskmon devices (/dev/null answers every
// ioctl with ENOTTY), ownership of the descriptor, moves and close().
#include "fake_stats_kernel.hpp"

#include <taskmon/taskmon.hpp>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <type_traits>
#include <utility>

namespace {

using ::testing::HasSubstr;

static_assert(!std::is_copy_constructible_v<taskmon::Monitor>);
static_assert(!std::is_copy_assignable_v<taskmon::Monitor>);
static_assert(std::is_nothrow_move_constructible_v<taskmon::Monitor>);
static_assert(std::is_nothrow_move_assignable_v<taskmon::Monitor>);
static_assert(std::is_nothrow_destructible_v<taskmon::Monitor>);
static_assert(!std::is_convertible_v<taskmon::Monitor, bool>); // explicit operator bool
static_assert(std::is_constructible_v<bool, taskmon::Monitor>);
static_assert(!std::is_convertible_v<std::filesystem::path, taskmon::Monitor>); // explicit ctor
static_assert(!std::is_convertible_v<taskmon::Access, taskmon::Monitor>);       // explicit ctor
static_assert(std::is_base_of_v<taskmon::DeviceHandle, taskmon::Monitor>);
static_assert(std::is_base_of_v<taskmon::DeviceHandle, taskmon::Hello>);
static_assert(!std::is_copy_constructible_v<taskmon::Hello>);
static_assert(std::is_nothrow_move_constructible_v<taskmon::Hello>);
static_assert(std::is_nothrow_move_assignable_v<taskmon::Hello>);

bool fd_is_open(int fd)
{
    return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

template <typename Fn>
void expect_closed_error(Fn&& fn)
{
    try {
        std::forward<Fn>(fn)();
        ADD_FAILURE() << "no exception on a closed object";
    } catch (const taskmon::Error& e) {
        EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
        EXPECT_THAT(std::string(e.what()), HasSubstr("closed"));
    }
}

TEST(MonitorHost, DefaultPathIsDevTaskmonitor)
{
    EXPECT_STREQ(taskmon::Monitor::default_path, "/dev/taskmonitor");
    EXPECT_STREQ(taskmon::Hello::default_path, "/dev/hello");
}

TEST(MonitorHost, MissingDeviceThrowsDeviceNotFound)
{
    try {
        const taskmon::Monitor m("/nonexistent/taskmonitor");
        FAIL() << "opened a missing file";
    } catch (const taskmon::DeviceNotFound& e) {
        EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory);
        EXPECT_EQ(e.device(), "/nonexistent/taskmonitor");
        EXPECT_EQ(e.operation(), "open");
        EXPECT_THAT(std::string(e.what()), HasSubstr("taskmonitor kernel module"));
        EXPECT_THAT(std::string(e.what()), HasSubstr("not loaded"));
    }
}

TEST(MonitorHost, RegularFileAndDirectoryAreNotSupported)
{
    char tmpl[] = "/tmp/taskmon-test-XXXXXX"; // NOLINT(modernize-avoid-c-arrays)
    const int fd = ::mkstemp(tmpl);
    ASSERT_GE(fd, 0);
    ::close(fd);
    EXPECT_THROW(taskmon::Monitor{std::filesystem::path(tmpl)}, taskmon::NotSupported);
    ::unlink(tmpl);
    EXPECT_THROW(taskmon::Monitor{std::filesystem::path("/")}, taskmon::NotSupported);
    EXPECT_THROW(taskmon::Hello{std::filesystem::path("/")}, taskmon::NotSupported);
}

TEST(MonitorHost, DevNullOpensButEveryRequestIsNotSupported)
{
    taskmon::Monitor m("/dev/null");
    ASSERT_TRUE(m);
    EXPECT_GE(m.fd(), 0);
    EXPECT_EQ(m.path(), "/dev/null");
    EXPECT_NE(::fcntl(m.fd(), F_GETFD) & FD_CLOEXEC, 0) << "descriptor must be close-on-exec";

    EXPECT_THROW(static_cast<void>(m.sample()), taskmon::NotSupported);
    EXPECT_THROW(static_cast<void>(m.sample_text()), taskmon::NotSupported);
    EXPECT_THROW(static_cast<void>(m.target()), taskmon::NotSupported);
    EXPECT_THROW(m.start(), taskmon::NotSupported);
    EXPECT_THROW(m.stop(), taskmon::NotSupported);
    EXPECT_THROW(m.set_target(1), taskmon::NotSupported);
    try {
        static_cast<void>(m.sample());
    } catch (const taskmon::NotSupported& e) {
        EXPECT_EQ(e.code(), std::errc::inappropriate_io_control_operation);
        EXPECT_THAT(std::string(e.what()), HasSubstr("/dev/null does not understand TM_GET"));
    }
}

TEST(MonitorHost, NonPositivePidIsRejectedBeforeTheKernel)
{
    // /dev/null would answer ENOTTY; EINVAL proves the library refused first.
    taskmon::Monitor m("/dev/null");
    for (const pid_t pid : {0, -1, -42}) {
        try {
            m.set_target(pid);
            ADD_FAILURE() << "set_target(" << pid << ") did not throw";
        } catch (const taskmon::InvalidArgument& e) {
            EXPECT_EQ(e.code(), std::errc::invalid_argument) << pid;
            EXPECT_EQ(e.operation(), "set_target");
            EXPECT_EQ(e.pid(), pid);
            EXPECT_THAT(std::string(e.what()), HasSubstr("positive")) << pid;
            EXPECT_THAT(std::string(e.what()), HasSubstr("without asking the kernel")) << pid;
            EXPECT_THAT(std::string(e.what()), ::testing::Not(HasSubstr("TM_PID"))) << pid;
        }
    }
}

int access_mode(int fd)
{
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg,hicpp-vararg): fcntl(2)
    return ::fcntl(fd, F_GETFL) & O_ACCMODE;
}

TEST(MonitorHost, OpensReadOnlyUnlessAskedToSteer)
{
    const taskmon::Monitor plain("/dev/zero");
    EXPECT_EQ(plain.access(), taskmon::Access::read);
    EXPECT_EQ(access_mode(plain.fd()), O_RDONLY);

    const taskmon::Monitor read("/dev/zero", taskmon::Access::read);
    EXPECT_EQ(access_mode(read.fd()), O_RDONLY);

    taskmon::Monitor steer("/dev/zero", taskmon::Access::steer);
    EXPECT_EQ(steer.access(), taskmon::Access::steer);
    EXPECT_EQ(access_mode(steer.fd()), O_RDWR);

    taskmon::Monitor moved(std::move(steer));
    EXPECT_EQ(moved.access(), taskmon::Access::steer);
    EXPECT_EQ(steer.access(), taskmon::Access::read); // NOLINT(bugprone-use-after-move)
    moved.close();
    EXPECT_EQ(moved.access(), taskmon::Access::steer) << "closing does not forget the mode";
}

// The kernel's answers to steering (docs/security.md), from the fake.
TEST(MonitorHost, SteeringReadOnlyIsPermissionDeniedEbadfAndChangesNothing)
{
    taskmon::fake::FakeStatsKernel k;
    k.steering = true;
    k.processes[42] = taskmon::fake::full_record(42, "old");
    k.processes[43] = taskmon::fake::full_record(43, "new");
    k.target = 42;
    taskmon::Monitor m("/dev/zero"); // Access::read
    try {
        m.set_target(43);
        FAIL() << "steered through a read-only Monitor";
    } catch (const taskmon::PermissionDenied& e) {
        EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
        EXPECT_EQ(e.operation(), "TM_PID");
        EXPECT_EQ(e.pid(), 43);
        EXPECT_THAT(std::string(e.what()), HasSubstr("opened read-only"));
        EXPECT_THAT(std::string(e.what()), HasSubstr("opened for steering"));
    }
    EXPECT_EQ(k.target, 42);
    EXPECT_EQ(m.target(), 42);
    EXPECT_THROW(m.start(), taskmon::PermissionDenied);
    EXPECT_THROW(m.stop(), taskmon::PermissionDenied);
    EXPECT_FALSE(k.running);
    EXPECT_EQ(k.steer_calls, 3);
}

TEST(MonitorHost, SteeringWithoutTheCapabilityIsPermissionDeniedEperm)
{
    taskmon::fake::FakeStatsKernel k;
    k.steering = true;
    k.cap_sys_admin = false;
    k.processes[43] = taskmon::fake::full_record(43, "new");
    taskmon::Monitor m("/dev/zero", taskmon::Access::steer);
    try {
        m.start();
        FAIL() << "steered without CAP_SYS_ADMIN";
    } catch (const taskmon::PermissionDenied& e) {
        EXPECT_EQ(e.code(), std::errc::operation_not_permitted);
        EXPECT_EQ(e.operation(), "TM_START");
        EXPECT_THAT(std::string(e.what()),
                    HasSubstr("CAP_SYS_ADMIN in the initial user namespace"));
    }
    EXPECT_THROW(m.set_target(43), taskmon::PermissionDenied);
    EXPECT_EQ(k.target, 0);
    EXPECT_FALSE(k.running);

    k.cap_sys_admin = true;
    m.set_target(43);
    m.start();
    EXPECT_EQ(k.target, 43);
    EXPECT_TRUE(k.running);
    m.stop();
    EXPECT_FALSE(k.running);
}

// A real open(2) refused by the file's mode, as a user who is not its owner.
TEST(MonitorHost, EaccesOnOpenNamesTheDevicesOwnerGroupAndMode)
{
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to switch to an unprivileged user";
    }
    const passwd* nobody = ::getpwnam("nobody"); // NOLINT(concurrency-mt-unsafe)
    if (nobody == nullptr) {
        GTEST_SKIP() << "no user nobody";
    }
    const uid_t nobody_uid = nobody->pw_uid;
    const gid_t nobody_gid = nobody->pw_gid;
    char dir[] = "/tmp/taskmon-eacces-XXXXXX"; // NOLINT(modernize-avoid-c-arrays)
    ASSERT_NE(::mkdtemp(dir), nullptr);
    ASSERT_EQ(::chmod(dir, 0755), 0);
    const std::string path = std::string(dir) + "/taskmonitor";
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ::close(fd);
    ASSERT_EQ(::chown(path.c_str(), 0, 0), 0);
    ASSERT_EQ(::chmod(path.c_str(), 0640), 0);

    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        // Exit status: 0 if the exception and message are right.
        if (::setgroups(0, nullptr) != 0 || ::setgid(nobody_gid) != 0 ||
            ::setuid(nobody_uid) != 0) {
            ::_exit(10);
        }
        try {
            const taskmon::Monitor m(path);
            ::_exit(11);
        } catch (const taskmon::PermissionDenied& e) {
            const std::string want = "cannot open " + path +
                                     ": Permission denied (the device is root:root 0640: reading "
                                     "needs membership of its group root)";
            ::_exit(e.code() == std::errc::permission_denied && e.what() == want ? 0 : 12);
        } catch (...) {
            ::_exit(13);
        }
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ::unlink(path.c_str());
    ::rmdir(dir);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "10: setuid failed, 11: opened, 12: wrong message, 13: "
                                         "wrong exception";
}

TEST(MonitorHost, DestructorClosesTheDescriptor)
{
    int fd = -1;
    {
        const taskmon::Monitor m("/dev/null");
        fd = m.fd();
        ASSERT_TRUE(fd_is_open(fd));
    }
    EXPECT_FALSE(fd_is_open(fd));
}

TEST(MonitorHost, CloseIsIdempotentAndLaterCallsThrowEbadf)
{
    taskmon::Monitor m("/dev/null");
    const int fd = m.fd();
    m.close();
    EXPECT_FALSE(m);
    EXPECT_EQ(m.fd(), -1);
    EXPECT_FALSE(fd_is_open(fd));
    EXPECT_EQ(m.path(), "/dev/null");
    m.close();
    expect_closed_error([&] { static_cast<void>(m.sample()); });
    expect_closed_error([&] { static_cast<void>(m.sample_text()); });
    expect_closed_error([&] { static_cast<void>(m.target()); });
    expect_closed_error([&] { m.start(); });
    expect_closed_error([&] { m.stop(); });
    expect_closed_error([&] { m.set_target(1); });
    expect_closed_error([&] { m.set_target(0); }); // closed wins over the pid check
    expect_closed_error([&] { static_cast<void>(m.stats(1)); });
}

TEST(MonitorHost, MoveTransfersTheDescriptor)
{
    taskmon::Monitor a("/dev/null");
    const int fd = a.fd();
    taskmon::Monitor b(std::move(a));
    EXPECT_FALSE(a);               // NOLINT(bugprone-use-after-move,hicpp-invalid-access-moved)
    EXPECT_EQ(a.fd(), -1);         // NOLINT(bugprone-use-after-move,hicpp-invalid-access-moved)
    EXPECT_TRUE(a.path().empty()); // NOLINT(bugprone-use-after-move,hicpp-invalid-access-moved)
    a.close();                     // NOLINT(bugprone-use-after-move,hicpp-invalid-access-moved)
    expect_closed_error([&] { static_cast<void>(a.sample()); }); // NOLINT(bugprone-use-after-move)
    ASSERT_TRUE(b);
    EXPECT_EQ(b.fd(), fd);
    EXPECT_TRUE(fd_is_open(fd));

    taskmon::Monitor c("/dev/null");
    const int old_c = c.fd();
    c = std::move(b);
    EXPECT_EQ(c.fd(), fd);
    EXPECT_FALSE(fd_is_open(old_c)) << "move assignment must close the overwritten descriptor";
    EXPECT_FALSE(b); // NOLINT(bugprone-use-after-move,hicpp-invalid-access-moved)
}

TEST(HelloHost, MissingDeviceAndNotSupported)
{
    EXPECT_THROW(taskmon::Hello{std::filesystem::path("/nonexistent/hello")},
                 taskmon::DeviceNotFound);
    taskmon::Hello h("/dev/null");
    EXPECT_TRUE(h);
    try {
        static_cast<void>(h.message());
        FAIL() << "HELLO on /dev/null succeeded";
    } catch (const taskmon::NotSupported& e) {
        EXPECT_THAT(std::string(e.what()), HasSubstr("HELLO"));
        EXPECT_THAT(std::string(e.what()), HasSubstr("helloioctl"));
    }
    taskmon::Hello moved(std::move(h));
    EXPECT_FALSE(h); // NOLINT(bugprone-use-after-move,hicpp-invalid-access-moved)
    moved.close();
    EXPECT_FALSE(moved);
    expect_closed_error([&] { static_cast<void>(moved.message()); });
}

} // namespace
