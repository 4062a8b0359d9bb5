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

// The open /dev/taskmonitor, with what a Monitor remembers besides.
// Hidden: the library's own (TASKMON_LOCAL keeps its vtable out of the ABI).
class TASKMON_LOCAL Monitor::Impl : public detail::Device {
public:
    Impl(const std::filesystem::path& path, Access access)
        : Device(path, module_name, "taskmon::Monitor", access == Access::steer)
    {}

    // The target's pid for an error message: the kernel's answer, else (a
    // reaped target is ESRCH to TM_PID) the target this Monitor last set
    // or read, 0 if none.
    [[nodiscard]] pid_t target_for_message() const noexcept
    {
        __kernel_pid_t pid = -1;
        if (try_ioctl(TM_PID, &pid) == 0 && pid > 0) {
            return pid;
        }
        return known_target.load(std::memory_order_relaxed);
    }

    // TM_PID read; ESRCH (reaped, or not visible here) names the target
    // this Monitor last saw.
    [[nodiscard]] pid_t target() const
    {
        __kernel_pid_t pid = -1; // negative: read the target
        const int err = try_ioctl(TM_PID, &pid);
        if (err != 0) {
            const pid_t known = err == ESRCH ? known_target.load(std::memory_order_relaxed) : 0;
            detail::throw_from_errno(err, context("TM_PID", known, true));
        }
        known_target.store(pid, std::memory_order_relaxed);
        return pid;
    }

    // Issues a TM_GET-like request; on ESRCH names the exited target if possible.
    void get(unsigned long request, void* arg, std::string_view name) const
    {
        const int err = try_ioctl(request, arg);
        if (err == ESRCH) {
            fail(err, name, target_for_message());
        }
        if (err != 0) {
            fail(err, name);
        }
    }

    // Issues TM_STATS on @p raw; throws the exception for @p pid, or for the
    // target when @p target (raw.pid is then 0).
    void stats(taskmon_stats& raw, pid_t pid, bool target) const
    {
        const int err = try_ioctl(TM_STATS, &raw);
        if (err != 0) {
            throw_stats_error(err, pid, "TM_STATS", target);
        }
    }

    [[noreturn]] void throw_stats_error(int err, pid_t pid, std::string_view operation,
                                        bool target = false) const
    {
        // ESRCH for the target: name the one that exited, as get() does.
        const pid_t shown = target && err == ESRCH ? target_for_message() : pid;
        detail::throw_from_errno(err, context(operation, shown, target));
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

    // The exception for a pid <= 0 in a batch, which is never sent.
    [[nodiscard]] std::exception_ptr refused_exception(pid_t pid) const
    {
        try {
            refuse_pid("stats", pid);
        } catch (...) {
            return std::current_exception();
        }
    }

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

// Field's values are the uapi's TM_STATS_* bits.
static_assert(static_cast<__u64>(Field::ids) == TM_STATS_IDS);
static_assert(static_cast<__u64>(Field::ppid) == TM_STATS_PPID);
static_assert(static_cast<__u64>(Field::state) == TM_STATS_STATE);
static_assert(static_cast<__u64>(Field::threads) == TM_STATS_THREADS);
static_assert(static_cast<__u64>(Field::comm) == TM_STATS_COMM);
static_assert(static_cast<__u64>(Field::creds) == TM_STATS_CREDS);
static_assert(static_cast<__u64>(Field::cpu) == TM_STATS_CPU);
static_assert(static_cast<__u64>(Field::faults) == TM_STATS_FAULTS);
static_assert(static_cast<__u64>(Field::ctxsw) == TM_STATS_CTXSW);
static_assert(static_cast<__u64>(Field::rss) == TM_STATS_RSS);
static_assert(static_cast<__u64>(Field::vsize) == TM_STATS_VSIZE);
static_assert(static_cast<__u64>(Field::start_time) == TM_STATS_START_TIME);
static_assert(static_cast<__u64>(Field::sample_time) == TM_STATS_SAMPLE_TIME);
static_assert(Fields::all().bits() == TM_STATS_ALL);

// The request mask of @p fields: exactly the groups this library knows
// and wants (Fields::all() is TM_STATS_ALL, not 0, so that a newer
// module's costly groups, which this library could not show, are not
// computed for it).  Never 0: no group asked is TM_STATS_IDS, which the
// kernel fills always.
__u64 stats_mask(Fields fields) noexcept
{
    return fields.empty() ? TM_STATS_IDS : fields.bits();
}

taskmon_stats stats_request(pid_t pid, Scope scope, Fields fields) noexcept
{
    taskmon_stats raw{};
    raw.size = sizeof(raw);
    raw.flags = stats_flags(scope);
    raw.pid = pid;
    raw.mask = stats_mask(fields);
    return raw;
}

} // namespace

Monitor::Monitor() : Monitor(std::filesystem::path(default_path))
{}

Monitor::Monitor(Access access) : Monitor(std::filesystem::path(default_path), access)
{}

Monitor::Monitor(const std::filesystem::path& path, Access access)
    : DeviceHandle(std::make_unique<Impl>(path, access))
{}

Monitor::Monitor(Monitor&& other) noexcept = default;
Monitor& Monitor::operator=(Monitor&& other) noexcept = default;
Monitor::~Monitor() = default;

// The one closed-check of every Monitor operation (DeviceHandle::device()).
const Monitor::Impl& Monitor::impl() const
{
    // Every Monitor's device is an Impl (its constructors make one).
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-static-cast-downcast)
    return static_cast<const Impl&>(device());
}

Access Monitor::access() const noexcept
{
    const detail::Device* dev = device_if_any();
    return dev != nullptr && dev->writable() ? Access::steer : Access::read;
}

Sample Monitor::sample() const
{
    task_sample raw{};
    impl().get(TM_GET, &raw, "TM_GET");
    return Sample{to_ns(raw.utime), to_ns(raw.stime)};
}

std::string Monitor::sample_text() const
{
    task_sample_text raw{};
    impl().get(TM_GET_TEXT, &raw, "TM_GET_TEXT");
    // The kernel NUL-terminates; never trust that past the buffer.
    return {static_cast<const char*>(raw.text), ::strnlen(raw.text, sizeof(raw.text))};
}

void Monitor::start()
{
    impl().ioctl(TM_START, nullptr, "TM_START");
}

void Monitor::stop()
{
    impl().ioctl(TM_STOP, nullptr, "TM_STOP");
}

pid_t Monitor::target() const
{
    return impl().target();
}

void Monitor::set_target(pid_t pid)
{
    const Impl& dev = impl();
    if (pid <= 0) {
        // A negative value would *read* the target and 0 is EINVAL: refuse
        // both here, before the kernel sees them.
        dev.refuse_pid("set_target", pid);
    }
    __kernel_pid_t arg = pid;
    dev.ioctl(TM_PID, &arg, "TM_PID", pid);
    dev.known_target.store(pid, std::memory_order_relaxed);
}

} // namespace taskmon

namespace taskmon {

Stats Monitor::stats(Scope scope) const
{
    return stats(Fields::all(), scope);
}

Stats Monitor::stats(Fields fields, Scope scope) const
{
    // pid 0: the kernel reads the target and its figures in one step.
    taskmon_stats raw = stats_request(0, scope, fields);
    impl().stats(raw, 0, true);
    return detail::stats_from_raw(raw);
}

Stats Monitor::stats(pid_t pid, Scope scope) const
{
    return stats(pid, Fields::all(), scope);
}

Stats Monitor::stats(pid_t pid, Fields fields, Scope scope) const
{
    const Impl& dev = impl();
    if (pid <= 0) {
        // 0 would silently mean the target, a negative pid nothing.
        dev.refuse_pid("stats", pid);
    }
    taskmon_stats raw = stats_request(pid, scope, fields);
    dev.stats(raw, pid, false);
    return detail::stats_from_raw(raw);
}

std::vector<StatsResult> Monitor::stats(const pid_t* pids, std::size_t count, Scope scope) const
{
    return stats(pids, count, Fields::all(), scope);
}

std::vector<StatsResult> Monitor::stats(const pid_t* pids, std::size_t count, Fields fields,
                                        Scope scope) const
{
    const Impl& dev = impl();
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
            results[i].exception = dev.refused_exception(results[i].pid);
        }
    }

    std::vector<taskmon_stats> records;
    for (std::size_t begin = 0; begin < asked.size(); begin += TM_STATS_BATCH_MAX) {
        const std::size_t n = std::min<std::size_t>(asked.size() - begin, TM_STATS_BATCH_MAX);
        records.assign(n, taskmon_stats{});
        for (std::size_t j = 0; j < n; ++j) {
            // Each record carries its own request mask.
            records[j] = stats_request(results[asked[begin + j]].pid, scope, fields);
        }
        taskmon_stats_batch batch{};
        batch.size = sizeof(taskmon_stats);
        batch.flags = stats_flags(scope);
        batch.count = static_cast<__u32>(n);
        batch.records = reinterpret_cast<std::uintptr_t>(records.data());
        const int err = dev.try_ioctl(TM_STATS_BATCH, &batch);
        if (err != 0) {
            dev.fail(err, "TM_STATS_BATCH");
        }
        for (std::size_t j = 0; j < n; ++j) {
            StatsResult& result = results[asked[begin + j]];
            const taskmon_stats& raw = records[j];
            if (raw.error == 0) {
                result.stats = detail::stats_from_raw(raw);
            } else {
                result.error = raw.error < 0 ? -raw.error : raw.error;
                result.exception = dev.stats_exception(result.error, result.pid);
            }
        }
    }
    return results;
}

} // namespace taskmon
