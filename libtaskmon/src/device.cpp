// SPDX-License-Identifier: LGPL-2.1-or-later
//
// detail::Device: the file descriptor shared by Monitor and Hello.
#include "internal.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace taskmon::detail {

Device::Device(std::filesystem::path path, std::string_view module)
    : path_(std::move(path)), module_(module)
{
    // Read-only is enough for ioctl(2) and needs the least permission.
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg,hicpp-vararg): open(2)
    const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
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

void Device::fail(int errnum, std::string_view operation, pid_t pid) const
{
    throw_from_errno(errnum, ErrorContext{operation, path_, module_, pid});
}

void Device::check_open() const
{
    if (fd_ < 0) {
        throw_closed(path_.string());
    }
}

} // namespace taskmon::detail
