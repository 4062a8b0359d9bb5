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

#include <taskmon/export.hpp>
#include <taskmon/sample.hpp>

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>

namespace taskmon {

/**
 * @brief An open /dev/taskmonitor: read the CPU time of the monitored
 *        process, choose that process, start and stop the module's thread.
 *
 * @code
 * taskmon::Monitor monitor;                 // opens /dev/taskmonitor
 * monitor.set_target(pid);
 * taskmon::Sample s = monitor.sample();
 * std::cout << s.user.count() << " ns in user mode\n";
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
class TASKMON_API Monitor final {
public:
    /** @brief The device file taskmonitor.ko creates. */
    static constexpr const char* default_path = "/dev/taskmonitor";

    /** @brief Opens default_path. */
    Monitor();

    /**
     * @brief Opens the given device file (read-only, close-on-exec).
     * @throws DeviceNotFound, PermissionDenied, NotSupported (not a character
     *         device) or Error.
     */
    explicit Monitor(const std::filesystem::path& path);

    Monitor(const Monitor&) = delete;
    Monitor& operator=(const Monitor&) = delete;
    Monitor(Monitor&& other) noexcept;
    Monitor& operator=(Monitor&& other) noexcept;
    ~Monitor();

    /** @brief True while the device is open (not closed, not moved from). */
    explicit operator bool() const noexcept;

    /** @brief Closes the device; idempotent; never throws. */
    void close() noexcept;

    /** @brief The open file descriptor, or -1 when closed.  Still owned by the Monitor. */
    [[nodiscard]] int fd() const noexcept;

    /** @brief The path that was opened (empty for a moved-from Monitor). */
    [[nodiscard]] std::filesystem::path path() const;

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

    /** @brief Starts the module's monitoring thread (TM_START); a no-op if running. */
    void start();

    /** @brief Stops the module's monitoring thread (TM_STOP); a no-op if stopped. */
    void stop();

    /**
     * @brief The pid of the target, in the caller's pid namespace (TM_PID).
     * @throws NoTarget if none is set.
     */
    [[nodiscard]] pid_t target() const;

    /**
     * @brief Monitors process @p pid from now on (TM_PID).
     * @throws Error (EINVAL) if pid <= 0, without asking the kernel;
     *         NoSuchProcess if there is no such process, in which case the
     *         target is unchanged.
     */
    void set_target(pid_t pid);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace taskmon

#endif // TASKMON_MONITOR_HPP
