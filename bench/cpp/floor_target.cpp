// SPDX-License-Identifier: GPL-2.0-only
//
// The floor (the cheapest round trips into the kernel) and the lab's
// original read paths of the target: TM_GET, TM_GET_TEXT and the sysfs
// file.  Raw ioctls on a kept descriptor, so that only the kernel's path is
// measured; the target is the sleeping child (child.hpp), set once.
#include "device.hpp"
#include "procfs.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdint>

namespace taskmon::bench {
namespace {

// A request number of taskmonitor's range (0x10-0x3f) that is not allocated:
// the device's ioctl handler answers it with ENOTTY after its dispatch.
constexpr unsigned long unknown_request = _IO(TASKMON_IOC_TYPE, 0x3f);

void floor_enotty(benchmark::State& state)
{
    const Fd fd = open_targeted_device(state);
    if (!fd) {
        return;
    }
    for (auto _ : state) {
        const int ret = ::ioctl(fd.get(), unknown_request); // NOLINT(*-vararg)
        if (ret != -1 || errno != ENOTTY) {
            skip(state, "the unknown request did not fail with ENOTTY");
            break;
        }
    }
}

void floor_getppid(benchmark::State& state)
{
    for (auto _ : state) {
        // syscall(), not getppid(): no C library may cache the answer.
        benchmark::DoNotOptimize(::syscall(SYS_getppid)); // NOLINT(*-vararg)
    }
}

void target_tm_get(benchmark::State& state)
{
    const Fd fd = open_targeted_device(state);
    if (!fd) {
        return;
    }
    task_sample sample{};
    for (auto _ : state) {
        if (::ioctl(fd.get(), TM_GET, &sample) < 0) { // NOLINT(*-vararg)
            skip(state, errno_text("TM_GET", errno));
            break;
        }
        benchmark::DoNotOptimize(sample);
    }
}

void target_tm_get_text(benchmark::State& state)
{
    const Fd fd = open_targeted_device(state);
    if (!fd) {
        return;
    }
    task_sample_text text{};
    for (auto _ : state) {
        if (::ioctl(fd.get(), TM_GET_TEXT, &text) < 0) { // NOLINT(*-vararg)
            skip(state, errno_text("TM_GET_TEXT", errno));
            break;
        }
        benchmark::DoNotOptimize(text);
    }
}

// "pid N usr U sys S\n" -> the three numbers.
bool parse_sample_line(const char* text, long len, std::array<std::uint64_t, 3>& values)
{
    const char* p = text;
    const char* end = text + len;
    for (std::uint64_t& value : values) {
        while (p < end && (*p < '0' || *p > '9')) {
            ++p;
        }
        if (p == end) {
            return false;
        }
        value = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            value = value * 10 + static_cast<std::uint64_t>(*p - '0');
            ++p;
        }
    }
    return true;
}

void target_sysfs_read(benchmark::State& state)
{
    if (!open_targeted_device(state)) { // the target stays set once the file is closed
        return;
    }
    const Fd fd = open_or_skip(state, sysfs_path, O_RDONLY);
    if (!fd) {
        return;
    }
    ProcBuffer buf{};
    std::array<std::uint64_t, 3> values{};
    for (auto _ : state) {
        const long len = pread_all(fd.get(), buf);
        if (len <= 0 || !parse_sample_line(buf.data(), len, values)) {
            skip(state, len < 0 ? errno_text(std::string("pread ") + sysfs_path, errno)
                                : std::string("unexpected text in ") + sysfs_path);
            break;
        }
        benchmark::DoNotOptimize(values);
    }
}

} // namespace

// NOLINTBEGIN(cert-err58-cpp): registration at static initialisation is how gbench works
BENCHMARK(floor_enotty)->Name("floor/enotty");
BENCHMARK(floor_getppid)->Name("floor/getppid");
BENCHMARK(target_tm_get)->Name("target/tm_get");
BENCHMARK(target_tm_get_text)->Name("target/tm_get_text");
BENCHMARK(target_sysfs_read)->Name("target/sysfs_read");
// NOLINTEND(cert-err58-cpp)

} // namespace taskmon::bench
