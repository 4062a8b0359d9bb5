// SPDX-License-Identifier: GPL-2.0-only
//
// stream/record: the cost to the reader of one record of a stream
// (TM_SUBSCRIBE) of 100 processes at 10 ms.  Each iteration read()s one
// record, blocking until the kernel has one; the time that counts is the
// reader's CPU time per record delivered (gbench's cpu_time), not the wall
// time, which is mostly waiting for the period.  Raw read(2) on a raw
// subscription: the kernel's path, as libtaskmon's Stream::next() does it.
#include "child.hpp"
#include "device.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

namespace taskmon::bench {
namespace {

constexpr std::size_t stream_pids = 100;
constexpr std::uint64_t stream_period_ns = 10'000'000; // TM_STREAM_PERIOD_MIN_NS
// Ten periods of records: a reader that is late by a few periods loses nothing.
constexpr std::uint32_t stream_ring = 1024;

void stream_record(benchmark::State& state)
{
    const Fd fd = open_or_skip(state, device_path, O_RDONLY);
    if (!fd) {
        return;
    }
    const std::vector<pid_t> pids = live_pids(state, fd.get(), stream_pids, sleeping_child().pid());
    if (state.error_occurred()) {
        return;
    }
    if (pids.size() < stream_pids) {
        skip(state, "TM_LIST lists " + std::to_string(pids.size()) + " processes, " +
                        std::to_string(stream_pids) + " needed");
        return;
    }
    taskmon_subscribe subscribe{};
    subscribe.count = static_cast<std::uint32_t>(pids.size());
    subscribe.period_ns = stream_period_ns;
    subscribe.ring = stream_ring;
    subscribe.pids = reinterpret_cast<std::uintptr_t>(pids.data());
    if (::ioctl(fd.get(), TM_SUBSCRIBE, &subscribe) < 0) { // NOLINT(*-vararg)
        skip(state, errno_text("TM_SUBSCRIBE", errno));
        return;
    }
    taskmon_record record{};
    std::uint64_t lost = 0;
    for (auto _ : state) {
        const ssize_t len = ::read(fd.get(), &record, sizeof(record));
        if (len != static_cast<ssize_t>(sizeof(record))) {
            skip(state, len < 0 ? errno_text("read of the stream", errno)
                                : std::string("the stream ended: every process exited"));
            break;
        }
        lost += record.lost;
        benchmark::DoNotOptimize(record);
    }
    state.counters["lost"] = static_cast<double>(lost);
}

} // namespace

// NOLINTNEXTLINE(cert-err58-cpp): registration at static initialisation is how gbench works
BENCHMARK(stream_record)->Name("stream/record");

} // namespace taskmon::bench
