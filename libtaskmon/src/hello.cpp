// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon::Hello: /dev/hello.
#include "internal.hpp"

#include <linux/taskmon.h>

#include <array>
#include <cstring>

namespace taskmon {

struct Hello::Impl {
    explicit Impl(const std::filesystem::path& path) : device(path, "helloioctl") {}
    detail::Device device;
};

Hello::Hello() : Hello(std::filesystem::path(default_path))
{}

Hello::Hello(const std::filesystem::path& path) : impl_(std::make_unique<Impl>(path))
{}

Hello::Hello(Hello&& other) noexcept = default;
Hello& Hello::operator=(Hello&& other) noexcept = default;
Hello::~Hello() = default;

Hello::operator bool() const noexcept
{
    return impl_ && impl_->device.fd() >= 0;
}

void Hello::close() noexcept
{
    if (impl_) {
        impl_->device.close();
    }
}

int Hello::fd() const noexcept
{
    return impl_ ? impl_->device.fd() : -1;
}

std::filesystem::path Hello::path() const
{
    return impl_ ? impl_->device.path() : std::filesystem::path{};
}

std::string Hello::message() const
{
    if (!impl_) {
        detail::throw_closed("taskmon::Hello");
    }
    std::array<char, HELLO_MSG_LEN> buf{};
    // HELLO's definition names char[HELLO_MSG_LEN] (the uapi's own C array).
    impl_->device.ioctl(HELLO, buf.data(), "HELLO"); // NOLINT(modernize-avoid-c-arrays)
    return {buf.data(), ::strnlen(buf.data(), buf.size())};
}

} // namespace taskmon
