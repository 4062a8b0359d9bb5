// SPDX-License-Identifier: GPL-2.0-only
//
// Command-line parsing of the taskmon command (no device access: unit-tested
// on the host).  getopt_long(3) parses; the tables in options.cpp declare
// every command and option once, and the help text is generated from them.
#ifndef TASKMON_TOOLS_OPTIONS_HPP
#define TASKMON_TOOLS_OPTIONS_HPP

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace taskmon::cli {

enum class Command {
    help,    // --help, -h, "help [COMMAND]", "COMMAND --help"
    version, // --version, -V
    get,
    watch,
    start,
    stop,
    pid,
    stats,
    hidden,
    ps,
    top,
    exits,
};

struct Options {
    Command command = Command::help;
    /** help: the command whose help was asked for (`taskmon watch --help`); unset: all. */
    std::optional<Command> help_for;
    std::string device = "/dev/taskmonitor";
    bool json = false;
    /** --raw: tables in plain numbers of base units (seconds, bytes), no units in cells. */
    bool raw = false;
    /** watch: time between samples; top -d: the delay between intervals (default 3 s, top's). */
    std::chrono::nanoseconds interval = std::chrono::seconds(1);
    /** watch: number of rows to print; top -n: of intervals; unset means until interrupted. */
    std::optional<std::uint64_t> count;
    /** pid: the new target; unset means print the current one. */
    std::optional<pid_t> pid;
    /**
     * stats: the processes (or, with threads, the threads) asked for; watch:
     * the processes; ps -p, top -p: the processes selected.
     */
    std::vector<pid_t> pids;
    /** stats --threads: thread scope, each PID is a thread id. */
    bool threads = false;
    /** hidden --proc: the procfs to check. */
    std::string proc = "/proc";
    /** hidden --settle: how long candidates settle before they are checked again. */
    std::chrono::milliseconds settle{200};
    /** hidden --watch: time between checks; unset means check once. */
    std::optional<std::chrono::nanoseconds> watch;
    /** ps -C: the command names selected. */
    std::vector<std::string> names;
    /** ps -u: the effective users selected, names or uids, as given. */
    std::vector<std::string> users;
    /** ps -o: the columns, as given (empty: the default ones). */
    std::vector<std::string> columns;
    /** ps --sort: the keys, each a column with an optional leading '-' or '+'. */
    std::vector<std::string> sort;
    /** ps --no-headers. */
    bool no_headers = false;
    /** top -b: batch mode, also on a terminal. */
    bool batch = false;
};

/** A command line that cannot be run: the message says what is wrong. */
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/**
 * Parses argv[1..]: `[GLOBAL OPTIONS] COMMAND [COMMAND OPTIONS | GLOBAL OPTIONS | ARGS]...`.
 * Throws UsageError.  Short options group (`-jd PATH`) and take their value
 * attached or separate (`-dPATH`, `-d PATH`), long ones with `=` or separate.
 */
[[nodiscard]] Options parse_args(const std::vector<std::string>& args);

/** Strict parsers, exposed for tests; each throws UsageError naming @p what. */
[[nodiscard]] pid_t parse_pid(const std::string& text);
[[nodiscard]] std::chrono::nanoseconds parse_interval(const std::string& text);
[[nodiscard]] std::uint64_t parse_count(const std::string& text);

/** The text of --help: every command with its options; or one command's (`watch --help`). */
[[nodiscard]] std::string help_text(std::optional<Command> command = std::nullopt);

/** The text of --version. */
[[nodiscard]] std::string version_text();

/** True if running @p opts changes the module's shared state (opens the device read-write). */
[[nodiscard]] bool steers(const Options& opts) noexcept;

} // namespace taskmon::cli

#endif // TASKMON_TOOLS_OPTIONS_HPP
