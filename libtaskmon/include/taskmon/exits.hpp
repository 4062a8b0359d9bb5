// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * @file exits.hpp
 * @brief Exits: one record for every process of the caller's pid namespace
 *        that exits (TM_SUBSCRIBE_EXITS, read(), poll()).  docs/exits.md.
 */
#ifndef TASKMON_EXITS_HPP
#define TASKMON_EXITS_HPP

#if !defined(TASKMON_TASKMON_HPP_INSIDE)
#error "Only <taskmon/taskmon.hpp> can be included directly."
#endif

#include <taskmon/device_handle.hpp>
#include <taskmon/export.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

namespace taskmon {

class Monitor;

/**
 * @brief The end of one process, as the kernel recorded it when its last
 *        thread exited (struct taskmon_exit).
 */
struct ExitRecord {
    /** @brief The record's number in its subscription, from 0; a gap is lost records. */
    std::uint64_t seq = 0;
    /** @brief Records dropped just before this one because the reader fell behind. */
    std::uint64_t lost = 0;
    /** @brief The process id, in the subscriber's pid namespace. */
    pid_t pid = 0;
    /** @brief Its parent's when it exited (0 if not visible there). */
    pid_t ppid = 0;
    /** @brief Its real user id, in the subscriber's user namespace. */
    uid_t uid = 0;
    /** @brief Its exit status as wait4() reports it (see exited(), signaled()). */
    int status = 0;
    /** @brief When it started (CLOCK_BOOTTIME of the subscriber, as Stats::start_time). */
    std::chrono::nanoseconds start_time{0};
    /** @brief When its last thread exited (the same clock). */
    std::chrono::nanoseconds exit_time{0};
    /** @brief Its final CPU time in user mode, every thread's. */
    std::chrono::nanoseconds user{0};
    /** @brief Its final CPU time in kernel mode, every thread's. */
    std::chrono::nanoseconds system{0};
    /** @brief User time of its children that it waited for (wait4()'s rusage adds both). */
    std::chrono::nanoseconds children_user{0};
    /** @brief System time of its children that it waited for. */
    std::chrono::nanoseconds children_system{0};
    /** @brief Its peak resident memory, bytes (getrusage()'s ru_maxrss, in bytes). */
    std::uint64_t max_rss_bytes = 0;
    /** @brief Page faults without I/O, every thread's. */
    std::uint64_t minor_faults = 0;
    /** @brief Page faults with I/O, every thread's. */
    std::uint64_t major_faults = 0;
    /** @brief Context switches by waiting, every thread's. */
    std::uint64_t voluntary_ctxsw = 0;
    /** @brief Context switches by preemption, every thread's. */
    std::uint64_t involuntary_ctxsw = 0;
    /** @brief Its name (the thread group leader's comm), raw bytes, at most 15. */
    std::string comm;

    /** @brief True when it called exit() or returned from main (WIFEXITED). */
    [[nodiscard]] bool exited() const noexcept { return (status & 0x7f) == 0; }
    /** @brief Its exit code (WEXITSTATUS); meaningful when exited(). */
    [[nodiscard]] int exit_code() const noexcept { return (status >> 8) & 0xff; }
    /** @brief True when a signal ended it (WIFSIGNALED). */
    [[nodiscard]] bool signaled() const noexcept
    {
        return (status & 0x7f) != 0 && (status & 0x7f) != 0x7f;
    }
    /** @brief The signal that ended it (WTERMSIG); meaningful when signaled(). */
    [[nodiscard]] int term_signal() const noexcept { return status & 0x7f; }
    /** @brief True when it dumped core (WCOREDUMP); meaningful when signaled(). */
    [[nodiscard]] bool core_dumped() const noexcept { return (status & 0x80) != 0; }
    /** @brief How long it lived: exit_time - start_time. */
    [[nodiscard]] std::chrono::nanoseconds lifetime() const noexcept
    {
        return exit_time - start_time;
    }
};

/**
 * @brief "seq S pid P ppid Q uid U exit N|signal N usr U sys S rss R comm C[ lost L]"
 *        (times in nanoseconds; comm as its raw bytes).
 */
TASKMON_API std::ostream& operator<<(std::ostream& out, const ExitRecord& record);

/**
 * @brief A subscription to the exit of every process of the caller's pid
 *        namespace: the kernel queues one ExitRecord per process that exits
 *        from then on, short-lived ones included, for this object alone.
 *
 * @code
 * taskmon::Exits exits{"/dev/taskmonitor"};
 * for (;;) {
 *     const taskmon::ExitRecord r = exits.next();    // blocks until an exit
 *     std::cout << r.pid << ' ' << r.comm << ' ' << r.exit_code() << '\n';
 * }
 * @endcode
 *
 * Each Exits opens its own file of the device, read-only, and subscribes
 * it once.  The subscription never ends; closing (or destroying) the
 * Exits ends it.  A reader that falls more than the ring's size behind
 * loses the oldest records, counted in the next record's lost and in
 * lost(); it slows no exiting process.  Under the module's access=ptrace,
 * a subscriber without CAP_SYS_PTRACE, CAP_PERFMON or CAP_SYS_ADMIN sees
 * only the exits of processes whose ids all equal its own (docs/exits.md).
 *
 * Event loops: fd() is non-blocking and becomes readable (POLLIN) while
 * records wait; on readiness call try_next() until it returns std::nullopt.
 *
 * Errors: taskmon::Error subclasses, as Monitor's.  A ring size above
 * max_ring throws InvalidArgument without asking the kernel; a module
 * without the request, or a kernel without the exit tracepoint, throws
 * NotSupported.  Calling next() or try_next() on a closed Exits throws
 * Error (EBADF).
 *
 * Move-only.  next(), try_next() and lost() may be called from several
 * threads at once (each record goes to one of them); close(), moving and
 * destruction must not race with any other call.
 */
class TASKMON_API Exits final : public DeviceHandle {
public:
    /** @brief The ring the kernel gives for 0 (TM_EXITS_RING_DEFAULT). */
    static constexpr std::uint32_t default_ring = 4096;
    /** @brief The largest ring, in records (TM_EXITS_RING_MAX). */
    static constexpr std::uint32_t max_ring = 65536;

    /**
     * @brief Opens @p device read-only and subscribes it to every exit.
     * @param ring how many records the kernel queues for this reader before
     *             dropping the oldest (counted in lost()); 0 for default_ring
     * @throws InvalidArgument (ring above max_ring, checked here),
     *         DeviceNotFound, PermissionDenied, NotSupported (a module
     *         without exit records), Error (EDQUOT: too many subscriptions
     *         of this user; ENOMEM: the ring does not fit the memory cgroup).
     */
    explicit Exits(const std::filesystem::path& device, std::uint32_t ring = 0);

    /**
     * @brief Exits on the device @p monitor opened (its path; a new file,
     *        read-only, whatever the Monitor's access).
     */
    explicit Exits(const Monitor& monitor, std::uint32_t ring = 0);

    Exits(const Exits&) = delete;
    Exits& operator=(const Exits&) = delete;
    Exits(Exits&& other) noexcept;
    Exits& operator=(Exits&& other) noexcept;
    ~Exits();

    // operator bool(), close(), fd() and path(): see DeviceHandle.

    /**
     * @brief The next record, waiting for it as long as it takes
     *        (interrupted system calls are retried).
     */
    [[nodiscard]] ExitRecord next();

    /** @brief The next record if one is queued, else std::nullopt at once. */
    [[nodiscard]] std::optional<ExitRecord> try_next();

    /** @brief Records lost so far in all (the sum of the records' lost). */
    [[nodiscard]] std::uint64_t lost() const noexcept;

    /** @brief The ring size asked for (0 for the default); 0 once moved from. */
    [[nodiscard]] std::uint32_t ring() const noexcept;

private:
    class Impl;
    [[nodiscard]] TASKMON_LOCAL const Impl& impl() const;
};

} // namespace taskmon

#endif // TASKMON_EXITS_HPP
