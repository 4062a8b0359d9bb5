// SPDX-License-Identifier: GPL-2.0-only
#include "device.hpp"

#include "child.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace taskmon::bench {

std::string errno_text(const std::string& what, int err)
{
    std::string text = what + ": " + std::strerror(err); // NOLINT(concurrency-mt-unsafe)
    if (err == EACCES || err == EPERM) {
        text += " (run as root)";
    } else if (err == ENOENT && what.find("taskmonitor") != std::string::npos) {
        text += " (load taskmonitor.ko)";
    } else if (err == ENOTTY || err == EINVAL) {
        text += " (the loaded module may predate this request)";
    }
    return text;
}

void skip(benchmark::State& state, const std::string& why)
{
    state.SkipWithError(why.c_str());
}

Fd open_or_skip(benchmark::State& state, const char* path, int flags)
{
    Fd fd{
        ::open(path, flags | O_CLOEXEC)}; // NOLINT(cppcoreguidelines-pro-type-vararg,hicpp-vararg)
    if (!fd) {
        skip(state, errno_text(std::string("open ") + path, errno));
    }
    return fd;
}

Fd open_targeted_device(benchmark::State& state)
{
    const SleepingChild& child = sleeping_child();
    if (child.pid() < 0) {
        skip(state, errno_text("fork of the sleeping child", child.error()));
        return {};
    }
    Fd fd = open_or_skip(state, device_path, O_RDWR);
    if (!fd) {
        return fd;
    }
    __kernel_pid_t pid = child.pid();
    if (::ioctl(fd.get(), TM_PID, &pid) < 0) { // NOLINT(cppcoreguidelines-pro-type-vararg)
        skip(state, errno_text("TM_PID (set the target)", errno));
        return {};
    }
    return fd;
}

long tm_list(int fd, std::vector<taskmon_proc>& entries)
{
    for (;;) {
        taskmon_list req{};
        req.size = sizeof(req);
        req.entry_size = sizeof(taskmon_proc);
        req.count = static_cast<std::uint32_t>(entries.size());
        req.entries = reinterpret_cast<std::uintptr_t>(entries.data());
        const long ret = ::ioctl(fd, TM_LIST, &req); // NOLINT(cppcoreguidelines-pro-type-vararg)
        if (ret >= 0 && !entries.empty()) {
            return ret;
        }
        if (ret >= 0) { // count 0 (the first call) answers the count needed
            req.total = static_cast<std::uint32_t>(ret);
            errno = ERANGE;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != ERANGE) {
            return -errno;
        }
        // Processes come and go between two calls: room for a few more.
        entries.resize(std::size_t{req.total} + std::size_t{req.total} / 8 + 16);
    }
}

std::vector<pid_t> live_pids(benchmark::State& state, int fd, std::size_t count, pid_t first)
{
    std::vector<pid_t> pids;
    if (first > 0) {
        pids.push_back(first);
    }
    std::vector<taskmon_proc> entries;
    const long n = tm_list(fd, entries);
    if (n < 0) {
        skip(state, errno_text("TM_LIST", static_cast<int>(-n)));
        return pids;
    }
    for (long i = 0; i < n && pids.size() < count; ++i) {
        const pid_t pid = entries[static_cast<std::size_t>(i)].pid;
        if (pid != first) {
            pids.push_back(pid);
        }
    }
    return pids;
}

} // namespace taskmon::bench
