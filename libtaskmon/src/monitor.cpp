// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon::Monitor: /dev/taskmonitor.
#include "internal.hpp"

#include <linux/taskmon.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <vector>

namespace taskmon {

namespace {

constexpr std::string_view module_name = "taskmonitor";

std::chrono::nanoseconds to_ns(__u64 value) noexcept
{
    // 2^63 ns is 292 years of CPU time: saturate rather than wrap.
    constexpr auto max =
        static_cast<__u64>(std::numeric_limits<std::chrono::nanoseconds::rep>::max());
    return std::chrono::nanoseconds(
        static_cast<std::chrono::nanoseconds::rep>(value > max ? max : value));
}

} // namespace

struct Monitor::Impl {
    explicit Impl(const std::filesystem::path& path) : device(path, module_name) {}

    // The target's pid for an error message: the kernel's answer, else (a
    // reaped target is ESRCH to TM_PID) the target this Monitor last set
    // or read, 0 if none.
    [[nodiscard]] pid_t target_for_message() const noexcept
    {
        __kernel_pid_t pid = -1;
        if (device.try_ioctl(TM_PID, &pid) == 0 && pid > 0) {
            return pid;
        }
        return known_target.load(std::memory_order_relaxed);
    }

    // TM_PID read; ESRCH (reaped, or not visible here) names the target
    // this Monitor last saw.
    [[nodiscard]] pid_t target() const
    {
        device.check_open();
        __kernel_pid_t pid = -1; // negative: read the target
        const int err = device.try_ioctl(TM_PID, &pid);
        if (err == ESRCH) {
            detail::throw_from_errno(
                err, detail::ErrorContext{"TM_PID", device.path(), module_name,
                                          known_target.load(std::memory_order_relaxed), true});
        }
        if (err != 0) {
            device.fail(err, "TM_PID");
        }
        known_target.store(pid, std::memory_order_relaxed);
        return pid;
    }

    // Issues a TM_GET-like request; on ESRCH names the exited target if possible.
    void get(unsigned long request, void* arg, std::string_view name) const
    {
        device.check_open();
        const int err = device.try_ioctl(request, arg);
        if (err == ESRCH) {
            device.fail(err, name, target_for_message());
        }
        if (err != 0) {
            device.fail(err, name);
        }
    }

    // Issues TM_STATS on @p raw; throws the exception for @p pid, or for the
    // target when @p target (raw.pid is then 0).
    void stats(taskmon_stats& raw, pid_t pid, bool target) const
    {
        device.check_open();
        const int err = device.try_ioctl(TM_STATS, &raw);
        if (err != 0) {
            throw_stats_error(err, pid, "TM_STATS", target);
        }
    }

    [[noreturn]] void throw_stats_error(int err, pid_t pid, std::string_view operation,
                                        bool target = false) const
    {
        // ESRCH for the target: name the one that exited, as get() does.
        const pid_t shown = target && err == ESRCH ? target_for_message() : pid;
        detail::throw_from_errno(
            err, detail::ErrorContext{operation, device.path(), module_name, shown, target});
    }

    // The exception stats(pid) would throw, for a record of a batch.
    [[nodiscard]] std::exception_ptr stats_exception(int err, pid_t pid) const
    {
        try {
            throw_stats_error(err, pid, "TM_STATS");
        } catch (...) {
            return std::current_exception();
        }
    }

    detail::Device device;
    // The target last set or read through this Monitor, to name it once the
    // kernel no longer gives its number (another program may have switched
    // the target since: the message says which target it is).
    mutable std::atomic<pid_t> known_target{0};
};

namespace {

__u32 stats_flags(Scope scope) noexcept
{
    return scope == Scope::thread ? TM_STATS_THREAD : 0U;
}

taskmon_stats stats_request(pid_t pid, Scope scope) noexcept
{
    taskmon_stats raw{};
    raw.size = sizeof(raw);
    raw.flags = stats_flags(scope);
    raw.pid = pid;
    return raw;
}

} // namespace

Monitor::Monitor() : Monitor(std::filesystem::path(default_path))
{}

Monitor::Monitor(const std::filesystem::path& path) : impl_(std::make_unique<Impl>(path))
{}

Monitor::Monitor(Monitor&& other) noexcept = default;
Monitor& Monitor::operator=(Monitor&& other) noexcept = default;
Monitor::~Monitor() = default;

Monitor::operator bool() const noexcept
{
    return impl_ && impl_->device.fd() >= 0;
}

void Monitor::close() noexcept
{
    if (impl_) {
        impl_->device.close();
    }
}

int Monitor::fd() const noexcept
{
    return impl_ ? impl_->device.fd() : -1;
}

std::filesystem::path Monitor::path() const
{
    return impl_ ? impl_->device.path() : std::filesystem::path{};
}

Sample Monitor::sample() const
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    task_sample raw{};
    impl_->get(TM_GET, &raw, "TM_GET");
    return Sample{to_ns(raw.utime), to_ns(raw.stime)};
}

std::string Monitor::sample_text() const
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    task_sample_text raw{};
    impl_->get(TM_GET_TEXT, &raw, "TM_GET_TEXT");
    // The kernel NUL-terminates; never trust that past the buffer.
    return {static_cast<const char*>(raw.text), ::strnlen(raw.text, sizeof(raw.text))};
}

void Monitor::start()
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    impl_->device.ioctl(TM_START, nullptr, "TM_START");
}

void Monitor::stop()
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    impl_->device.ioctl(TM_STOP, nullptr, "TM_STOP");
}

pid_t Monitor::target() const
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    return impl_->target();
}

void Monitor::set_target(pid_t pid)
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    if (pid <= 0) {
        // A negative value would *read* the target and 0 is EINVAL: refuse
        // both here, with the kernel's answer for 0.
        impl_->device.fail(EINVAL, "TM_PID", pid);
    }
    __kernel_pid_t arg = pid;
    impl_->device.ioctl(TM_PID, &arg, "TM_PID", pid);
    impl_->known_target.store(pid, std::memory_order_relaxed);
}

} // namespace taskmon

namespace taskmon {

Stats Monitor::stats(Scope scope) const
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    // pid 0: the kernel reads the target and its figures in one step.
    taskmon_stats raw = stats_request(0, scope);
    impl_->stats(raw, 0, true);
    return detail::stats_from_raw(raw);
}

Stats Monitor::stats(pid_t pid, Scope scope) const
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    if (pid <= 0) {
        // 0 would silently mean the target, a negative pid nothing.
        impl_->device.check_open();
        impl_->throw_stats_error(EINVAL, pid, "TM_STATS");
    }
    taskmon_stats raw = stats_request(pid, scope);
    impl_->stats(raw, pid, false);
    return detail::stats_from_raw(raw);
}

std::vector<StatsResult> Monitor::stats(const pid_t* pids, std::size_t count, Scope scope) const
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    impl_->device.check_open();
    std::vector<StatsResult> results(count);
    // The positive pids go to the kernel, TM_STATS_BATCH_MAX at a time;
    // the others get EINVAL here (0 would mean the target).
    std::vector<std::size_t> asked; // indexes into results
    asked.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
        results[i].pid = pids[i]; // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
        if (results[i].pid > 0) {
            asked.push_back(i);
        } else {
            results[i].error = EINVAL;
            results[i].exception = impl_->stats_exception(EINVAL, results[i].pid);
        }
    }

    std::vector<taskmon_stats> records;
    for (std::size_t begin = 0; begin < asked.size(); begin += TM_STATS_BATCH_MAX) {
        const std::size_t n = std::min<std::size_t>(asked.size() - begin, TM_STATS_BATCH_MAX);
        records.assign(n, taskmon_stats{});
        for (std::size_t j = 0; j < n; ++j) {
            records[j] = stats_request(results[asked[begin + j]].pid, scope);
        }
        taskmon_stats_batch batch{};
        batch.size = sizeof(taskmon_stats);
        batch.flags = stats_flags(scope);
        batch.count = static_cast<__u32>(n);
        batch.records = reinterpret_cast<std::uintptr_t>(records.data());
        const int err = impl_->device.try_ioctl(TM_STATS_BATCH, &batch);
        if (err != 0) {
            impl_->device.fail(err, "TM_STATS_BATCH");
        }
        for (std::size_t j = 0; j < n; ++j) {
            StatsResult& result = results[asked[begin + j]];
            const taskmon_stats& raw = records[j];
            if (raw.error == 0) {
                result.stats = detail::stats_from_raw(raw);
            } else {
                result.error = raw.error < 0 ? -raw.error : raw.error;
                result.exception = impl_->stats_exception(result.error, result.pid);
            }
        }
    }
    return results;
}

} // namespace taskmon
