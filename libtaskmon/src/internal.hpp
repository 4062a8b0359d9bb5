// SPDX-License-Identifier: LGPL-2.1-or-later
//
// Internal to libtaskmon: not installed, not exported.
#ifndef TASKMON_SRC_INTERNAL_HPP
#define TASKMON_SRC_INTERNAL_HPP

#include <taskmon/taskmon.hpp>

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

struct taskmon_stats; // <linux/taskmon.h>

namespace taskmon::detail {

/** What was being done when a system call failed; feeds the error message. */
struct ErrorContext {
    /** "open", or the ioctl request's name, e.g. "TM_GET". */
    std::string_view operation;
    /** The device file. */
    std::filesystem::path device;
    /** The kernel module that provides the device, e.g. "taskmonitor". */
    std::string_view module;
    /** The pid concerned (argument of TM_PID or TM_STATS, or the target), 0 if none or unknown. */
    pid_t pid = 0;
    /** True when @ref pid is the module's target (TM_STATS with pid 0), not a pid asked for. */
    bool target = false;
};

/** The message of the exception throw_from_errno() throws: what, why, and the fix. */
std::string error_message(int errnum, const ErrorContext& ctx);

/**
 * The one place that maps an errno value to an exception: throws the
 * taskmon::Error subclass for @p errnum with error_message() as what().
 */
[[noreturn]] void throw_from_errno(int errnum, const ErrorContext& ctx);

/**
 * An open device file: owns the descriptor, issues ioctls, and turns their
 * failures into exceptions.  Neither copyable nor movable (the public classes
 * hold it behind a pointer).
 */
class Device {
public:
    /** Opens @p path read-only and close-on-exec; throws on failure. */
    Device(std::filesystem::path path, std::string_view module);
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;
    Device(Device&&) = delete;
    Device& operator=(Device&&) = delete;
    ~Device();

    void close() noexcept;
    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

    /** ioctl(2), retried on EINTR; returns 0 or the errno value. */
    [[nodiscard]] int try_ioctl(unsigned long request, void* arg) const noexcept;

    /** ioctl(2) that throws through throw_from_errno() on failure. */
    void ioctl(unsigned long request, void* arg, std::string_view name, pid_t pid = 0) const;

    /** Throws the exception for @p errnum raised by @p operation. */
    [[noreturn]] void fail(int errnum, std::string_view operation, pid_t pid = 0) const;

    /** Throws Error(EBADF) unless the descriptor is open. */
    void check_open() const;

private:
    std::filesystem::path path_;
    std::string_view module_;
    int fd_ = -1;
};

/** The Stats of a struct taskmon_stats the kernel filled: only the fields of its mask. */
Stats stats_from_raw(const taskmon_stats& raw);

/** Throws Error(EBADF) naming @p what; for calls on moved-from objects. */
[[noreturn]] void throw_closed(std::string_view what);

} // namespace taskmon::detail

#endif // TASKMON_SRC_INTERNAL_HPP
