// SPDX-License-Identifier: GPL-2.0-only
//
// The fake taskmonitor of fake_stats_kernel.hpp and the ioctl(2) interposer
// that consults it.
#include "fake_stats_kernel.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstring>

namespace taskmon::fake {

namespace {

// The groups taskmonitor.ko fills whatever the mask asks (stats.c's
// fill_stats()), those one walk over the threads fills together, and RSS.
constexpr __u64 free_groups = TM_STATS_IDS | TM_STATS_PPID | TM_STATS_STATE | TM_STATS_CREDS |
                              TM_STATS_THREADS | TM_STATS_COMM | TM_STATS_VSIZE |
                              TM_STATS_START_TIME | TM_STATS_SAMPLE_TIME;
constexpr __u64 walk_groups = TM_STATS_CPU | TM_STATS_FAULTS | TM_STATS_CTXSW;

// Clears the fields of the groups of @p rec not in @p keep, and their bits.
void keep_groups(taskmon_stats& rec, __u64 keep)
{
    const __u64 drop = rec.mask & ~keep;
    if ((drop & TM_STATS_CPU) != 0) {
        rec.user_ns = rec.system_ns = 0;
    }
    if ((drop & TM_STATS_FAULTS) != 0) {
        rec.minor_faults = rec.major_faults = 0;
    }
    if ((drop & TM_STATS_CTXSW) != 0) {
        rec.voluntary_ctxsw = rec.involuntary_ctxsw = 0;
    }
    if ((drop & TM_STATS_RSS) != 0) {
        rec.rss_anon_bytes = rec.rss_file_bytes = rec.rss_shmem_bytes = 0;
    }
    rec.mask &= keep;
}

// The uapi's one rule for every size: a multiple of 8 from VER0 to a page.
int check_size(__u32 size)
{
    if (size < TM_STATS_SIZE_VER0 || size % 8 != 0) {
        return EINVAL;
    }
    return size > 4096 ? E2BIG : 0;
}

} // namespace

__u64 FakeStatsKernel::filled_groups(__u64 want)
{
    // As statx(): no group asked is every group; unknown ones are ignored.
    want = want != 0 ? want & TM_STATS_ALL : TM_STATS_ALL;
    __u64 keep = free_groups;
    if ((want & walk_groups) != 0) {
        keep |= walk_groups;
    }
    keep |= want & TM_STATS_RSS;
    return keep;
}

int FakeStatsKernel::answer(taskmon_stats& rec) const
{
    pid_t pid = rec.pid;
    const __u64 want = rec.mask;
    if (pid < 0 || (want & TM_STATS__RESERVED) != 0) {
        return EINVAL;
    }
    if (pid == 0) {
        if (target == 0) {
            return ENODATA;
        }
        pid = target;
    }
    const auto it = processes.find(pid);
    if (it == processes.end()) {
        return ESRCH;
    }
    const __u32 size = rec.size;
    const __u32 flags = rec.flags;
    rec = it->second;
    rec.size = size;
    rec.flags = flags;
    rec.pid = pid;
    rec.error = 0;
    keep_groups(rec, filled_groups(want));
    return 0;
}

int FakeStatsKernel::steer(int fd, unsigned long request, const void* arg)
{
    ++steer_calls;
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg,hicpp-vararg): fcntl(2)
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags < 0 || (flags & O_ACCMODE) == O_RDONLY) {
        return EBADF;
    }
    if (!cap_sys_admin) {
        return EPERM;
    }
    if (request == TM_PID) {
        const pid_t pid = *static_cast<const __kernel_pid_t*>(arg);
        if (pid == 0) {
            return EINVAL;
        }
        if (processes.count(pid) == 0) {
            return ESRCH;
        }
        target = pid;
        return 0;
    }
    running = request == TM_START;
    return 0;
}

int FakeStatsKernel::ioctl(int fd, unsigned long request, void* arg)
{
    if (steering && (request == TM_START || request == TM_STOP ||
                     (request == TM_PID && *static_cast<const __kernel_pid_t*>(arg) >= 0))) {
        return steer(fd, request, arg);
    }
    if (request == TM_STATS || request == TM_STATS_BATCH) {
        ++stats_calls;
        if (stats_errno != 0) {
            return stats_errno;
        }
    }
    if (request == TM_STATS) {
        auto* rec = static_cast<taskmon_stats*>(arg);
        single_requests.push_back(*rec);
        if (const int err = check_size(rec->size); err != 0) {
            return err;
        }
        if ((rec->flags & ~TM_STATS_FLAGS_ALL) != 0) {
            return EINVAL;
        }
        return answer(*rec);
    }
    if (request == TM_STATS_BATCH) {
        const auto* hdr = static_cast<const taskmon_stats_batch*>(arg);
        batch_headers.push_back(*hdr);
        if (const int err = check_size(hdr->size); err != 0) {
            return err;
        }
        if (hdr->count == 0 || hdr->reserved != 0 || (hdr->flags & ~TM_STATS_FLAGS_ALL) != 0) {
            return EINVAL;
        }
        if (hdr->count > TM_STATS_BATCH_MAX) {
            return E2BIG;
        }
        // NOLINTNEXTLINE(performance-no-int-to-ptr)
        auto* recs = reinterpret_cast<taskmon_stats*>(static_cast<std::uintptr_t>(hdr->records));
        batches.emplace_back(recs, recs + hdr->count);
        for (__u32 i = 0; i < hdr->count; ++i) {
            recs[i].error = -answer(recs[i]);
        }
        return 0;
    }
    if (request == TM_SUBSCRIBE && subscribe_record_size >= 0) {
        auto* req = static_cast<taskmon_subscribe*>(arg);
        subscribe_requests.push_back(*req);
        req->record_size = static_cast<__u32>(subscribe_record_size);
        return 0;
    }
    if (request == TM_PID) {
        auto* pid = static_cast<__kernel_pid_t*>(arg);
        if (*pid < 0) { // a read; setting the target is not faked
            ++pid_calls;
            if (target == 0) {
                return ENODATA;
            }
            *pid = target;
            return 0;
        }
    }
    if (request == TM_GET) {
        ++get_calls;
        const auto it = processes.find(target);
        if (it == processes.end()) {
            return target == 0 ? ENODATA : ESRCH;
        }
        auto* sample = static_cast<task_sample*>(arg);
        sample->utime = it->second.user_ns;
        sample->stime = it->second.system_ns;
        return 0;
    }
    return -1; // not ours
}

taskmon_stats full_record(pid_t pid, const char* comm)
{
    taskmon_stats r{};
    r.pid = pid;
    r.mask = TM_STATS_IDS | TM_STATS_PPID | TM_STATS_STATE | TM_STATS_THREADS | TM_STATS_COMM |
             TM_STATS_CREDS | TM_STATS_CPU | TM_STATS_FAULTS | TM_STATS_CTXSW | TM_STATS_RSS |
             TM_STATS_VSIZE | TM_STATS_START_TIME | TM_STATS_SAMPLE_TIME;
    r.tgid = pid;
    r.ppid = 1;
    r.state = 'S';
    r.threads = 3;
    r.uid = 1000;
    r.euid = 1001;
    r.gid = 100;
    r.egid = 101;
    // As the kernel does: up to TM_COMM_LEN bytes, NUL-padded, no NUL when full.
    std::memcpy(r.comm, comm, ::strnlen(comm, sizeof(r.comm)));
    r.user_ns = 1'500'000'000;
    r.system_ns = 250'000'000;
    r.minor_faults = 10;
    r.major_faults = 2;
    r.voluntary_ctxsw = 7;
    r.involuntary_ctxsw = 5;
    r.rss_anon_bytes = 4096 * 10;
    r.rss_file_bytes = 4096 * 20;
    r.rss_shmem_bytes = 4096;
    r.vsize_bytes = 1 << 24;
    r.start_time_ns = 123'456'789;
    r.sample_time_ns = 987'654'321;
    return r;
}

taskmon_stats kthread_record(pid_t pid, const char* comm)
{
    taskmon_stats r = full_record(pid, comm);
    r.mask &= ~(TM_STATS_RSS | TM_STATS_VSIZE);
    r.rss_anon_bytes = r.rss_file_bytes = r.rss_shmem_bytes = r.vsize_bytes = 0;
    return r;
}

} // namespace taskmon::fake

// The interposer: this definition wins over libc's for the whole binary.
extern "C" int ioctl(int fd, unsigned long request, ...) noexcept
{
    va_list ap;
    va_start(ap, request);
    void* arg = va_arg(ap, void*);
    va_end(ap);
    if (auto* const fake = taskmon::fake::FakeStatsKernel::current; fake != nullptr) {
        const int err = fake->ioctl(fd, request, arg);
        if (err >= 0) {
            errno = err;
            return err == 0 ? 0 : -1;
        }
    }
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-vararg)
    return static_cast<int>(::syscall(SYS_ioctl, fd, request, arg));
}
