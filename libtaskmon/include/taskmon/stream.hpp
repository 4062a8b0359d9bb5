// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * @file stream.hpp
 * @brief Stream: samples the kernel takes on time and queues for this
 *        reader (TM_SUBSCRIBE, read(), poll()).  docs/streaming.md.
 */
#ifndef TASKMON_STREAM_HPP
#define TASKMON_STREAM_HPP

#if !defined(TASKMON_TASKMON_HPP_INSIDE)
#error "Only <taskmon/taskmon.hpp> can be included directly."
#endif

#include <taskmon/device_handle.hpp>
#include <taskmon/export.hpp>
#include <taskmon/sample.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <vector>

namespace taskmon {

class Monitor;

/**
 * @brief One sample of one subscribed process, as the kernel queued it
 *        (struct taskmon_record).
 */
struct StreamRecord {
    /** @brief The record's number in its stream, from 0; a gap is lost records. */
    std::uint64_t seq = 0;
    /** @brief When the sample was taken (CLOCK_BOOTTIME of the subscriber). */
    std::chrono::nanoseconds timestamp{0};
    /** @brief The process, as the subscriber named it (the target's own pid for 0). */
    pid_t pid = 0;
    /** @brief TM_RECORD_* bits: exit_flag, reaped_flag, gap_flag. */
    std::uint32_t flags = 0;
    /** @brief CPU time in user mode so far. */
    std::chrono::nanoseconds user{0};
    /** @brief CPU time in kernel mode so far. */
    std::chrono::nanoseconds system{0};
    /** @brief Records dropped just before this one because the reader fell behind. */
    std::uint64_t lost = 0;

    /** @brief flags: the process exited; this is its last record (TM_RECORD_EXIT). */
    static constexpr std::uint32_t exit_flag = 1U << 0U;
    /**
     * @brief flags, with exit_flag: the process was reaped before the module
     *        saw it exit, so the times are the last sample's (TM_RECORD_REAPED).
     */
    static constexpr std::uint32_t reaped_flag = 1U << 1U;
    /**
     * @brief flags: the module skipped one or more periods just before this
     *        record, as its sampling ran a period or more late (TM_RECORD_GAP);
     *        the timestamps show the gap, which lost does not count.
     */
    static constexpr std::uint32_t gap_flag = 1U << 2U;

    /** @brief True for the last record of a process (it exited). */
    [[nodiscard]] constexpr bool exited() const noexcept { return (flags & exit_flag) != 0U; }
    /** @brief True when the exit was seen only after the reap (times of the last sample). */
    [[nodiscard]] constexpr bool reaped() const noexcept { return (flags & reaped_flag) != 0U; }
    /** @brief True when periods were skipped just before this record (gap_flag). */
    [[nodiscard]] constexpr bool gap() const noexcept { return (flags & gap_flag) != 0U; }
    /** @brief The CPU figures as a Sample, for operator- and cpu_percent(). */
    [[nodiscard]] constexpr Sample sample() const noexcept { return Sample{user, system}; }
};

/** @brief "seq S t T pid P usr U sys S[ lost L][ exited[ reaped]]" (nanoseconds). */
TASKMON_API std::ostream& operator<<(std::ostream& out, const StreamRecord& record);

/**
 * @brief A subscription to samples of some processes: the kernel samples
 *        them every period, on time, and queues one StreamRecord per
 *        process and period for this object alone.
 *
 * @code
 * taskmon::Stream stream{"/dev/taskmonitor", {pid1, pid2}, 100ms};
 * while (auto r = stream.next()) {      // blocks; std::nullopt: every process exited
 *     std::cout << r->pid << ' ' << r->user.count() << (r->exited() ? " exited" : "") << '\n';
 * }
 * @endcode
 *
 * Each Stream opens its own file of the device, read-only (subscribing is
 * reading, not steering), and subscribes it once: streams never share
 * records, nor touch the module's target or thread.  The stream ends
 * (next() returns std::nullopt) once every process's exit record was
 * returned.  Closing (or destroying) the Stream ends the subscription.
 *
 * Event loops: fd() is non-blocking and becomes readable (POLLIN) while
 * records wait, and POLLHUP at the end; on readiness call try_next() until
 * it returns std::nullopt, then check ended().
 *
 * Errors: taskmon::Error subclasses, as Monitor's.  Checks made without
 * asking the kernel (no pids, more than max_pids, a negative pid, a period
 * or ring size out of bounds) throw InvalidArgument.  Calling next() or
 * try_next() on a closed Stream throws Error (EBADF).
 *
 * Move-only.  next(), try_next(), lost() and ended() may be called from
 * several threads at once (each record goes to one of them); close(),
 * moving and destruction must not race with any other call.
 */
class TASKMON_API Stream final : public DeviceHandle {
public:
    /** @brief The shortest period the kernel takes (TM_STREAM_PERIOD_MIN_NS). */
    static constexpr std::chrono::nanoseconds min_period{10'000'000};
    /** @brief The longest period (TM_STREAM_PERIOD_MAX_NS): one hour. */
    static constexpr std::chrono::nanoseconds max_period{3'600'000'000'000};
    /** @brief The default period, the lab kthread's: one second. */
    static constexpr std::chrono::nanoseconds default_period{1'000'000'000};
    /** @brief The most pids one Stream follows (TM_STREAM_PIDS_MAX). */
    static constexpr std::size_t max_pids = 1024;
    /** @brief The largest ring, in records (TM_STREAM_RING_MAX); 0 asks for the default, 256. */
    static constexpr std::uint32_t max_ring = 65536;

    /**
     * @brief Opens @p device read-only and subscribes it to @p count pids at @p pids.
     * @param pids   processes of the caller's pid namespace; 0 is the module's
     *               target at the time of the call (the stream then follows that
     *               process, not later changes of target)
     * @param period between two samples, min_period to max_period
     * @param ring   how many records the kernel queues for this reader before
     *               dropping the oldest (counted in lost()); 0 for its default
     * @throws InvalidArgument (checked here), DeviceNotFound, PermissionDenied,
     *         NoSuchProcess (a pid that is not a live process; pid() names it
     *         when it can be found), NoTarget (pid 0 without a target),
     *         NotSupported (a module without streams), Error.
     */
    Stream(const std::filesystem::path& device, const pid_t* pids, std::size_t count,
           std::chrono::nanoseconds period = default_period, std::uint32_t ring = 0);

    /** @brief Stream(device, pids.data(), pids.size(), period, ring). */
    Stream(const std::filesystem::path& device, const std::vector<pid_t>& pids,
           std::chrono::nanoseconds period = default_period, std::uint32_t ring = 0)
        : Stream(device, pids.data(), pids.size(), period, ring)
    {}

    /**
     * @brief A stream on the device @p monitor opened (its path; a new file,
     *        read-only, whatever the Monitor's access).
     */
    Stream(const Monitor& monitor, const std::vector<pid_t>& pids,
           std::chrono::nanoseconds period = default_period, std::uint32_t ring = 0);

    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    Stream(Stream&& other) noexcept;
    Stream& operator=(Stream&& other) noexcept;
    ~Stream();

    // operator bool(), close(), fd() and path(): see DeviceHandle.

    /**
     * @brief The next record, waiting for it (interrupted system calls are
     *        retried); std::nullopt once the stream ended.
     */
    [[nodiscard]] std::optional<StreamRecord> next();

    /**
     * @brief The next record if one is queued, else std::nullopt at once
     *        (ended() tells the end of the stream from an empty queue).
     */
    [[nodiscard]] std::optional<StreamRecord> try_next();

    /** @brief True once every process's exit record was returned: nothing follows. */
    [[nodiscard]] bool ended() const noexcept;

    /** @brief Records lost so far in all (the sum of the records' lost). */
    [[nodiscard]] std::uint64_t lost() const noexcept;

    /** @brief The sampling period asked for (default_period for 0). */
    [[nodiscard]] std::chrono::nanoseconds period() const noexcept;

    /** @brief The pids subscribed, as given (0 for the target); empty once moved from. */
    [[nodiscard]] std::vector<pid_t> pids() const;

private:
    class Impl;
    [[nodiscard]] TASKMON_LOCAL const Impl& impl() const;
};

} // namespace taskmon

#endif // TASKMON_STREAM_HPP
