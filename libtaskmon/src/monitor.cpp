// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon::Monitor: /dev/taskmonitor.
#include "internal.hpp"

#include <linux/taskmon.h>

#include <cerrno>
#include <cstring>
#include <limits>

namespace taskmon {

namespace {

constexpr std::string_view module_name = "taskmonitor";

std::chrono::nanoseconds to_ns(__u64 value) noexcept
{
    // 2^63 ns is 292 years of CPU time: saturate rather than wrap.
    constexpr auto max =
        static_cast<__u64>(std::numeric_limits<std::chrono::nanoseconds::rep>::max());
    return std::chrono::nanoseconds(
        static_cast<std::chrono::nanoseconds::rep>(value > max ? max : value));
}

} // namespace

struct Monitor::Impl {
    explicit Impl(const std::filesystem::path& path) : device(path, module_name) {}

    // The target's pid for an error message, or 0 if the kernel no longer says.
    [[nodiscard]] pid_t target_for_message() const noexcept
    {
        __kernel_pid_t pid = -1;
        return device.try_ioctl(TM_PID, &pid) == 0 && pid > 0 ? pid : 0;
    }

    // Issues a TM_GET-like request; on ESRCH names the exited target if possible.
    void get(unsigned long request, void* arg, std::string_view name) const
    {
        device.check_open();
        const int err = device.try_ioctl(request, arg);
        if (err == ESRCH) {
            device.fail(err, name, target_for_message());
        }
        if (err != 0) {
            device.fail(err, name);
        }
    }

    detail::Device device;
};

Monitor::Monitor() : Monitor(std::filesystem::path(default_path))
{}

Monitor::Monitor(const std::filesystem::path& path) : impl_(std::make_unique<Impl>(path))
{}

Monitor::Monitor(Monitor&& other) noexcept = default;
Monitor& Monitor::operator=(Monitor&& other) noexcept = default;
Monitor::~Monitor() = default;

Monitor::operator bool() const noexcept
{
    return impl_ && impl_->device.fd() >= 0;
}

void Monitor::close() noexcept
{
    if (impl_) {
        impl_->device.close();
    }
}

int Monitor::fd() const noexcept
{
    return impl_ ? impl_->device.fd() : -1;
}

std::filesystem::path Monitor::path() const
{
    return impl_ ? impl_->device.path() : std::filesystem::path{};
}

Sample Monitor::sample() const
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    task_sample raw{};
    impl_->get(TM_GET, &raw, "TM_GET");
    return Sample{to_ns(raw.utime), to_ns(raw.stime)};
}

std::string Monitor::sample_text() const
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    task_sample_text raw{};
    impl_->get(TM_GET_TEXT, &raw, "TM_GET_TEXT");
    // The kernel NUL-terminates; never trust that past the buffer.
    return {static_cast<const char*>(raw.text), ::strnlen(raw.text, sizeof(raw.text))};
}

void Monitor::start()
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    impl_->device.ioctl(TM_START, nullptr, "TM_START");
}

void Monitor::stop()
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    impl_->device.ioctl(TM_STOP, nullptr, "TM_STOP");
}

pid_t Monitor::target() const
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    __kernel_pid_t pid = -1; // negative: read the target
    impl_->device.ioctl(TM_PID, &pid, "TM_PID");
    return pid;
}

void Monitor::set_target(pid_t pid)
{
    if (!impl_) {
        detail::throw_closed("taskmon::Monitor");
    }
    if (pid <= 0) {
        // A negative value would *read* the target and 0 is EINVAL: refuse
        // both here, with the kernel's answer for 0.
        impl_->device.fail(EINVAL, "TM_PID", pid);
    }
    __kernel_pid_t arg = pid;
    impl_->device.ioctl(TM_PID, &arg, "TM_PID", pid);
}

} // namespace taskmon
