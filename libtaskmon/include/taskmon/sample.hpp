// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * @file sample.hpp
 * @brief Sample: the CPU time a process has consumed.
 */
#ifndef TASKMON_SAMPLE_HPP
#define TASKMON_SAMPLE_HPP

#if !defined(TASKMON_TASKMON_HPP_INSIDE)
#error "Only <taskmon/taskmon.hpp> can be included directly."
#endif

#include <taskmon/export.hpp>

#include <chrono>
#include <iosfwd>

namespace taskmon {

/**
 * @brief CPU time consumed by the monitored process, summed over all its
 *        threads (as in /proc/PID/stat), in nanoseconds.
 *
 * A plain value type: copyable, comparable, and safe to use from any thread.
 * Its layout (two std::chrono::nanoseconds) is part of the ABI and will not
 * change; new statistics get a new type.
 */
struct Sample {
    /** @brief Time spent in user mode. */
    std::chrono::nanoseconds user{0};
    /** @brief Time spent in kernel mode. */
    std::chrono::nanoseconds system{0};

    /** @brief user + system. */
    [[nodiscard]] constexpr std::chrono::nanoseconds total() const noexcept
    {
        return user + system;
    }

    friend constexpr bool operator==(const Sample& lhs, const Sample& rhs) noexcept
    {
        return lhs.user == rhs.user && lhs.system == rhs.system;
    }

    friend constexpr bool operator!=(const Sample& lhs, const Sample& rhs) noexcept
    {
        return !(lhs == rhs);
    }

    /** @brief Field-wise difference, e.g. the CPU time used between two samples. */
    friend constexpr Sample operator-(const Sample& lhs, const Sample& rhs) noexcept
    {
        return Sample{lhs.user - rhs.user, lhs.system - rhs.system};
    }

    /** @brief Field-wise sum, e.g. the CPU time of several processes together. */
    friend constexpr Sample operator+(const Sample& lhs, const Sample& rhs) noexcept
    {
        return Sample{lhs.user + rhs.user, lhs.system + rhs.system};
    }

    /** @brief Adds @p rhs field by field. */
    constexpr Sample& operator+=(const Sample& rhs) noexcept
    {
        user += rhs.user;
        system += rhs.system;
        return *this;
    }

    /** @brief Subtracts @p rhs field by field. */
    constexpr Sample& operator-=(const Sample& rhs) noexcept
    {
        user -= rhs.user;
        system -= rhs.system;
        return *this;
    }
};

/**
 * @brief The CPU use between two samples of the same process, in percent of
 *        one CPU: (later - earlier).total() / @p wall * 100, as top(1) and
 *        psutil's cpu_percent() show it (a process busy on two CPUs is 200).
 *
 * @code
 * const auto t0 = std::chrono::steady_clock::now();
 * const taskmon::Sample s0 = monitor.sample();
 * std::this_thread::sleep_for(std::chrono::seconds(1));
 * const taskmon::Sample s1 = monitor.sample();
 * const double pct = taskmon::cpu_percent(s0, s1, std::chrono::steady_clock::now() - t0);
 * @endcode
 *
 * @param earlier the first sample
 * @param later   a later sample of the same process
 * @param wall    the wall-clock time between them (a monotonic clock's)
 * @return the percentage; 0 when @p wall is not positive (nothing to divide
 *         by), and negative if @p later is not the later sample (e.g. after
 *         the target changed), which a caller may want to show as unknown.
 */
[[nodiscard]] constexpr double cpu_percent(const Sample& earlier, const Sample& later,
                                           std::chrono::nanoseconds wall) noexcept
{
    if (wall.count() <= 0) {
        return 0.0;
    }
    return static_cast<double>((later - earlier).total().count()) * 100.0 /
           static_cast<double>(wall.count());
}

/**
 * @brief Writes e.g. "user 36.181000000 s, system 0.512000000 s" (exact, in seconds).
 */
TASKMON_API std::ostream& operator<<(std::ostream& out, const Sample& sample);

} // namespace taskmon

#endif // TASKMON_SAMPLE_HPP
