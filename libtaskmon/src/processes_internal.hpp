// SPDX-License-Identifier: LGPL-2.1-or-later
//
// find_hidden()'s parts, with every outside source replaceable so that the
// host tests can run it on a fake /proc and a fake kernel list.
#ifndef TASKMON_SRC_PROCESSES_INTERNAL_HPP
#define TASKMON_SRC_PROCESSES_INTERNAL_HPP

#include <taskmon/taskmon.hpp>

#include <dirent.h>
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace taskmon::detail {

/** What the kernel says about a live process (TM_STATS). */
struct KernelInfo {
    std::chrono::nanoseconds start_time{0};
    std::string comm;
    std::optional<uid_t> uid;
};

/** Where find_hidden() gets its facts; each has a real default (real_hooks()). */
struct HiddenScanHooks {
    /** The kernel's list (TM_LIST). */
    std::function<std::vector<ProcessEntry>()> list;
    /** The kernel's view of one process now; empty once it is gone. */
    std::function<std::optional<KernelInfo>(pid_t)> info;
    /** The numeric names of a directory, through the raw getdents64 system call. */
    std::function<std::vector<pid_t>(const std::filesystem::path&)> getdents = list_getdents;
    /** The same through libc's opendir()/readdir(). */
    std::function<std::vector<pid_t>(const std::filesystem::path&)> readdir = list_readdir;
    /** How candidates settle. */
    std::function<void(std::chrono::milliseconds)> sleep;
    /** hidepid= of the proc mount: 0 off, 1 noaccess, 2 invisible, 4 ptraceable. */
    int hidepid = 0;
    /** Whether the caller sees every process whatever hidepid= says (CAP_SYS_PTRACE). */
    bool sees_all = true;
    /** USER_HZ, the unit of /proc/PID/stat's starttime. */
    long clock_ticks = 100;

    static std::vector<pid_t> list_getdents(const std::filesystem::path& dir);
    static std::vector<pid_t> list_readdir(const std::filesystem::path& dir);
};

/**
 * The numeric names of @p dir, read with @p next (readdir() in
 * HiddenScanHooks::list_readdir()), sorted.  errno is cleared before every
 * call: only a NULL return with errno set is an error (std::system_error).
 */
std::vector<pid_t> list_readdir_with(const std::filesystem::path& dir,
                                     const std::function<dirent*(DIR*)>& next);

/** "hidepid=2" / "hidepid=invisible" ... of a mount's options, as the number; 0 if none. */
int parse_hidepid(const std::string& options);

/**
 * The super options of the proc mount at @p mount_point according to the
 * mountinfo file @p mountinfo (the topmost such mount); empty if none.
 */
std::optional<std::string> proc_mount_options(const std::filesystem::path& mountinfo,
                                              const std::filesystem::path& mount_point);

/** The reasons @p entry fails the checks against the listings @p listed (getdents) and @p read
 * (readdir). */
std::uint32_t check_process(const HiddenScanHooks& hooks, const std::filesystem::path& proc,
                            const ProcessEntry& entry, const std::vector<pid_t>& listed,
                            const std::vector<pid_t>& read, std::string* detail);

/** find_hidden() on these hooks. */
std::vector<HiddenProcess> find_hidden(const HiddenScanHooks& hooks,
                                       const HiddenScanOptions& options);

} // namespace taskmon::detail

#endif // TASKMON_SRC_PROCESSES_INTERNAL_HPP
