// SPDX-License-Identifier: GPL-2.0-only
//
// taskmon-bench-population N: makes the system hold at least N processes
// (kernel threads count: TM_LIST and /proc list them too) for the
// population-dependent benchmarks.  It forks sleeping children (plain
// fork(), no exec, so that 10000 are quick), prints "ready TOTAL" (the
// numeric entries of /proc then), and waits for SIGTERM, SIGINT or SIGHUP,
// or EOF on its standard input (run it on a pipe: with stdin at /dev/null
// it ends at once).  Then it kills and reaps every child and exits 0.  A
// failed fork (a limit reached) is reported on stderr, naming the limit,
// and ends it with status 1 once the children are gone.
#include <dirent.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* program = "taskmon-bench-population";

// The program is single-threaded: strerror(), readdir() and sigprocmask()
// are safe here (clang-tidy's concurrency-mt-unsafe is silenced where used).
void say(const std::string& line)
{
    std::fputs((std::string(program) + ": " + line + "\n").c_str(), stderr);
}

std::string error_text(int err)
{
    return std::strerror(err); // NOLINT(concurrency-mt-unsafe)
}

// The numeric entries of /proc: every process of this pid namespace.
long count_processes()
{
    const std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc"), ::closedir);
    if (!dir) {
        return -1;
    }
    long count = 0;
    while (const dirent* entry = ::readdir(dir.get())) { // NOLINT(concurrency-mt-unsafe)
        const char* name = entry->d_name;
        if (*name >= '1' && *name <= '9' && std::strspn(name, "0123456789") == std::strlen(name)) {
            ++count;
        }
    }
    return count;
}

// The first line of a small file; empty if it cannot be read.
std::string first_line(const std::string& path)
{
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

long to_long(std::string_view text)
{
    long value = -1;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

// Whether this process has capability @p bit in its effective set.
bool has_capability(unsigned bit)
{
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("CapEff:", 0) == 0) {
            const std::uint64_t caps = std::strtoull(line.c_str() + 7, nullptr, 16);
            return ((caps >> bit) & 1U) != 0;
        }
    }
    return false;
}

// Which limit a fork that failed with EAGAIN ran into: each system-wide or
// per-user bound with its value and what is in use, the one reached first.
std::string which_limit()
{
    std::string reached;
    std::string all;
    auto check = [&](const std::string& name, long limit, long used) {
        all += " " + name + "=" + std::to_string(limit) + " (in use " + std::to_string(used) + ")";
        if (reached.empty() && limit >= 0 && used >= limit) {
            reached = name;
        }
    };
    // /proc/loadavg's fourth field is "running/total" scheduling entities: every thread.
    const std::string loadavg = first_line("/proc/loadavg");
    const std::size_t slash = loadavg.find('/');
    const long threads = slash == std::string::npos ? -1 : to_long(loadavg.substr(slash + 1));
    rlimit nproc{};
    ::getrlimit(RLIMIT_NPROC, &nproc);
    // RLIMIT_NPROC binds unless the caller has CAP_SYS_ADMIN (21) or CAP_SYS_RESOURCE (24).
    if (nproc.rlim_cur != RLIM_INFINITY && !has_capability(21) && !has_capability(24)) {
        check("RLIMIT_NPROC (ulimit -u)", static_cast<long>(nproc.rlim_cur), threads);
    }
    check("kernel.threads-max", to_long(first_line("/proc/sys/kernel/threads-max")), threads);
    // The pid allocator keeps the first 300 pids for the boot (RESERVED_PIDS).
    check("kernel.pid_max", to_long(first_line("/proc/sys/kernel/pid_max")) - 300, threads);
    const std::string cgroup = first_line("/proc/self/cgroup"); // "0::/path" (cgroup v2)
    if (const std::size_t path = cgroup.find("::"); path != std::string::npos) {
        const std::string dir = "/sys/fs/cgroup" + cgroup.substr(path + 2);
        const std::string max = first_line(dir + "/pids.max");
        if (!max.empty() && max != "max") {
            check("the cgroup's pids.max (" + dir + ")", to_long(max),
                  to_long(first_line(dir + "/pids.current")));
        }
    }
    return (reached.empty() ? std::string("no limit is at its bound (memory?);")
                            : "the limit reached is " + reached + ";") +
           all;
}

[[noreturn]] void child_main(pid_t parent, const sigset_t& mask, int signal_fd)
{
    ::sigprocmask(SIG_SETMASK, &mask, nullptr); // NOLINT(concurrency-mt-unsafe)
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
        ::_exit(1); // the parent died before prctl()
    }
    // Nothing of the parent's: its output pipe must not stay open in 10000 children.
    ::close(signal_fd);
    ::close(STDIN_FILENO);
    ::close(STDOUT_FILENO);
    for (;;) {
        ::pause();
    }
}

// A few children at a time: thousands killed at once are thousands of
// runnable tasks tearing down their memory, which starves every other task
// long enough (under emulation: seconds) for the kernel to report an RCU
// stall of its grace-period thread.
void kill_and_reap(const std::vector<pid_t>& children)
{
    constexpr std::size_t batch = 32;
    for (std::size_t begin = 0; begin < children.size(); begin += batch) {
        const std::size_t end = std::min(children.size(), begin + batch);
        for (std::size_t i = begin; i < end; ++i) {
            ::kill(children[i], SIGKILL);
        }
        for (std::size_t i = begin; i < end; ++i) {
            while (::waitpid(children[i], nullptr, 0) < 0 && errno == EINTR) {
            }
        }
    }
}

enum class Forked { all, stopped, failed };

bool stop_pending()
{
    sigset_t pending{};
    ::sigpending(&pending);
    return sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1 ||
           sigismember(&pending, SIGHUP) == 1;
}

// Forks @p count more children into @p children; says why it failed (on
// stderr) or that a stop signal came meanwhile.
Forked fork_children(long count, std::vector<pid_t>& children, const sigset_t& mask, int signal_fd,
                     long total, long wanted)
{
    const pid_t self = ::getpid();
    for (long i = 0; i < count; ++i) {
        const pid_t pid = ::fork();
        if (pid == 0) {
            child_main(self, mask, signal_fd);
        }
        if (pid < 0) {
            const int err = errno;
            say("fork failed after " + std::to_string(children.size()) + " children (about " +
                std::to_string(total + i) + " processes, " + std::to_string(wanted) +
                " wanted): " + error_text(err) + ": " +
                (err == ENOMEM ? std::string("out of memory") : which_limit()));
            return Forked::failed;
        }
        children.push_back(pid);
        if (i % 256 == 255 && stop_pending()) { // stopped while forking: no need to finish
            return Forked::stopped;
        }
    }
    return Forked::all;
}

// Waits for a stop signal on @p signal_fd or EOF on stdin.
void wait_for_stop(int signal_fd)
{
    std::array<pollfd, 2> fds{{{signal_fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}}};
    for (;;) {
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }
        if (fds[0].revents != 0) {
            return;
        }
        if ((fds[1].revents & POLLNVAL) != 0) {
            fds[1].fd = -1; // no stdin at all: only a signal ends the wait
        } else if (fds[1].revents != 0) {
            std::array<char, 256> buf{};
            if (::read(STDIN_FILENO, buf.data(), buf.size()) <= 0) {
                return; // EOF (or a broken stdin)
            }
        }
    }
}

} // namespace

int main(int argc, char** argv)
{
    const std::vector<std::string> args(argv + 1, argv + argc);
    long wanted = 0;
    if (args.size() != 1 || (wanted = to_long(args[0])) <= 0 || std::to_string(wanted) != args[0]) {
        say("usage: taskmon-bench-population N  (N > 0: the number of processes to reach)");
        return 2;
    }
    // The stop signals are read from a signalfd, so blocked from the start;
    // the children get the original mask back.
    sigset_t stop{};
    sigset_t old_mask{};
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &stop, &old_mask); // NOLINT(concurrency-mt-unsafe)
    const int signal_fd = ::signalfd(-1, &stop, SFD_CLOEXEC);
    if (signal_fd < 0) {
        say(std::string("signalfd: ") + error_text(errno));
        return 1;
    }
    ::signal(SIGPIPE, SIG_IGN); // a closed stdout is an error to report, not a silent death

    // Other processes may exit meanwhile: count again after forking, a few rounds.
    std::vector<pid_t> children;
    children.reserve(static_cast<std::size_t>(wanted));
    long total = count_processes();
    for (int round = 0; round < 10 && total >= 0 && total < wanted; ++round) {
        switch (fork_children(wanted - total, children, old_mask, signal_fd, total, wanted)) {
        case Forked::all:
            break;
        case Forked::stopped:
            kill_and_reap(children);
            return 0;
        case Forked::failed:
            kill_and_reap(children);
            return 1;
        }
        total = count_processes();
    }
    if (total < 0) {
        say(std::string("cannot list /proc: ") + error_text(errno));
        kill_and_reap(children);
        return 1;
    }
    const std::string ready = "ready " + std::to_string(total) + "\n";
    if (std::fputs(ready.c_str(), stdout) < 0 || std::fflush(stdout) != 0) {
        say(std::string("cannot write to stdout: ") + error_text(errno));
        kill_and_reap(children);
        return 1;
    }
    wait_for_stop(signal_fd);
    kill_and_reap(children);
    return 0;
}
