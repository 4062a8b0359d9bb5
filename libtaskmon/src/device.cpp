// SPDX-License-Identifier: LGPL-2.1-or-later
//
// detail::Device, the file descriptor, and DeviceHandle, the base that
// Monitor and Hello share.
#include "internal.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace taskmon::detail {

Device::Device(std::filesystem::path path, std::string_view module, std::string_view owner,
               bool writable)
    : path_(std::move(path)), module_(module), owner_(owner), writable_(writable)
{
    // Read-only is enough for every reading request and needs the least
    // permission; the module refuses steering on it (EBADF).
    const int mode = writable_ ? O_RDWR : O_RDONLY;
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg,hicpp-vararg): open(2)
    const int fd = ::open(path_.c_str(), mode | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        fail(errno, "open");
    }
    fd_ = fd;

    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        const int err = errno;
        close();
        fail(err, "open");
    }
    if (!S_ISCHR(st.st_mode)) {
        close();
        fail(ENOTTY, "open");
    }
}

Device::~Device()
{
    close();
}

void Device::close() noexcept
{
    if (fd_ >= 0) {
        // Linux releases the descriptor even when close() reports an error
        // (EINTR included), so there is nothing to retry and nothing to report.
        static_cast<void>(::close(fd_));
        fd_ = -1;
    }
}

int Device::try_ioctl(unsigned long request, void* arg) const noexcept
{
    for (;;) {
        // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg,hicpp-vararg): ioctl(2)
        if (::ioctl(fd_, request, arg) == 0) {
            return 0;
        }
        if (errno != EINTR) {
            return errno;
        }
    }
}

void Device::ioctl(unsigned long request, void* arg, std::string_view name, pid_t pid) const
{
    check_open();
    const int err = try_ioctl(request, arg);
    if (err != 0) {
        fail(err, name, pid);
    }
}

ErrorContext Device::context(std::string_view operation, pid_t pid, bool target) const
{
    return ErrorContext{operation, path_, module_, pid, target, writable_};
}

void Device::fail(int errnum, std::string_view operation, pid_t pid) const
{
    throw_from_errno(errnum, context(operation, pid));
}

void Device::refuse_pid(std::string_view operation, pid_t pid) const
{
    ErrorContext ctx = context(operation, pid);
    ctx.local = true;
    throw_from_errno(EINVAL, ctx);
}

void Device::check_open() const
{
    if (fd_ < 0) {
        throw_closed(owner_, path_);
    }
}

} // namespace taskmon::detail

namespace taskmon {

DeviceHandle::DeviceHandle(std::unique_ptr<detail::Device> device) noexcept
    : device_(std::move(device))
{}

DeviceHandle::DeviceHandle(DeviceHandle&& other) noexcept = default;
DeviceHandle& DeviceHandle::operator=(DeviceHandle&& other) noexcept = default;
DeviceHandle::~DeviceHandle() = default;

DeviceHandle::operator bool() const noexcept
{
    return device_ && device_->fd() >= 0;
}

void DeviceHandle::close() noexcept
{
    if (device_) {
        device_->close();
    }
}

int DeviceHandle::fd() const noexcept
{
    return device_ ? device_->fd() : -1;
}

std::filesystem::path DeviceHandle::path() const
{
    return device_ ? device_->path() : std::filesystem::path{};
}

const detail::Device& DeviceHandle::device() const
{
    if (!device_) {
        // Moved from: no path, no class name; say what it is.
        detail::throw_closed("this taskmon object");
    }
    device_->check_open();
    return *device_;
}

} // namespace taskmon
