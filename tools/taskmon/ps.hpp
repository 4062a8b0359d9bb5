// SPDX-License-Identifier: GPL-2.0-only
//
// `taskmon ps`: every process of the kernel's list (TM_LIST), its figures
// from TM_STATS_BATCH, as ps(1) prints them: ps's column names, selection
// (-p, -C, -u), --sort, --no-headers, --raw and --json.  The processes /proc
// does not list are marked (column "hidden"): one read of /proc's directory
// with getdents64 and one with readdir(), only when that column is shown.
#ifndef TASKMON_TOOLS_PS_HPP
#define TASKMON_TOOLS_PS_HPP

#include "options.hpp"

#include <taskmon/taskmon.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace taskmon::cli {

/** Applies one of `ps`'s own options (-p, -C, -u, -o, --sort); false if @p key is none. */
bool apply_ps_option(Options& opts, int key, const char* value);

/** The canonical name of column @p name (ps's aliases: "%cpu" is "pcpu"); UsageError if none. */
[[nodiscard]] std::string ps_column(const std::string& name);

/**
 * The groups of Stats fields that @p columns (names or aliases) show: what
 * `taskmon ps` asks TM_STATS_BATCH for.  UsageError for an unknown column.
 */
[[nodiscard]] Fields ps_fields(const std::vector<std::string>& columns);

/** Every column's canonical name, in the order of the documentation. */
[[nodiscard]] std::vector<std::string> ps_columns();

/** The columns without -o: pid ppid user s nlwp rss vsz time hidden comm. */
[[nodiscard]] const std::vector<std::string>& ps_default_columns();

/** One process of `taskmon ps`. */
struct PsRow {
    Stats stats;
    /** HiddenReason bits: getdents (not in /proc's getdents64 listing), readdir (not in readdir's).
     */
    std::uint32_t hidden = 0;
    /** The names of euid, uid, egid and gid (the number when it has none). */
    std::string user, ruser, group, rgroup;
};

/** What the time and memory columns are computed against. */
struct PsContext {
    std::chrono::nanoseconds boottime{0}; // CLOCK_BOOTTIME when the figures were read
    std::chrono::nanoseconds realtime{0}; // CLOCK_REALTIME at the same moment
    std::uint64_t memory_bytes = 0;       // physical memory, for pmem
    bool raw = false;                     // --raw
};

/** Sorts @p rows by @p keys ("rss", "-rss", "+comm"), stably; UsageError for an unknown column. */
void sort_ps(std::vector<PsRow>& rows, const std::vector<std::string>& keys,
             const PsContext& context);

/**
 * The output of `taskmon ps`: a table of @p columns (canonical names), the
 * header first unless !@p headers, process-controlled text through
 * safe_text(); or, with @p json, one object a line whose keys are the
 * column names (numbers in base units: bytes, seconds; "comm_hex" when the
 * comm is not valid UTF-8; "hidden" an array of reasons).
 */
[[nodiscard]] std::string format_ps(const std::vector<PsRow>& rows,
                                    const std::vector<std::string>& columns,
                                    const PsContext& context, bool json, bool headers);

/**
 * Runs `taskmon ps`; returns exit_ok, or exit_failure when a selection
 * (-p, -C, -u) matched no process, as ps does.
 */
[[nodiscard]] int run_ps(const Options& opts, std::ostream& out, std::ostream& err);

} // namespace taskmon::cli

#endif // TASKMON_TOOLS_PS_HPP
