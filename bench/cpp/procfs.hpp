// SPDX-License-Identifier: GPL-2.0-only
//
// What a C++ program does to read processes from /proc: list the numeric
// entries of /proc, read /proc/PID/{stat,statm,status} with pread(2) and
// parse the fields psutil parses.  Hand-written parsers (no streams, no
// allocation), so that the /proc side of a comparison is as cheap as a
// careful program makes it.
#ifndef TASKMON_BENCH_PROCFS_HPP
#define TASKMON_BENCH_PROCFS_HPP

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace taskmon::bench {

/** A buffer one /proc/PID/{stat,statm,status} fits in. */
using ProcBuffer = std::array<char, 4096>;

/** The fields of /proc/PID/stat that psutil's cpu_times()/status()/... use. */
struct ProcStat {
    std::string comm; // at most 15 bytes: no allocation (small string)
    char state = '?';
    pid_t ppid = 0;
    std::uint64_t utime = 0; // clock ticks
    std::uint64_t stime = 0; // clock ticks
    std::uint64_t num_threads = 0;
    std::uint64_t starttime = 0; // clock ticks since boot
    std::uint64_t vsize = 0;     // bytes
    std::uint64_t rss = 0;       // pages
};

/** /proc/PID/statm, in pages. */
struct ProcStatm {
    std::uint64_t size = 0;
    std::uint64_t resident = 0;
    std::uint64_t shared = 0;
    std::uint64_t text = 0;
    std::uint64_t data = 0;
};

/** The memory and scheduling lines of /proc/PID/status (kB and counts). */
struct ProcStatus {
    std::uint64_t vm_rss_kb = 0;
    std::uint64_t rss_anon_kb = 0;
    std::uint64_t rss_file_kb = 0;
    std::uint64_t rss_shmem_kb = 0;
    std::uint64_t threads = 0;
    std::uint64_t voluntary_ctxsw = 0;
    std::uint64_t nonvoluntary_ctxsw = 0;
};

/** pread(fd, buf, 0): the whole small file; its length, or -1 (errno set). */
long pread_all(int fd, ProcBuffer& buf);

/** Parses @p len bytes of /proc/PID/stat; false if malformed. */
bool parse_stat(const char* text, long len, ProcStat& out);
/** Parses /proc/PID/statm. */
bool parse_statm(const char* text, long len, ProcStatm& out);
/** Parses /proc/PID/status (a kernel thread has no Vm/Rss lines: those stay 0). */
bool parse_status(const char* text, long len, ProcStatus& out);

/** "/proc/PID/NAME". */
std::string proc_path(pid_t pid, const char* name);

/**
 * Every numeric entry of /proc (opendir + readdir) into @p pids (cleared
 * first, capacity kept); false if /proc cannot be listed (errno set).
 */
bool scan_proc(std::vector<pid_t>& pids);

/**
 * open + pread + close of /proc/PID/NAME relative to @p proc_dir (an open
 * /proc): the length read, or -1 (a process that exited meanwhile: ENOENT/ESRCH).
 */
long read_proc_file(int proc_dir, pid_t pid, const char* name, ProcBuffer& buf);

} // namespace taskmon::bench

#endif // TASKMON_BENCH_PROCFS_HPP
