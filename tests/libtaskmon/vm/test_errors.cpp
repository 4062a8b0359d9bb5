// SPDX-License-Identifier: GPL-2.0-only
//
// Error paths against the loaded modules, through libtaskmon and through raw
// ioctls (the uapi contract itself).
#include "vm_util.hpp"

#include <taskmon/taskmon.hpp>

#include <linux/taskmon.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gmock/gmock.h>

#include <cerrno>
#include <climits>

namespace taskmon::vmtest {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class Errors : public VmTest {};

// ioctl(2) returning errno (0 on success).
template <typename Arg>
int raw_ioctl(int fd, unsigned long request, Arg arg)
{
    errno = 0;
    return ::ioctl(fd, request, arg) == 0 ? 0 : errno; // NOLINT(cppcoreguidelines-pro-type-vararg)
}

TEST_F(Errors, NonexistentPidIsEsrchAndLeavesTheTargetUnchanged)
{
    const BusyChild child;
    Monitor monitor(monitor_device(), Access::steer);
    monitor.set_target(child.pid());

    for (const pid_t bogus : {bogus_pid(), static_cast<pid_t>(INT_MAX)}) {
        try {
            monitor.set_target(bogus);
            FAIL() << "set_target(" << bogus << ") succeeded";
        } catch (const NoSuchProcess& e) {
            EXPECT_EQ(e.pid(), bogus);
            EXPECT_EQ(e.code(), std::errc::no_such_process);
            EXPECT_THAT(std::string(e.what()), HasSubstr(std::to_string(bogus)));
        }
        EXPECT_EQ(monitor.target(), child.pid()) << "a failed TM_PID changed the target";
        static_cast<void>(monitor.sample());

        __kernel_pid_t arg = bogus;
        EXPECT_EQ(raw_ioctl(monitor.fd(), TM_PID, &arg), ESRCH);
        EXPECT_EQ(monitor.target(), child.pid());
    }
}

// docs/security.md: steering through a file opened read-only is EBADF, a
// PermissionDenied that says so, and changes nothing.
TEST_F(Errors, ReadOnlyMonitorCannotSteerAndChangesNothing)
{
    const BusyChild a;
    const BusyChild b;
    Monitor steer(monitor_device(), Access::steer);
    steer.set_target(a.pid());
    steer.start();
    const int kthreads = count_kthreads();

    Monitor reader(monitor_device());
    EXPECT_EQ(reader.access(), Access::read);
    try {
        reader.set_target(b.pid());
        FAIL() << "set_target() through a read-only Monitor succeeded";
    } catch (const PermissionDenied& e) {
        EXPECT_EQ(e.code(), std::errc::bad_file_descriptor);
        EXPECT_EQ(e.operation(), "TM_PID");
        EXPECT_EQ(e.pid(), b.pid());
        EXPECT_THAT(std::string(e.what()), HasSubstr("opened read-only"));
        EXPECT_THAT(std::string(e.what()), HasSubstr("opened for steering"));
    }
    EXPECT_EQ(reader.target(), a.pid()) << "a refused TM_PID changed the target";
    EXPECT_THROW(reader.stop(), PermissionDenied);
    EXPECT_THROW(reader.start(), PermissionDenied);
    EXPECT_EQ(count_kthreads(), kthreads) << "a refused TM_STOP changed the thread";
    // Reading works read-only.
    static_cast<void>(reader.sample());
    EXPECT_EQ(steer.target(), a.pid());
}

TEST_F(Errors, ZeroPidIsEinval)
{
    const BusyChild child;
    Monitor monitor(monitor_device(), Access::steer);
    monitor.set_target(child.pid());
    try {
        monitor.set_target(0);
        FAIL() << "set_target(0) succeeded";
    } catch (const InvalidArgument& e) {
        EXPECT_EQ(e.code(), std::errc::invalid_argument);
        EXPECT_EQ(e.operation(), "set_target");
        EXPECT_THAT(std::string(e.what()), HasSubstr("without asking the kernel"));
    }
    __kernel_pid_t zero = 0;
    EXPECT_EQ(raw_ioctl(monitor.fd(), TM_PID, &zero), EINVAL) << "the kernel must refuse pid 0";
    EXPECT_EQ(monitor.target(), child.pid());
}

TEST_F(Errors, NegativePidReadsTheTarget)
{
    const BusyChild child;
    Monitor monitor(monitor_device(), Access::steer);
    monitor.set_target(child.pid());
    EXPECT_THROW(monitor.set_target(-1), Error) << "the library must not turn a set into a read";
    for (const __kernel_pid_t negative : {-1, -12345, INT_MIN}) {
        __kernel_pid_t arg = negative;
        EXPECT_EQ(raw_ioctl(monitor.fd(), TM_PID, &arg), 0);
        EXPECT_EQ(arg, child.pid()) << "TM_PID(" << negative << ") must return the target";
    }
}

TEST_F(Errors, UnknownRequestsAreEnotty)
{
    const Monitor monitor(monitor_device());
    const Hello hello(hello_device());
    constexpr unsigned long unknown_nr = _IO(TASKMON_IOC_TYPE, 0x3f);
    constexpr unsigned long unknown_read = _IOR(TASKMON_IOC_TYPE, 0x15, int);
    constexpr unsigned long other_type = _IO('X', 0x10);
    // Same nr as TM_GET but another size: the size is part of the request.
    constexpr unsigned long wrong_size = _IOR(TASKMON_IOC_TYPE, 0x10, int);
    int dummy = 0;
    for (const unsigned long request :
         {unknown_nr, unknown_read, other_type, wrong_size,
          static_cast<unsigned long>(
              HELLO)}) { // NOLINT(modernize-avoid-c-arrays): HELLO names char[N]
        EXPECT_EQ(raw_ioctl(monitor.fd(), request, &dummy), ENOTTY)
            << "/dev/taskmonitor request 0x" << std::hex << request;
    }
    for (const unsigned long request :
         {unknown_nr, other_type, static_cast<unsigned long>(TM_GET),
          static_cast<unsigned long>(TM_START), static_cast<unsigned long>(TM_PID)}) {
        EXPECT_EQ(raw_ioctl(hello.fd(), request, &dummy), ENOTTY)
            << "/dev/hello request 0x" << std::hex << request;
    }

    // Through the library: each class on the other device.
    const Monitor wrong(hello_device());
    EXPECT_THROW(static_cast<void>(wrong.sample()), NotSupported);
    const Hello wrong_hello(monitor_device());
    EXPECT_THROW(static_cast<void>(wrong_hello.message()), NotSupported);
}

TEST_F(Errors, BadPointersAreEfault)
{
    const BusyChild child;
    Monitor monitor(monitor_device(), Access::steer);
    monitor.set_target(child.pid());
    const Hello hello(hello_device());

    const long page_size = ::sysconf(_SC_PAGESIZE);
    void* no_access = ::mmap(nullptr, static_cast<std::size_t>(page_size), PROT_NONE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ASSERT_NE(no_access, MAP_FAILED);
    for (void* bad : {static_cast<void*>(nullptr), no_access}) {
        EXPECT_EQ(raw_ioctl(monitor.fd(), TM_GET, bad), EFAULT);
        EXPECT_EQ(raw_ioctl(monitor.fd(), TM_GET_TEXT, bad), EFAULT);
        EXPECT_EQ(raw_ioctl(monitor.fd(), TM_PID, bad), EFAULT);
        EXPECT_EQ(raw_ioctl(hello.fd(), HELLO, bad), EFAULT); // NOLINT(modernize-avoid-c-arrays)
    }
    ::munmap(no_access, static_cast<std::size_t>(page_size));
    EXPECT_EQ(monitor.target(), child.pid()) << "a faulting TM_PID changed the target";
}

TEST_F(Errors, ExitedTargetIsEsrchUntilANewOneIsSet)
{
    BusyChild child;
    const pid_t pid = child.pid();
    Monitor monitor(monitor_device(), Access::steer);
    monitor.set_target(pid);
    static_cast<void>(monitor.sample());
    child.kill_and_reap();

    try {
        static_cast<void>(monitor.sample());
        FAIL() << "TM_GET succeeded for an exited target";
    } catch (const NoSuchProcess& e) {
        EXPECT_EQ(e.code(), std::errc::no_such_process);
        EXPECT_TRUE(e.pid() == pid || e.pid() == 0) << e.pid();
        EXPECT_THAT(std::string(e.what()), HasSubstr("has exited"));
        EXPECT_THAT(std::string(e.what()), Not(HasSubstr("taskmon pid")));
    }
    EXPECT_THROW(static_cast<void>(monitor.sample_text()), NoSuchProcess);
    task_sample raw{};
    EXPECT_EQ(raw_ioctl(monitor.fd(), TM_GET, &raw), ESRCH);
    // Reaped, its number may name another process: reading the target
    // fails, naming the pid this Monitor set.
    try {
        static_cast<void>(monitor.target());
        FAIL() << "TM_PID gave the number of a reaped target";
    } catch (const NoSuchProcess& e) {
        EXPECT_EQ(e.pid(), pid);
        EXPECT_THAT(std::string(e.what()), HasSubstr("has exited and been reaped"));
    }

    const std::string cli = cli_program();
    if (!cli.empty()) {
        const RunResult r = run_program(cli, {"--device", monitor_device(), "get"});
        EXPECT_EQ(r.status, 3) << r.out << r.err;
        EXPECT_THAT(r.err, HasSubstr("has exited"));
        const RunResult p = run_program(cli, {"--device", monitor_device(), "pid"});
        EXPECT_EQ(p.status, 3) << p.out << p.err;
        EXPECT_THAT(p.err, HasSubstr("has exited and been reaped"));
    }

    const BusyChild next;
    monitor.set_target(next.pid());
    EXPECT_EQ(monitor.target(), next.pid());
    static_cast<void>(monitor.sample());
}

} // namespace
} // namespace taskmon::vmtest
