// SPDX-License-Identifier: GPL-2.0-only
//
// Host tests of Monitor and Hello without the kernel modules: missing
// devices, files that are not taskmon devices (/dev/null answers every
// ioctl with ENOTTY), ownership of the descriptor, moves and close().
#include <taskmon/taskmon.hpp>

#include <fcntl.h>
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
        EXPECT_THAT(std::string(e.what()), HasSubstr("modprobe taskmonitor"));
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
        } catch (const taskmon::Error& e) {
            EXPECT_EQ(e.code(), std::errc::invalid_argument) << pid;
            EXPECT_THAT(std::string(e.what()), HasSubstr("positive")) << pid;
        }
    }
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
