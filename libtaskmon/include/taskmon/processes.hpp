// SPDX-License-Identifier: LGPL-2.1-or-later
/**
 * @file processes.hpp
 * @brief The kernel's list of processes (TM_LIST) and the processes that
 *        /proc does not show truthfully (find_hidden()).  docs/hidden.md.
 */
#ifndef TASKMON_PROCESSES_HPP
#define TASKMON_PROCESSES_HPP

#if !defined(TASKMON_TASKMON_HPP_INSIDE)
#error "Only <taskmon/taskmon.hpp> can be included directly."
#endif

#include <taskmon/export.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace taskmon {

class Monitor;

/**
 * @brief One process as the kernel lists it: its pid and when it started.
 *
 * The start time counts from boot (CLOCK_BOOTTIME), in nanoseconds; it is
 * /proc/PID/stat's starttime at full resolution, and tells a reused pid
 * from the process that had it before.
 */
struct ProcessEntry {
    /** @brief The process id (thread group id) in the caller's pid namespace. */
    pid_t pid = 0;
    /** @brief When the process started, since boot (CLOCK_BOOTTIME). */
    std::chrono::nanoseconds start_time{0};

    friend bool operator==(const ProcessEntry& lhs, const ProcessEntry& rhs) noexcept
    {
        return lhs.pid == rhs.pid && lhs.start_time == rhs.start_time;
    }
    friend bool operator!=(const ProcessEntry& lhs, const ProcessEntry& rhs) noexcept
    {
        return !(lhs == rhs);
    }
};

/**
 * @brief Every process the kernel runs that the caller's pid namespace can
 *        see (TM_LIST): one entry per process, threads never, ascending pid.
 *
 * Read from the kernel's own structures, not from /proc.  The list is not
 * an atomic snapshot: a process that exited during the call may be in it,
 * one forked during the call may be missing.  A read-only Monitor suffices.
 *
 * @throws taskmon::Error (NotSupported from a module without TM_LIST, ...).
 */
[[nodiscard]] TASKMON_API std::vector<ProcessEntry> list_processes(const Monitor& monitor);

/**
 * @brief Why find_hidden() reports a process: bits of HiddenProcess::reasons.
 *
 * The listing checks say which level lies: when the raw getdents64 system
 * call already leaves the pid out, the lie is below user space (a kernel
 * module filtering getdents64), reported as @ref getdents only; when
 * getdents64 shows it but this process's libc readdir() does not, the lie
 * is in user space (an LD_PRELOAD library), reported as @ref readdir.
 */
enum class HiddenReason : std::uint32_t {
    /** Missing from /proc's listing as the getdents64 system call returns it. */
    getdents = 1U << 0,
    /** Listed by getdents64 but missing from libc's readdir() in this process. */
    readdir = 1U << 1,
    /** /proc/PID or /proc/PID/stat cannot be opened (ENOENT...) though the process runs. */
    open = 1U << 2,
    /** /proc/PID/stat describes another process: its pid or start time differ. */
    stat = 1U << 3,
};

/** @brief "getdents64", "readdir", "open" or "stat". */
[[nodiscard]] TASKMON_API const char* to_string(HiddenReason reason) noexcept;

/** @brief The names (to_string()) of the bits set in @p reasons, lowest bit first. */
[[nodiscard]] TASKMON_API std::vector<std::string> reason_names(std::uint32_t reasons);

/** @brief A process the kernel runs but /proc does not show truthfully. */
struct HiddenProcess {
    /** @brief Its pid, in the caller's pid namespace. */
    pid_t pid = 0;
    /** @brief Its command name, from the kernel (TM_STATS); empty if unknown. */
    std::string comm;
    /** @brief When it started, since boot (CLOCK_BOOTTIME), from the kernel. */
    std::chrono::nanoseconds start_time{0};
    /** @brief HiddenReason bits: which checks failed (both passes agree). */
    std::uint32_t reasons = 0;
    /** @brief Its real user id, from the kernel; empty if unknown. */
    std::optional<uid_t> uid;
    /** @brief What was seen, for people: e.g. "/proc/42/stat names pid 7". */
    std::string detail;

    /** @brief Whether @p reason is among @ref reasons. */
    [[nodiscard]] bool has(HiddenReason reason) const noexcept
    {
        return (reasons & static_cast<std::uint32_t>(reason)) != 0;
    }
};

/** @brief Writes "pid 42 comm sshd uid 0 start 12.5 s: getdents64 (detail)". */
TASKMON_API std::ostream& operator<<(std::ostream& out, const HiddenProcess& process);

/** @brief Knobs of find_hidden(); the defaults fit a live system. */
struct HiddenScanOptions {
    /** @brief The procfs to check (a proc mount of the caller's pid namespace). */
    std::filesystem::path proc = "/proc";
    /**
     * @brief How long candidates settle before they are checked again: a
     *        process that started or exited meanwhile is dropped.
     */
    std::chrono::milliseconds settle{200};
};

/**
 * @brief The processes the kernel runs that /proc does not show truthfully.
 *
 * For each process of list_processes(): is its pid in /proc's listing
 * (read with the raw getdents64 system call, and again with libc's
 * readdir()), can /proc/PID and /proc/PID/stat be opened, and does that
 * stat name the same pid and start time?  A process failing any check is
 * a candidate; after HiddenScanOptions::settle every candidate is checked
 * again, and reported only if it still runs with the same start time and
 * still fails (the reasons are those both passes found).  So processes
 * that start or exit during a scan, and reused pids, are never reported.
 *
 * Not "hidden": threads (never listed by /proc either); a process the
 * caller may not see (EACCES/EPERM on /proc/PID, as with hidepid=1; with
 * hidepid=2/invisible, a pid that is neither listed nor found by lookup
 * when the caller lacks CAP_SYS_PTRACE); processes outside the caller's
 * pid namespace (the kernel's list does not hold them).
 *
 * @throws taskmon::Error from the kernel calls; std::system_error if
 *         @p options.proc cannot be listed, or with EXDEV when it is not
 *         the procfs of the caller's pid namespace (its "self" is not our
 *         pid): the two lists would then number processes differently.
 */
[[nodiscard]] TASKMON_API std::vector<HiddenProcess>
find_hidden(const Monitor& monitor, const HiddenScanOptions& options = {});

} // namespace taskmon

#endif // TASKMON_PROCESSES_HPP
