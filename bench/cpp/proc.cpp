// SPDX-License-Identifier: GPL-2.0-only
//
// What users do instead of taskmon for one process: pread + parse of
// /proc/PID/stat (CPU), statm (memory) and status, on kept descriptors and
// with open/close each time.  The process is the sleeping child, as for the
// taskmon requests.
#include "child.hpp"
#include "device.hpp"
#include "procfs.hpp"

#include <fcntl.h>

#include <cerrno>
#include <string>

namespace taskmon::bench {
namespace {

// The sleeping child's /proc/PID/NAME, opened; skips @p state if it cannot.
Fd open_child_file(benchmark::State& state, const char* name)
{
    const pid_t pid = sleeping_child().pid();
    if (pid < 0) {
        skip(state, errno_text("fork of the sleeping child", sleeping_child().error()));
        return {};
    }
    return open_or_skip(state, proc_path(pid, name).c_str(), O_RDONLY);
}

// pread + parse of a kept /proc file; false (and @p state skipped) on failure.
template <typename Parsed, typename Parse>
bool read_kept(benchmark::State& state, int fd, const char* name, ProcBuffer& buf, Parsed& out,
               Parse parse)
{
    const long len = pread_all(fd, buf);
    if (len <= 0 || !parse(buf.data(), len, out)) {
        skip(state, len < 0 ? errno_text(std::string("pread /proc/PID/") + name, errno)
                            : std::string("cannot parse /proc/PID/") + name);
        return false;
    }
    return true;
}

void proc_stat_kept(benchmark::State& state)
{
    const Fd stat_fd = open_child_file(state, "stat");
    if (!stat_fd) {
        return;
    }
    ProcBuffer buf{};
    ProcStat stat;
    for (auto _ : state) {
        if (!read_kept(state, stat_fd.get(), "stat", buf, stat, parse_stat)) {
            break;
        }
        benchmark::DoNotOptimize(stat);
    }
}

void proc_stat_statm_kept(benchmark::State& state)
{
    const Fd stat_fd = open_child_file(state, "stat");
    if (!stat_fd) {
        return;
    }
    const Fd statm_fd = open_child_file(state, "statm");
    if (!statm_fd) {
        return;
    }
    ProcBuffer buf{};
    ProcStat stat;
    ProcStatm statm;
    for (auto _ : state) {
        if (!read_kept(state, stat_fd.get(), "stat", buf, stat, parse_stat) ||
            !read_kept(state, statm_fd.get(), "statm", buf, statm, parse_statm)) {
            break;
        }
        benchmark::DoNotOptimize(stat);
        benchmark::DoNotOptimize(statm);
    }
}

void proc_stat_statm_open(benchmark::State& state)
{
    const pid_t pid = sleeping_child().pid();
    if (pid < 0) {
        skip(state, errno_text("fork of the sleeping child", sleeping_child().error()));
        return;
    }
    // The paths are known up front, as a program watching a pid keeps them.
    const std::string stat_path = proc_path(pid, "stat");
    const std::string statm_path = proc_path(pid, "statm");
    ProcBuffer buf{};
    ProcStat stat;
    ProcStatm statm;
    for (auto _ : state) {
        const Fd stat_fd{::open(stat_path.c_str(), O_RDONLY | O_CLOEXEC)}; // NOLINT(*-vararg)
        if (!stat_fd || !read_kept(state, stat_fd.get(), "stat", buf, stat, parse_stat)) {
            if (!state.error_occurred()) {
                skip(state, errno_text("open " + stat_path, errno));
            }
            break;
        }
        const Fd statm_fd{::open(statm_path.c_str(), O_RDONLY | O_CLOEXEC)}; // NOLINT(*-vararg)
        if (!statm_fd || !read_kept(state, statm_fd.get(), "statm", buf, statm, parse_statm)) {
            if (!state.error_occurred()) {
                skip(state, errno_text("open " + statm_path, errno));
            }
            break;
        }
        benchmark::DoNotOptimize(stat);
        benchmark::DoNotOptimize(statm);
    }
}

void proc_status_kept(benchmark::State& state)
{
    const Fd status_fd = open_child_file(state, "status");
    if (!status_fd) {
        return;
    }
    ProcBuffer buf{};
    ProcStatus status;
    for (auto _ : state) {
        if (!read_kept(state, status_fd.get(), "status", buf, status, parse_status)) {
            break;
        }
        benchmark::DoNotOptimize(status);
    }
}

} // namespace

// NOLINTBEGIN(cert-err58-cpp): registration at static initialisation is how gbench works
BENCHMARK(proc_stat_kept)->Name("proc/stat_kept");
BENCHMARK(proc_stat_statm_kept)->Name("proc/stat_statm_kept");
BENCHMARK(proc_stat_statm_open)->Name("proc/stat_statm_open");
BENCHMARK(proc_status_kept)->Name("proc/status_kept");
// NOLINTEND(cert-err58-cpp)

} // namespace taskmon::bench
