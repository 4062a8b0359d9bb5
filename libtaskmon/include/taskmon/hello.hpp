// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * @file hello.hpp
 * @brief Hello: the /dev/hello device of helloioctl.ko.
 */
#ifndef TASKMON_HELLO_HPP
#define TASKMON_HELLO_HPP

#if !defined(TASKMON_TASKMON_HPP_INSIDE)
#error "Only <taskmon/taskmon.hpp> can be included directly."
#endif

#include <taskmon/device_handle.hpp>
#include <taskmon/export.hpp>

#include <filesystem>
#include <memory>
#include <string>

namespace taskmon {

/**
 * @brief An open /dev/hello, whose only request, HELLO, returns a greeting.
 *
 * Ownership, errors and thread safety are as for Monitor: move-only RAII
 * owner of one descriptor; message() may be called from many threads at
 * once, but close(), moves and destruction must not race with other calls.
 */
class TASKMON_API Hello final : public DeviceHandle {
public:
    /** @brief The device file helloioctl.ko creates. */
    static constexpr const char* default_path = "/dev/hello";

    /** @brief Opens default_path. */
    Hello();

    /** @brief Opens the given device file; throws as Monitor's constructor does. */
    explicit Hello(const std::filesystem::path& path);

    Hello(const Hello&) = delete;
    Hello& operator=(const Hello&) = delete;
    Hello(Hello&& other) noexcept;
    Hello& operator=(Hello&& other) noexcept;
    ~Hello();

    // operator bool(), close(), fd() and path(): see DeviceHandle.

    /** @brief Issues HELLO and returns the module's string ("Hello ioctl!"). */
    [[nodiscard]] std::string message() const;
};

} // namespace taskmon

#endif // TASKMON_HELLO_HPP
