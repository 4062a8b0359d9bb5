// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * @file monitor.hpp
 * @brief Monitor: the /dev/taskmonitor device of taskmonitor.ko.
 */
#ifndef TASKMON_MONITOR_HPP
#define TASKMON_MONITOR_HPP

#if !defined(TASKMON_TASKMON_HPP_INSIDE)
#error "Only <taskmon/taskmon.hpp> can be included directly."
#endif

#include <taskmon/device_handle.hpp>
#include <taskmon/export.hpp>
#include <taskmon/sample.hpp>
#include <taskmon/stats.hpp>

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace taskmon {

/**
 * @brief How a Monitor opens the device: what docs/security.md calls
 *        reading and steering.
 *
 * The module lets whoever may open /dev/taskmonitor read (the device is
 * root:taskmon 0640 with the packages), but steering (set_target(),
 * start(), stop()) needs the file opened for writing and CAP_SYS_ADMIN.
 */
enum class Access {
    /** @brief Read-only (O_RDONLY): every reading request; steering fails (EBADF). */
    read,
    /** @brief Read-write (O_RDWR): reading and steering; opening needs write permission. */
    steer,
};

/**
 * @brief An open /dev/taskmonitor: read the CPU time of the monitored
 *        process, choose that process, start and stop the module's thread.
 *
 * @code
 * taskmon::Monitor monitor{taskmon::Access::steer}; // /dev/taskmonitor, read-write
 * monitor.set_target(pid);
 * taskmon::Sample s = monitor.sample();
 * std::cout << s.user.count() << " ns in user mode\n";
 *
 * taskmon::Stats st = monitor.stats(1);     // any process, target untouched
 * // only the name and the credentials: cheaper (no walk over the threads)
 * st = monitor.stats(1, taskmon::Field::comm | taskmon::Field::creds);
 * if (st.rss_anon_bytes) std::cout << *st.rss_anon_bytes << " bytes\n";
 * @endcode
 *
 * The target, and whether the thread runs, are state of the kernel module,
 * shared by every process that opens the device: a Monitor is only a handle
 * on it.
 *
 * Ownership: a Monitor owns one file descriptor and closes it when destroyed
 * or close()d.  It is move-only; a moved-from Monitor is closed.
 *
 * Errors: every operation throws a taskmon::Error (see error.hpp) on failure;
 * calling one on a closed Monitor throws Error with EBADF.  Destruction and
 * close() never throw.
 *
 * Thread safety: every const and non-const operation except close(), move
 * assignment and destruction may be called on the same Monitor from any
 * number of threads at once; each is a single ioctl(2) on the descriptor
 * and the object has no other mutable state.  close(), moving from, moving
 * into and destroying a Monitor must not race with any other call on it
 * (the descriptor number could be reused under a concurrent ioctl).
 */
class TASKMON_API Monitor final : public DeviceHandle {
public:
    /** @brief The device file taskmonitor.ko creates. */
    static constexpr const char* default_path = "/dev/taskmonitor";

    /** @brief Opens default_path for reading (Access::read). */
    Monitor();

    /** @brief Opens default_path with the given access. */
    explicit Monitor(Access access);

    /**
     * @brief Opens the given device file (close-on-exec), read-only for
     *        Access::read, read-write for Access::steer.
     * @throws DeviceNotFound, PermissionDenied (the device's permissions
     *         refuse @p access), NotSupported (not a character device) or Error.
     */
    explicit Monitor(const std::filesystem::path& path, Access access = Access::read);

    Monitor(const Monitor&) = delete;
    Monitor& operator=(const Monitor&) = delete;
    Monitor(Monitor&& other) noexcept;
    Monitor& operator=(Monitor&& other) noexcept;
    ~Monitor();

    // operator bool(), close(), fd() and path(): see DeviceHandle.

    /** @brief How the device was opened (Access::read for a moved-from Monitor). */
    [[nodiscard]] Access access() const noexcept;

    /**
     * @brief CPU time of the target (TM_GET).
     * @throws NoTarget if no target is set, NoSuchProcess if it has exited.
     */
    [[nodiscard]] Sample sample() const;

    /**
     * @brief The line /sys/kernel/taskmonitor shows, "pid N usr U sys S\n" (TM_GET_TEXT).
     * @throws NoTarget, NoSuchProcess as sample().
     */
    [[nodiscard]] std::string sample_text() const;

    /**
     * @brief Starts the module's monitoring thread (TM_START); a no-op if running.
     * @throws PermissionDenied: EBADF unless opened with Access::steer, EPERM
     *         without CAP_SYS_ADMIN.
     */
    void start();

    /** @brief Stops the module's monitoring thread (TM_STOP); a no-op if stopped; throws as
     * start(). */
    void stop();

    /**
     * @brief The pid of the target, in the caller's pid namespace (TM_PID).
     * @throws NoTarget if none is set; NoSuchProcess once the target has exited and been
     *         reaped (a zombie still answers), naming the pid this Monitor last set or read,
     *         else 0.
     */
    [[nodiscard]] pid_t target() const;

    /**
     * @brief Monitors process @p pid from now on (TM_PID).
     * @throws InvalidArgument (EINVAL) if pid <= 0, without asking the kernel;
     *         NoSuchProcess if there is no such process; PermissionDenied
     *         (EBADF unless opened with Access::steer, EPERM without
     *         CAP_SYS_ADMIN).  The target is unchanged whenever it throws.
     */
    void set_target(pid_t pid);

    /**
     * @brief Statistics of the target, and its pid, read in one step
     *        (TM_STATS with pid 0): unlike target() then sample(), the pid
     *        and the figures cannot belong to two different targets.
     *        Every group of fields: stats(Fields::all(), scope).
     * @param scope Scope::thread for the target's own thread only.
     * @throws NoTarget if no target is set; NoSuchProcess if it has exited;
     *         NotSupported if the loaded module predates TM_STATS.
     */
    [[nodiscard]] Stats stats(Scope scope = Scope::process) const;

    /**
     * @brief stats(Scope), asking the kernel only for the groups of
     *        @p fields (and those it fills at no cost): see Field.  The
     *        groups not filled are empty std::optionals.
     */
    [[nodiscard]] Stats stats(Fields fields, Scope scope = Scope::process) const;

    /**
     * @brief Statistics of any process (or, with Scope::thread, any thread)
     *        visible in the caller's pid namespace (TM_STATS).  Neither reads
     *        nor changes the module's target.  Every group of fields:
     *        stats(pid, Fields::all(), scope).
     * @throws Error (EINVAL) if pid <= 0, without asking the kernel (use
     *         stats(Scope) for the target); NoSuchProcess (naming @p pid) if
     *         there is no such visible process; NotSupported if the loaded
     *         module predates TM_STATS.
     */
    [[nodiscard]] Stats stats(pid_t pid, Scope scope = Scope::process) const;

    /**
     * @brief stats(pid, scope), asking the kernel only for the groups of
     *        @p fields (and those it fills at no cost): e.g. Field::comm |
     *        Field::creds costs neither the walk over the threads nor the
     *        per-CPU sums of the memory counters.  The groups not filled
     *        are empty std::optionals.
     */
    [[nodiscard]] Stats stats(pid_t pid, Fields fields, Scope scope = Scope::process) const;

    /**
     * @brief Statistics of many processes in as few calls as possible
     *        (TM_STATS_BATCH): one StatsResult per pid, in the same order,
     *        each with its own status, so that one exited pid does not fail
     *        the others.  Every group of fields: stats(pids, count,
     *        Fields::all(), scope).
     *
     * Any number of pids is accepted: more than the kernel's bound
     * (TM_STATS_BATCH_MAX, 4096) are sent in several batches, transparently,
     * so the answers are then not all read at the same instant.  A pid <= 0
     * gets EINVAL in its own result without being sent.  No pids: no call.
     * @throws NotSupported if the loaded module predates TM_STATS_BATCH, or
     *         Error for a failure of the call itself (never for one pid).
     */
    [[nodiscard]] std::vector<StatsResult> stats(const pid_t* pids, std::size_t count,
                                                 Scope scope = Scope::process) const;

    /**
     * @brief stats(pids, count, scope), asking the kernel only for the
     *        groups of @p fields for every pid (see stats(pid_t, Fields, Scope)).
     */
    [[nodiscard]] std::vector<StatsResult> stats(const pid_t* pids, std::size_t count,
                                                 Fields fields, Scope scope = Scope::process) const;

    /** @brief stats(pids.data(), pids.size(), scope). */
    [[nodiscard]] std::vector<StatsResult> stats(const std::vector<pid_t>& pids,
                                                 Scope scope = Scope::process) const
    {
        return stats(pids.data(), pids.size(), scope);
    }

    /** @brief stats(pids.data(), pids.size(), fields, scope). */
    [[nodiscard]] std::vector<StatsResult> stats(const std::vector<pid_t>& pids, Fields fields,
                                                 Scope scope = Scope::process) const
    {
        return stats(pids.data(), pids.size(), fields, scope);
    }

private:
    class Impl;
    [[nodiscard]] TASKMON_LOCAL const Impl& impl() const;
};

} // namespace taskmon

#endif // TASKMON_MONITOR_HPP
