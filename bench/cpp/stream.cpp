// SPDX-License-Identifier: GPL-2.0-only
//
// stream/record: the cost to the reader of one record of a stream
// (TM_SUBSCRIBE) of 100 processes at 10 ms.  Each iteration read()s one
// record, blocking until the kernel has one; the time that counts is the
// reader's CPU time per record delivered (gbench's cpu_time), not the wall
// time, which is mostly waiting for the period.  Raw read(2) on a raw
// subscription: the kernel's path, as libtaskmon's Stream::next() does it.
// The 100 processes: the sleeping child and the first others TM_LIST lists,
// or more sleeping children where fewer exist.
#include "child.hpp"
#include "device.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
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
    std::vector<pid_t> pids = live_pids(state, fd.get(), stream_pids, sleeping_child().pid());
    if (state.error_occurred()) {
        return;
    }
    // A quiet system (the VM) may have fewer processes: sleeping children make up the rest.
    std::vector<std::unique_ptr<SleepingChild>> extra;
    while (pids.size() < stream_pids) {
        extra.push_back(std::make_unique<SleepingChild>());
        if (extra.back()->pid() < 0) {
            skip(state, errno_text("fork of a sleeping child", extra.back()->error()));
            return;
        }
        pids.push_back(extra.back()->pid());
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
