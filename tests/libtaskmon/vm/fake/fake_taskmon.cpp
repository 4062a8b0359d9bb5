// SPDX-License-Identifier: GPL-2.0-only
//
// A user-space stand-in for helloioctl.ko and taskmonitor.ko, loaded with
// LD_PRELOAD, so that taskmon-vm-tests' own logic (and the taskmon CLI end to
// end) can be exercised on a host without the modules.  It is NOT a test of
// the kernel code: the real run is inside the VM.
//
// ioctl(2) on a descriptor of /dev/zero answers as /dev/taskmonitor, on
// /dev/full as /dev/hello (run with TASKMON_DEVICE=/dev/zero
// TASKMON_HELLO_DEVICE=/dev/full); everything else goes to the kernel.  The
// module state (target, thread running) lives in $TASKMON_FAKE_STATE so that
// every process sees the same.  CPU times come from /proc/PID/stat.  There is
// no kthread, so the tests that count it cannot pass here.
#include <linux/taskmon.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

struct State {
    long target = 0; // 0: none
    int running = 0;
};

int state_fd()
{
    const char* path = std::getenv("TASKMON_FAKE_STATE"); // NOLINT(concurrency-mt-unsafe)
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg)
    return ::open(path != nullptr ? path : "/tmp/taskmon-fake-state", O_RDWR | O_CREAT | O_CLOEXEC,
                  0600);
}

State load(int fd)
{
    State s;
    char buf[64] = {}; // NOLINT(modernize-avoid-c-arrays)
    const ssize_t n = ::pread(fd, buf, sizeof(buf) - 1, 0);
    if (n > 0) {
        // NOLINTNEXTLINE(cert-err34-c,cppcoreguidelines-pro-type-vararg)
        std::sscanf(buf, "%ld %d", &s.target, &s.running);
    }
    return s;
}

void save(int fd, const State& s)
{
    char buf[64] = {}; // NOLINT(modernize-avoid-c-arrays)
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg)
    const int n = std::snprintf(buf, sizeof(buf), "%ld %d\n", s.target, s.running);
    ::ftruncate(fd, 0);
    ::pwrite(fd, buf, static_cast<size_t>(n), 0);
}

// copy_to_user: EFAULT unless @p dst is writable (read(2) from /dev/zero
// probes that without crashing), then copy.
int copy_out(void* dst, const void* src, size_t len)
{
    const int zero =
        ::open("/dev/zero", O_RDONLY | O_CLOEXEC); // NOLINT(cppcoreguidelines-pro-type-vararg)
    const ssize_t n = ::read(zero, dst, len);
    ::close(zero);
    if (n != static_cast<ssize_t>(len)) {
        return EFAULT;
    }
    std::memcpy(dst, src, len);
    return 0;
}

int copy_in(void* dst, const void* src, size_t len)
{
    // write(2) to a pipe reads the buffer (/dev/null would not look at it).
    int pipefd[2]; // NOLINT(modernize-avoid-c-arrays)
    if (::pipe2(pipefd, O_CLOEXEC) != 0) {
        return EIO;
    }
    const ssize_t n = ::write(pipefd[1], src, len);
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    if (n != static_cast<ssize_t>(len)) {
        return EFAULT;
    }
    std::memcpy(dst, src, len);
    return 0;
}

bool alive(long pid)
{
    char path[64]; // NOLINT(modernize-avoid-c-arrays)
    std::snprintf(path, sizeof(path), "/proc/%ld/stat",
                  pid); // NOLINT(cppcoreguidelines-pro-type-vararg)
    return ::access(path, F_OK) == 0;
}

int read_times(long pid, task_sample* out)
{
    char path[64]; // NOLINT(modernize-avoid-c-arrays)
    std::snprintf(path, sizeof(path), "/proc/%ld/stat",
                  pid); // NOLINT(cppcoreguidelines-pro-type-vararg)
    FILE* f = std::fopen(path, "re");
    if (f == nullptr) {
        return ESRCH;
    }
    char buf[1024] = {}; // NOLINT(modernize-avoid-c-arrays)
    const size_t n = std::fread(buf, 1, sizeof(buf) - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    const char* p = std::strrchr(buf, ')');
    if (p == nullptr) {
        return ESRCH;
    }
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    // state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
    // NOLINTNEXTLINE(cert-err34-c,cppcoreguidelines-pro-type-vararg)
    if (std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                    &stime) != 2) {
        return ESRCH;
    }
    const auto ns_per_tick =
        1'000'000'000ULL / static_cast<unsigned long long>(::sysconf(_SC_CLK_TCK));
    out->utime = utime * ns_per_tick;
    out->stime = stime * ns_per_tick;
    return 0;
}

int taskmonitor_ioctl(unsigned long request, void* arg, bool writable)
{
    // Steering through a read-only file is EBADF, before anything else, as
    // the module does (docs/security.md); the emulation runs as root, so
    // the capability check (EPERM) always passes.
    if (!writable && (request == TM_START || request == TM_STOP)) {
        return EBADF;
    }
    if (!writable && request == TM_PID) {
        __kernel_pid_t asked = -1;
        if (copy_in(&asked, arg, sizeof(asked)) == 0 && asked >= 0) {
            return EBADF;
        }
    }
    const int fd = state_fd();
    if (fd < 0) {
        return EIO;
    }
    ::flock(fd, LOCK_EX);
    State s = load(fd);
    int err = 0;
    switch (request) {
    case TM_START:
        s.running = 1;
        save(fd, s);
        break;
    case TM_STOP:
        s.running = 0;
        save(fd, s);
        break;
    case TM_PID: {
        __kernel_pid_t pid = 0;
        if ((err = copy_in(&pid, arg, sizeof(pid))) != 0) {
            break;
        }
        if (pid == 0) {
            err = EINVAL;
        } else if (pid > 0) {
            if (!alive(pid)) {
                err = ESRCH;
                break;
            }
            s.target = pid;
            save(fd, s);
            err = copy_out(arg, &pid, sizeof(pid));
        } else if (s.target == 0) {
            err = ENODATA;
        } else if (!alive(s.target)) {
            // A reaped target's number is not given (a zombie's is: it
            // still has its /proc entry), as the module does.
            err = ESRCH;
        } else {
            pid = static_cast<__kernel_pid_t>(s.target);
            err = copy_out(arg, &pid, sizeof(pid));
        }
        break;
    }
    case TM_GET:
    case TM_GET_TEXT: {
        if (s.target == 0) {
            err = ENODATA;
            break;
        }
        task_sample sample{};
        if ((err = read_times(s.target, &sample)) != 0) {
            break;
        }
        if (request == TM_GET) {
            err = copy_out(arg, &sample, sizeof(sample));
        } else {
            task_sample_text text{};
            // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg)
            std::snprintf(text.text, sizeof(text.text), "pid %ld usr %llu sys %llu\n", s.target,
                          static_cast<unsigned long long>(sample.utime),
                          static_cast<unsigned long long>(sample.stime));
            err = copy_out(arg, &text, sizeof(text));
        }
        break;
    }
    default:
        err = ENOTTY;
    }
    ::flock(fd, LOCK_UN);
    ::close(fd);
    return err;
}

int hello_ioctl(unsigned long request, void* arg)
{
    if (request != HELLO) { // NOLINT(modernize-avoid-c-arrays): HELLO names char[N]
        return ENOTTY;
    }
    char msg[HELLO_MSG_LEN] = "Hello ioctl!"; // NOLINT(modernize-avoid-c-arrays)
    return copy_out(arg, msg, sizeof(msg));
}

} // namespace

extern "C" int ioctl(int fd, unsigned long request, ...) noexcept
{
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);

    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1) {
        int err = -1;
        if (minor(st.st_rdev) == 5) { // /dev/zero: taskmonitor
            // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg,hicpp-vararg): fcntl(2)
            const int flags = ::fcntl(fd, F_GETFL);
            err = taskmonitor_ioctl(request, arg, flags >= 0 && (flags & O_ACCMODE) != O_RDONLY);
        } else if (minor(st.st_rdev) == 7) { // /dev/full: hello
            err = hello_ioctl(request, arg);
        }
        if (err >= 0) {
            errno = err;
            return err == 0 ? 0 : -1;
        }
    }
    return static_cast<int>(
        ::syscall(SYS_ioctl, fd, request, arg)); // NOLINT(cppcoreguidelines-pro-type-vararg)
}
