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
    /** True when the device was opened for writing (O_RDWR). */
    bool writable = false;
    /**
     * True for a check libtaskmon made without asking the kernel: then
     * @ref operation names the library call (e.g. "set_target"), not an ioctl.
     */
    bool local = false;
};

/** True for the requests docs/security.md calls steering: TM_PID setting a pid, TM_START, TM_STOP.
 */
bool is_steering(const ErrorContext& ctx);

/** The message of the exception throw_from_errno() throws: what, why, and the fix. */
std::string error_message(int errnum, const ErrorContext& ctx);

/**
 * The one place that maps an errno value to an exception: throws the
 * taskmon::Error subclass for @p errnum with error_message() as what().
 */
[[noreturn]] void throw_from_errno(int errnum, const ErrorContext& ctx);

/**
 * An open device file: owns the descriptor, issues ioctls, and turns their
 * failures into exceptions.  Neither copyable nor movable (DeviceHandle, the
 * public classes' base, holds it behind a pointer); Monitor's own state
 * lives in a subclass.
 */
class Device {
public:
    /**
     * Opens @p path close-on-exec, read-only or (@p writable) read-write;
     * throws on failure.  @p module names the kernel module in messages,
     * @p owner the public class ("taskmon::Monitor") for a closed one.
     */
    Device(std::filesystem::path path, std::string_view module, std::string_view owner,
           bool writable = false);
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;
    Device(Device&&) = delete;
    Device& operator=(Device&&) = delete;
    virtual ~Device();

    void close() noexcept;
    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] bool writable() const noexcept { return writable_; }

    /** The context of an error of @p operation on this device. */
    [[nodiscard]] ErrorContext context(std::string_view operation, pid_t pid = 0,
                                       bool target = false) const;

    /** ioctl(2), retried on EINTR; returns 0 or the errno value. */
    [[nodiscard]] int try_ioctl(unsigned long request, void* arg) const noexcept;

    /** ioctl(2) that throws through throw_from_errno() on failure. */
    void ioctl(unsigned long request, void* arg, std::string_view name, pid_t pid = 0) const;

    /** Throws the exception for @p errnum raised by @p operation. */
    [[noreturn]] void fail(int errnum, std::string_view operation, pid_t pid = 0) const;

    /**
     * Throws InvalidArgument (EINVAL) for the library call @p operation,
     * saying the check was made without asking the kernel.
     */
    [[noreturn]] void refuse_pid(std::string_view operation, pid_t pid) const;

    /** Throws Error(EBADF) naming the public class unless the descriptor is open. */
    void check_open() const;

private:
    std::filesystem::path path_;
    std::string_view module_;
    std::string_view owner_;
    bool writable_ = false;
    // Written only by the constructor and close(), which must not race with
    // other calls (the public classes' thread-safety contract).
    int fd_ = -1;
};

/** The Stats of a struct taskmon_stats the kernel filled: only the fields of its mask. */
Stats stats_from_raw(const taskmon_stats& raw);

/** Throws Error(EBADF) for a call on a closed or moved-from @p what ("taskmon::Monitor"). */
[[noreturn]] void throw_closed(std::string_view what, const std::filesystem::path& device = {});

} // namespace taskmon::detail

#endif // TASKMON_SRC_INTERNAL_HPP
