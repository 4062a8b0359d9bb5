// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * @file error.hpp
 * @brief The exceptions libtaskmon throws.
 *
 * Every failure of a system call is reported as a taskmon::Error (a
 * std::system_error) whose code() is std::error_code(errno,
 * std::generic_category()), so it compares equal to std::errc values:
 *
 * @code
 * try {
 *     monitor.set_target(pid);
 * } catch (const taskmon::NoSuchProcess& e) {
 *     std::cerr << e.what() << '\n';  // "TM_PID on /dev/taskmonitor for pid 42 failed: ..."
 *     use(e.pid(), e.operation(), e.device());
 * } catch (const std::system_error& e) {
 *     if (e.code() == std::errc::permission_denied) ...
 * }
 * @endcode
 *
 * what() says what failed and why, in the kernel's and the module's terms:
 * "WHAT: STRERROR (WHY)", e.g. "cannot open /dev/taskmonitor: Permission
 * denied (the device is root:taskmon 0640: reading needs membership of its
 * group taskmon)".  It gives no advice in terms of one front end (a command
 * or a language binding): each adds its own, and can build it from the
 * structured accessors operation(), device() and pid().
 *
 * The subclasses let a program react to the common cases:
 *
 * | errno                  | class            |
 * |------------------------|------------------|
 * | ENOENT, ENODEV, ENXIO  | DeviceNotFound   |
 * | EACCES, EPERM          | PermissionDenied |
 * | EBADF (steering request on a read-only Monitor) | PermissionDenied |
 * | ENOTTY                 | NotSupported     |
 * | ENODATA                | NoTarget         |
 * | ESRCH                  | NoSuchProcess    |
 * | EINVAL                 | InvalidArgument  |
 * | anything else          | Error            |
 *
 * The access model (docs/security.md): opening refused by the device's
 * permissions is EACCES; steering (set_target(), start(), stop()) through a
 * Monitor opened with Access::read is EBADF, and without CAP_SYS_ADMIN in
 * the initial user namespace EPERM; all three are PermissionDenied, whose
 * what() names the rule that refused.
 *
 * A check libtaskmon makes without asking the kernel (a pid <= 0) says so
 * in what(), and operation() is then the library call ("set_target",
 * "stats"), not an ioctl.  Calling an operation on a closed or moved-from
 * object throws Error with EBADF.  Exception objects are cheap and nothrow
 * to copy.
 */
#ifndef TASKMON_ERROR_HPP
#define TASKMON_ERROR_HPP

#if !defined(TASKMON_TASKMON_HPP_INSIDE)
#error "Only <taskmon/taskmon.hpp> can be included directly."
#endif

#include <taskmon/export.hpp>

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

namespace taskmon {

/**
 * @brief Base class of every exception libtaskmon throws.
 */
class TASKMON_API Error : public std::system_error {
public:
    /**
     * @param errnum  the errno value; code() is {errnum, std::generic_category()}
     * @param message the complete, human-readable message returned by what()
     * @param device  the device file involved, if any
     */
    Error(int errnum, const std::string& message, const std::filesystem::path& device = {});

    /**
     * @param errnum    the errno value
     * @param message   what() returns
     * @param device    the device file involved, or an empty path
     * @param operation what failed: "open", the ioctl request ("TM_GET"), or
     *                  the library call for a check made without the kernel
     * @param pid       the process concerned, 0 if none or unknown
     */
    Error(int errnum, const std::string& message, const std::filesystem::path& device,
          const std::string& operation, pid_t pid = 0);
    Error(const Error& other) noexcept;
    Error(Error&& other) noexcept;
    Error& operator=(const Error& other) noexcept;
    Error& operator=(Error&& other) noexcept;
    ~Error() override;

    /** @brief The complete message: what failed and why. */
    [[nodiscard]] const char* what() const noexcept override;

    /** @brief The errno value, same as code().value(). */
    [[nodiscard]] int errnum() const noexcept;

    /** @brief The device file involved, or an empty path. */
    [[nodiscard]] std::filesystem::path device() const;

    /**
     * @brief What failed: "open", an ioctl request such as "TM_GET" or
     *        "TM_PID", or the library call ("set_target", "stats") for a check
     *        made without asking the kernel; empty if unknown.
     */
    [[nodiscard]] std::string operation() const;

    /**
     * @brief The process concerned, 0 if none or unknown: the pid asked
     *        for, or the monitored process that exited (0 once the kernel no
     *        longer says which one it was and this Monitor never saw it).
     */
    [[nodiscard]] pid_t pid() const noexcept;

private:
    struct Detail;
    std::shared_ptr<const Detail> detail_;
};

/**
 * @brief The device file does not exist (ENOENT, ENODEV, ENXIO): the kernel
 *        module is most likely not loaded.
 */
class TASKMON_API DeviceNotFound : public Error {
public:
    using Error::Error;
};

/**
 * @brief The caller may not open the device or make the request: EACCES
 *        (the device's permissions), EPERM (no CAP_SYS_ADMIN for steering),
 *        or EBADF (steering through a Monitor opened with Access::read).
 */
class TASKMON_API PermissionDenied : public Error {
public:
    using Error::Error;
};

/**
 * @brief The file does not understand the request (ENOTTY): it is not a
 *        taskmon device, or the loaded module is older than the library.
 */
class TASKMON_API NotSupported : public Error {
public:
    using Error::Error;
};

/** @brief No target process is set (ENODATA). */
class TASKMON_API NoTarget : public Error {
public:
    using Error::Error;
};

/**
 * @brief The process does not exist or has exited (ESRCH); pid() says which
 *        (the one asked for, or the monitored process that exited; 0 if
 *        unknown).
 */
class TASKMON_API NoSuchProcess : public Error {
public:
    using Error::Error;

    /**
     * @param pid     the process id concerned, or 0 if unknown
     * @param message the complete message returned by what()
     * @param device  the device file involved, if any
     */
    NoSuchProcess(pid_t pid, const std::string& message, const std::filesystem::path& device = {});
};

/**
 * @brief An argument was refused (EINVAL), e.g. a pid <= 0, whether by the
 *        kernel or by libtaskmon before asking it (what() says which).
 */
class TASKMON_API InvalidArgument : public Error {
public:
    using Error::Error;
};

} // namespace taskmon

#endif // TASKMON_ERROR_HPP
