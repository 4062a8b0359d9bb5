// SPDX-License-Identifier: GPL-2.0-only
//
// The BPF task iterator, as a program that lists processes with one reads
// it: bench/run-guest pins an iter:task program with bpftrace (once: its
// start-up, compiling the program, is not part of a listing) to the path in
// TASKMON_BENCH_BPF_ITER, and each iteration here opens that file, reads
// the iterator's output to the end ("TGID START_BOOTTIME" per process, a
// line each) and parses it, as TM_LIST's caller gets pid and start time.
#include "device.hpp"
#include "fd.hpp"

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace taskmon::bench {
namespace {

struct IterEntry {
    pid_t pid;
    std::uint64_t start_time_ns;
};

// Parses the iterator's lines into @p out; false on a malformed line.
bool parse_iter_output(const std::string& text, std::vector<IterEntry>& out)
{
    out.clear();
    const char* p = text.c_str();
    const char* const end = p + text.size();
    while (p < end) {
        char* next = nullptr;
        const long pid = std::strtol(p, &next, 10);
        if (next == p) {
            return false;
        }
        p = next;
        const unsigned long long start = std::strtoull(p, &next, 10);
        if (next == p) {
            return false;
        }
        out.push_back({static_cast<pid_t>(pid), start});
        p = next;
        while (p < end && (*p == '\n' || *p == ' ')) {
            ++p;
        }
    }
    return true;
}

void list_bpf_iter(benchmark::State& state)
{
    const char* path = std::getenv("TASKMON_BENCH_BPF_ITER"); // NOLINT(concurrency-mt-unsafe)
    if (path == nullptr || *path == '\0') {
        skip(state, "no pinned BPF task iterator (TASKMON_BENCH_BPF_ITER unset: bpftrace missing "
                    "or refused, see bench/run-guest)");
        return;
    }
    std::string text;
    std::vector<IterEntry> entries;
    std::vector<char> chunk(64 * 1024);
    for (auto _ : state) {
        const Fd fd = open_or_skip(state, path, O_RDONLY);
        if (!fd) {
            break;
        }
        text.clear();
        ssize_t len = 0;
        while ((len = ::read(fd.get(), chunk.data(), chunk.size())) > 0) {
            text.append(chunk.data(), static_cast<std::size_t>(len));
        }
        if (len < 0) {
            skip(state, errno_text(std::string("read ") + path, errno));
            break;
        }
        if (!parse_iter_output(text, entries)) {
            skip(state, std::string("unexpected output from ") + path);
            break;
        }
        benchmark::DoNotOptimize(entries.data());
        benchmark::ClobberMemory();
    }
    state.counters["processes"] = static_cast<double>(entries.size());
}

} // namespace

// NOLINTBEGIN(cert-err58-cpp): registration objects, as BENCHMARK() makes them
BENCHMARK(list_bpf_iter)->Name("list/bpf_iter");
// NOLINTEND(cert-err58-cpp)

} // namespace taskmon::bench
