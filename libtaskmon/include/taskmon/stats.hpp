// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * @file stats.hpp
 * @brief Stats: the statistics of one process or thread (TM_STATS).
 */
#ifndef TASKMON_STATS_HPP
#define TASKMON_STATS_HPP

#if !defined(TASKMON_TASKMON_HPP_INSIDE)
#error "Only <taskmon/taskmon.hpp> can be included directly."
#endif

#include <taskmon/export.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <iosfwd>
#include <optional>
#include <string>
#include <system_error>

namespace taskmon {

/** @brief What a pid names in Monitor::stats(): a whole process, or one thread. */
enum class Scope {
    /** The thread group: CPU time, faults and context switches summed over every thread. */
    process,
    /** One thread (a TID, as ps -L shows it): its own figures only. */
    thread,
};

/**
 * @brief A group of Stats fields, as Monitor::stats() asks the kernel for
 *        them (the TM_STATS_* bits of struct taskmon_stats's mask).
 *
 * The kernel always fills the groups that cost nothing (ids, ppid, state,
 * threads, comm, creds, vsize, start_time, sample_time), asked for or not.
 * Two kinds of work it does only when asked: one walk over the process's
 * threads, for Field::cpu, Field::faults and Field::ctxsw (any of the three
 * gives all three), and the sums of per-CPU counters, for Field::rss.  A
 * query of names and ids asks neither (docs/statistics.md).
 */
enum class Field : std::uint64_t {
    /** Stats::tgid (Stats::pid is always set). */
    ids = 1ULL << 0,
    /** Stats::ppid. */
    ppid = 1ULL << 1,
    /** Stats::state. */
    state = 1ULL << 2,
    /** Stats::threads. */
    threads = 1ULL << 3,
    /** Stats::comm. */
    comm = 1ULL << 4,
    /** Stats::uid, euid, gid, egid. */
    creds = 1ULL << 5,
    /** Stats::user, system (the walk over the threads). */
    cpu = 1ULL << 6,
    /** Stats::minor_faults, major_faults (the walk over the threads). */
    faults = 1ULL << 7,
    /** Stats::voluntary_ctxsw, involuntary_ctxsw (the walk over the threads). */
    ctxsw = 1ULL << 8,
    /** Stats::rss_anon_bytes, rss_file_bytes, rss_shmem_bytes (per-CPU sums). */
    rss = 1ULL << 9,
    /** Stats::vsize_bytes. */
    vsize = 1ULL << 10,
    /** Stats::start_time. */
    start_time = 1ULL << 11,
    /** Stats::sample_time. */
    sample_time = 1ULL << 12,
};

/**
 * @brief A set of Field groups: what Monitor::stats() asks for.
 *
 * @code
 * using taskmon::Field;
 * // name and ids only: no walk over the threads, no per-CPU sums
 * auto st = monitor.stats(pid, Field::comm | Field::creds | Field::ppid);
 * @endcode
 *
 * Fields::all() (every group, the default of the overloads without
 * Fields) and a Fields of no group at all (which still gets the groups that
 * cost nothing) are both valid requests.  The groups asked for may still be
 * missing from the answer (a kernel thread has no memory): the Stats's
 * std::optional fields say what was filled, and groups not asked for may be
 * filled too.
 */
class Fields {
public:
    /** @brief No group: only what the kernel fills at no cost. */
    constexpr Fields() noexcept = default;
    /** @brief One group. */
    constexpr Fields(Field field) noexcept // NOLINT(google-explicit-constructor): Field | Field
        : bits_(static_cast<std::uint64_t>(field))
    {}

    /** @brief Every group this library knows. */
    [[nodiscard]] static constexpr Fields all() noexcept { return from_bits(all_bits); }

    /** @brief The groups of TM_STATS_* bits @p bits (bits this library does not know dropped). */
    [[nodiscard]] static constexpr Fields from_bits(std::uint64_t bits) noexcept
    {
        Fields f;
        f.bits_ = bits & all_bits;
        return f;
    }

    /** @brief The TM_STATS_* bits of these groups. */
    [[nodiscard]] constexpr std::uint64_t bits() const noexcept { return bits_; }

    /** @brief True if @p field is among these groups. */
    [[nodiscard]] constexpr bool has(Field field) const noexcept
    {
        return (bits_ & static_cast<std::uint64_t>(field)) != 0;
    }

    /** @brief True if no group is in the set. */
    [[nodiscard]] constexpr bool empty() const noexcept { return bits_ == 0; }

    constexpr Fields& operator|=(Fields other) noexcept
    {
        bits_ |= other.bits_;
        return *this;
    }
    constexpr Fields& operator&=(Fields other) noexcept
    {
        bits_ &= other.bits_;
        return *this;
    }
    friend constexpr Fields operator|(Fields lhs, Fields rhs) noexcept { return lhs |= rhs; }
    friend constexpr Fields operator&(Fields lhs, Fields rhs) noexcept { return lhs &= rhs; }
    friend constexpr bool operator==(Fields lhs, Fields rhs) noexcept
    {
        return lhs.bits_ == rhs.bits_;
    }
    friend constexpr bool operator!=(Fields lhs, Fields rhs) noexcept { return !(lhs == rhs); }

private:
    static constexpr std::uint64_t all_bits = (1ULL << 13) - 1;
    std::uint64_t bits_ = 0;
};

/** @brief Field | Field: a Fields of both. */
constexpr Fields operator|(Field lhs, Field rhs) noexcept
{
    return Fields(lhs) | Fields(rhs);
}

/**
 * @brief Statistics of one process (or thread), read by the kernel in one step.
 *
 * A field the kernel did not fill is an empty std::optional, never a zero
 * pretending to be measured: a kernel thread has no memory, so its rss_* and
 * vsize are empty; an older module may not know a newer field.  @ref pid is
 * always set: it is the process the figures are of.
 *
 * Times are nanoseconds; start_time and sample_time count from boot
 * (CLOCK_BOOTTIME), so that a reused pid shows a different start_time.
 *
 * A plain value type (copyable, comparable).  Its layout is part of the ABI:
 * later statistics get a new type, not new members here.
 */
struct Stats {
    /** @brief The pid (or TID, in thread scope) the figures are of. */
    pid_t pid = 0;
    /** @brief The thread group (process) id. */
    std::optional<pid_t> tgid;
    /** @brief The parent's process id; 0 when the parent is not visible in this pid namespace. */
    std::optional<pid_t> ppid;
    /** @brief The state letter of /proc/PID/stat: 'R', 'S', 'D', 'Z', 'T', 'I', ... */
    std::optional<char> state;
    /** @brief Number of threads of the process. */
    std::optional<std::uint32_t> threads;
    /** @brief The command name (at most 15 bytes, as /proc/PID/comm). */
    std::optional<std::string> comm;
    /** @brief Real and effective user ids, real and effective group ids. */
    std::optional<uid_t> uid;
    std::optional<uid_t> euid;
    std::optional<gid_t> gid;
    std::optional<gid_t> egid;
    /** @brief CPU time in user mode. */
    std::optional<std::chrono::nanoseconds> user;
    /** @brief CPU time in kernel mode. */
    std::optional<std::chrono::nanoseconds> system;
    /** @brief Page faults served without I/O, and those that needed I/O. */
    std::optional<std::uint64_t> minor_faults;
    std::optional<std::uint64_t> major_faults;
    /** @brief Context switches the task asked for (it slept), and forced ones (preemption). */
    std::optional<std::uint64_t> voluntary_ctxsw;
    std::optional<std::uint64_t> involuntary_ctxsw;
    /** @brief Resident memory in bytes: anonymous, file-backed, shared (shmem/tmpfs). */
    std::optional<std::uint64_t> rss_anon_bytes;
    std::optional<std::uint64_t> rss_file_bytes;
    std::optional<std::uint64_t> rss_shmem_bytes;
    /** @brief Virtual memory size in bytes. */
    std::optional<std::uint64_t> vsize_bytes;
    /** @brief When the process (or thread) started, since boot (CLOCK_BOOTTIME). */
    std::optional<std::chrono::nanoseconds> start_time;
    /** @brief When these figures were read, since boot (CLOCK_BOOTTIME). */
    std::optional<std::chrono::nanoseconds> sample_time;
    /** @brief The kernel's mask of filled fields (TM_STATS_* of <taskmon/uapi/taskmon.h>). */
    std::uint64_t mask = 0;

    /** @brief The groups filled (those of @ref mask that this library knows). */
    [[nodiscard]] Fields filled() const noexcept { return Fields::from_bits(mask); }

    /** @brief user + system, when both are known. */
    [[nodiscard]] std::optional<std::chrono::nanoseconds> cpu_time() const
    {
        if (user && system) {
            return *user + *system;
        }
        return std::nullopt;
    }

    /** @brief rss_anon_bytes + rss_file_bytes + rss_shmem_bytes, when known. */
    [[nodiscard]] std::optional<std::uint64_t> rss_bytes() const
    {
        if (rss_anon_bytes && rss_file_bytes && rss_shmem_bytes) {
            return *rss_anon_bytes + *rss_file_bytes + *rss_shmem_bytes;
        }
        return std::nullopt;
    }

    friend bool operator==(const Stats& lhs, const Stats& rhs)
    {
        return lhs.pid == rhs.pid && lhs.tgid == rhs.tgid && lhs.ppid == rhs.ppid &&
               lhs.state == rhs.state && lhs.threads == rhs.threads && lhs.comm == rhs.comm &&
               lhs.uid == rhs.uid && lhs.euid == rhs.euid && lhs.gid == rhs.gid &&
               lhs.egid == rhs.egid && lhs.user == rhs.user && lhs.system == rhs.system &&
               lhs.minor_faults == rhs.minor_faults && lhs.major_faults == rhs.major_faults &&
               lhs.voluntary_ctxsw == rhs.voluntary_ctxsw &&
               lhs.involuntary_ctxsw == rhs.involuntary_ctxsw &&
               lhs.rss_anon_bytes == rhs.rss_anon_bytes &&
               lhs.rss_file_bytes == rhs.rss_file_bytes &&
               lhs.rss_shmem_bytes == rhs.rss_shmem_bytes && lhs.vsize_bytes == rhs.vsize_bytes &&
               lhs.start_time == rhs.start_time && lhs.sample_time == rhs.sample_time &&
               lhs.mask == rhs.mask;
    }

    friend bool operator!=(const Stats& lhs, const Stats& rhs) { return !(lhs == rhs); }
};

/**
 * @brief One answer of a batch (Monitor::stats(const pid_t*, std::size_t, Fields, Scope)):
 *        the pid asked, and either its Stats or the error of that pid alone.
 *
 * @code
 * for (const auto& r : monitor.stats(pids)) {
 *     if (r.ok()) use(r.stats);
 *     else if (r.code() == std::errc::no_such_process) ...;  // exited
 * }
 * @endcode
 */
struct StatsResult {
    /** @brief The pid that was asked for. */
    pid_t pid = 0;
    /** @brief 0, or the errno of this pid (ESRCH: no such visible process; EINVAL: pid <= 0). */
    int error = 0;
    /** @brief The figures; meaningful only when ok(). */
    Stats stats;
    /**
     * @brief When !ok(): the exception Monitor::stats(pid) would have thrown
     *        for this pid (NoSuchProcess naming it, ...), for value() or rethrowing.
     */
    std::exception_ptr exception;

    /** @brief True when this pid was answered. */
    [[nodiscard]] bool ok() const noexcept { return error == 0; }

    /** @brief error as a std::error_code (generic category): compare with std::errc. */
    [[nodiscard]] std::error_code code() const noexcept { return {error, std::generic_category()}; }

    /** @brief The Stats, or throws this pid's exception. */
    [[nodiscard]] const Stats& value() const
    {
        if (exception) {
            std::rethrow_exception(exception);
        }
        return stats;
    }
};

/**
 * @brief Writes the known fields as "pid 42 tgid 42 comm bash user 0.012000000 s ..."
 *        (unknown ones are left out).
 */
TASKMON_API std::ostream& operator<<(std::ostream& out, const Stats& stats);

} // namespace taskmon

#endif // TASKMON_STATS_HPP
