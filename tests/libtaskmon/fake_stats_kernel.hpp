// SPDX-License-Identifier: GPL-2.0-only
//
// A fake taskmonitor for host tests, answered in-process: a test binary
// that compiles fake_stats_kernel.cpp defines ioctl(2) itself (an
// executable's symbol wins over libc's, for libtaskmon.so's calls too).
// While a FakeStatsKernel is alive, TM_STATS, TM_STATS_BATCH, TM_PID (read)
// and TM_GET on any descriptor are answered from it, as taskmonitor.ko would
// per its uapi header, and counted (TM_STATS's request mask honoured as the
// module does: the groups that cost nothing always, the thread walk's
// groups and RSS only when asked; 0 asks all); TM_SUBSCRIBE too when
// subscribe_record_size is set; every other request, and every request
// while no fake is alive, is the real system call, so the other tests of the
// binary see the kernel as usual.  Open /dev/zero (a character device that
// is not a taskmonitor) to have a descriptor for the fake to answer on.
//
// The emulated module of the VM suite (vm/fake/fake_taskmon.cpp) is a
// different thing: a whole module behind /dev/zero for the vm.emulated run.
#pragma once

// The uapi header in place (the test targets have no include path to it).
#include "../../include/uapi/linux/taskmon.h"

#include <sys/types.h>

#include <map>
#include <vector>

namespace taskmon::fake {

struct FakeStatsKernel {
    // pid -> what TM_STATS answers (its error field unused); absent: ESRCH.
    std::map<pid_t, taskmon_stats> processes;
    pid_t target = 0;    // 0: none (ENODATA)
    int stats_errno = 0; // e.g. ENOTTY: an old module, without TM_STATS*

    // Steering (TM_PID set, TM_START, TM_STOP), faked only when true, with
    // the module's checks in its order (docs/security.md): a descriptor not
    // opened for writing is EBADF, then a caller without cap_sys_admin is
    // EPERM; only then does the target (a pid of processes, else ESRCH)
    // or running change.
    bool steering = false;
    bool cap_sys_admin = true;
    bool running = false;
    int steer_calls = 0;

    // What came in: every TM_STATS and TM_STATS_BATCH (refused or not),
    // TM_PID read and TM_GET.
    int stats_calls = 0;
    int pid_calls = 0;
    int get_calls = 0;
    std::vector<taskmon_stats> single_requests;      // TM_STATS as received
    std::vector<std::vector<taskmon_stats>> batches; // TM_STATS_BATCH records as received
    std::vector<taskmon_stats_batch> batch_headers;

    // TM_SUBSCRIBE: when >= 0, answered (0) with this written back as
    // record_size, the request kept in subscribe_requests; -1: not faked.
    long subscribe_record_size = -1;
    std::vector<taskmon_subscribe> subscribe_requests;

    // The groups the module fills for a request mask @p want (0: all).
    [[nodiscard]] static __u64 filled_groups(__u64 want);

    FakeStatsKernel() { current = this; }
    FakeStatsKernel(const FakeStatsKernel&) = delete;
    FakeStatsKernel& operator=(const FakeStatsKernel&) = delete;
    FakeStatsKernel(FakeStatsKernel&&) = delete;
    FakeStatsKernel& operator=(FakeStatsKernel&&) = delete;
    ~FakeStatsKernel() { current = nullptr; }

    // The one the interposer asks; nullptr: none alive.
    // NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables)
    static inline FakeStatsKernel* current = nullptr;

    // 0 or the errno to fail with; -1: not ours, make the real call.
    int ioctl(int fd, unsigned long request, void* arg);

private:
    int answer(taskmon_stats& rec) const;
    int steer(int fd, unsigned long request, const void* arg);
};

// A user process with every field of the mask filled (what a request of
// every group gets; a narrower request gets fewer, per filled_groups()): state 'S', 3 threads,
// uid/euid 1000/1001, gid/egid 100/101, user 1.5 s, system 0.25 s, faults
// 10 + 2, context switches 7 + 5, rss 40960 anon + 81920 file + 4096 shmem,
// vsize 16 MiB, start 123456789 ns, sampled at 987654321 ns.
[[nodiscard]] taskmon_stats full_record(pid_t pid, const char* comm);

// The same for a kernel thread: no memory, so no TM_STATS_RSS nor
// TM_STATS_VSIZE (and those fields 0).
[[nodiscard]] taskmon_stats kthread_record(pid_t pid, const char* comm = "kworker/0:1");

} // namespace taskmon::fake
