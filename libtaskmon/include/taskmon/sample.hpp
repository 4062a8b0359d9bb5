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
};

/**
 * @brief Writes e.g. "user 36.181000000 s, system 0.512000000 s" (exact, in seconds).
 */
TASKMON_API std::ostream& operator<<(std::ostream& out, const Sample& sample);

} // namespace taskmon

#endif // TASKMON_SAMPLE_HPP
