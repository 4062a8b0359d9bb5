// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon::Hello: /dev/hello.
#include "internal.hpp"

#include <linux/taskmon.h>

#include <array>
#include <cstring>

namespace taskmon {

Hello::Hello() : Hello(std::filesystem::path(default_path))
{}

Hello::Hello(const std::filesystem::path& path)
    : DeviceHandle(std::make_unique<detail::Device>(path, "helloioctl", "taskmon::Hello"))
{}

Hello::Hello(Hello&& other) noexcept = default;
Hello& Hello::operator=(Hello&& other) noexcept = default;
Hello::~Hello() = default;

std::string Hello::message() const
{
    std::array<char, HELLO_MSG_LEN> buf{};
    // HELLO's definition names char[HELLO_MSG_LEN] (the uapi's own C array).
    device().ioctl(HELLO, buf.data(), "HELLO"); // NOLINT(modernize-avoid-c-arrays)
    return {buf.data(), ::strnlen(buf.data(), buf.size())};
}

} // namespace taskmon
