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
 *     std::cerr << e.what() << '\n';  // names the pid and what to do
 * } catch (const std::system_error& e) {
 *     if (e.code() == std::errc::permission_denied) ...
 * }
 * @endcode
 *
 * what() is a complete sentence for a person: what failed, why and how to
 * fix it.  The subclasses let a program react to the common cases:
 *
 * | errno                  | class            |
 * |------------------------|------------------|
 * | ENOENT, ENODEV, ENXIO  | DeviceNotFound   |
 * | EACCES, EPERM          | PermissionDenied |
 * | ENOTTY                 | NotSupported     |
 * | ENODATA                | NoTarget         |
 * | ESRCH                  | NoSuchProcess    |
 * | anything else          | Error            |
 *
 * Calling an operation on a closed or moved-from object throws Error with
 * EBADF.  Exception objects are cheap and nothrow to copy.
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
    Error(const Error& other) noexcept;
    Error(Error&& other) noexcept;
    Error& operator=(const Error& other) noexcept;
    Error& operator=(Error&& other) noexcept;
    ~Error() override;

    /** @brief The complete message: what failed, the cause and the fix. */
    [[nodiscard]] const char* what() const noexcept override;

    /** @brief The errno value, same as code().value(). */
    [[nodiscard]] int errnum() const noexcept;

    /** @brief The device file involved, or an empty path. */
    [[nodiscard]] std::filesystem::path device() const;

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

/** @brief The caller may not open the device or issue the request (EACCES, EPERM). */
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
 * @brief The process does not exist or has exited (ESRCH).
 */
class TASKMON_API NoSuchProcess : public Error {
public:
    /**
     * @param pid     the process id concerned, or 0 if unknown
     * @param message the complete message returned by what()
     * @param device  the device file involved, if any
     */
    NoSuchProcess(pid_t pid, const std::string& message, const std::filesystem::path& device = {});

    /**
     * @brief The pid that does not exist: the one passed to set_target(), or
     *        the monitored process that exited (0 if the kernel no longer
     *        says which one it was).
     */
    [[nodiscard]] pid_t pid() const noexcept;

private:
    pid_t pid_;
};

} // namespace taskmon

#endif // TASKMON_ERROR_HPP
