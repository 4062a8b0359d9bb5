// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * @file device_handle.hpp
 * @brief DeviceHandle: what Monitor and Hello share, an open device file.
 */
#ifndef TASKMON_DEVICE_HANDLE_HPP
#define TASKMON_DEVICE_HANDLE_HPP

#if !defined(TASKMON_TASKMON_HPP_INSIDE)
#error "Only <taskmon/taskmon.hpp> can be included directly."
#endif

#include <taskmon/export.hpp>

#include <filesystem>
#include <memory>

namespace taskmon {

namespace detail {
class Device;
} // namespace detail

/**
 * @brief The base of Monitor and Hello: owns one open file descriptor of a
 *        taskmon device and closes it when destroyed or close()d.
 *
 * Not usable on its own (its constructors are protected).  Move-only; a
 * moved-from handle is closed.  close(), moving and destruction must not
 * race with any other call on the same object; the other members may be
 * called from any number of threads at once.
 */
class TASKMON_API DeviceHandle {
public:
    DeviceHandle(const DeviceHandle&) = delete;
    DeviceHandle& operator=(const DeviceHandle&) = delete;

    /** @brief True while the device is open (not closed, not moved from). */
    explicit operator bool() const noexcept;

    /** @brief Closes the device; idempotent; never throws. */
    void close() noexcept;

    /** @brief The open file descriptor, or -1 when closed.  Still owned by this object. */
    [[nodiscard]] int fd() const noexcept;

    /** @brief The path that was opened (empty for a moved-from object). */
    [[nodiscard]] std::filesystem::path path() const;

protected:
    /** @brief Takes ownership of an open device (never null). */
    TASKMON_LOCAL explicit DeviceHandle(std::unique_ptr<detail::Device> device) noexcept;
    DeviceHandle(DeviceHandle&& other) noexcept;
    DeviceHandle& operator=(DeviceHandle&& other) noexcept;
    ~DeviceHandle();

    /**
     * @brief The open device: the one check that throws Error (EBADF) for
     *        a call on a closed or moved-from object.
     */
    [[nodiscard]] TASKMON_LOCAL const detail::Device& device() const;

    /** @brief The device, or nullptr once moved from (it may be closed). */
    [[nodiscard]] const detail::Device* device_if_any() const noexcept { return device_.get(); }

private:
    std::unique_ptr<detail::Device> device_;
};

} // namespace taskmon

#endif // TASKMON_DEVICE_HANDLE_HPP
