// SPDX-License-Identifier: GPL-2.0-only
#include "options.hpp"

#include <taskmon/taskmon.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <climits>
#include <limits>
#include <string_view>
#include <utility>

namespace taskmon::cli {

namespace {

constexpr std::uint64_t ns_per_s = 1'000'000'000ULL;
constexpr std::uint64_t min_interval_ns = 10'000'000ULL;        // 0.01 s
constexpr std::uint64_t max_interval_ns = 86'400ULL * ns_per_s; // one day

bool all_digits(std::string_view text)
{
    return !text.empty() &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Decimal digits to an integer, or nullopt on overflow past @p max.
std::optional<std::uint64_t> to_uint(std::string_view digits, std::uint64_t max)
{
    std::uint64_t value = 0;
    for (const char c : digits) {
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (value > (max - digit) / 10) {
            return std::nullopt;
        }
        value = value * 10 + digit;
    }
    return value;
}

bool looks_like_negative_number(std::string_view arg)
{
    return arg.size() > 1 && arg[0] == '-' && all_digits(arg.substr(1));
}

struct CommandName {
    std::string_view name;
    Command command;
};

constexpr std::array<CommandName, 7> commands{{
    {"get", Command::get},
    {"watch", Command::watch},
    {"start", Command::start},
    {"stop", Command::stop},
    {"pid", Command::pid},
    {"stats", Command::stats},
    {"help", Command::help},
}};

Command command_from_name(const std::string& name)
{
    for (const auto& entry : commands) {
        if (entry.name == name) {
            return entry.command;
        }
    }
    throw UsageError("unknown command '" + name +
                     "'; the commands are get, watch, start, stop, pid and help");
}

// Splits "--name=value" into ("--name", "value"); other arguments unchanged.
std::pair<std::string, std::optional<std::string>> split_option(const std::string& arg)
{
    if (arg.rfind("--", 0) == 0) {
        const auto eq = arg.find('=');
        if (eq != std::string::npos) {
            return {arg.substr(0, eq), arg.substr(eq + 1)};
        }
    }
    return {arg, std::nullopt};
}

} // namespace

pid_t parse_pid(const std::string& text)
{
    const auto value =
        all_digits(text)
            ? to_uint(text, static_cast<std::uint64_t>(std::numeric_limits<pid_t>::max()))
            : std::nullopt;
    if (!value || *value == 0) {
        throw UsageError("invalid pid '" + text +
                         "': a pid is a positive integer, the id of a running process (see 'ps')");
    }
    return static_cast<pid_t>(*value);
}

std::chrono::nanoseconds parse_interval(const std::string& text)
{
    const auto bad = [&text]() {
        return UsageError("invalid interval '" + text +
                          "': give seconds as a decimal number from 0.01 to 86400, e.g. 0.5");
    };
    std::string_view rest(text);
    if (!rest.empty() && rest.back() == 's') {
        rest.remove_suffix(1); // "0.5s" is accepted too
    }
    const auto dot = rest.find('.');
    const std::string_view whole = rest.substr(0, dot);
    const std::string_view frac =
        dot == std::string_view::npos ? std::string_view{} : rest.substr(dot + 1);
    if ((whole.empty() && frac.empty()) || (!whole.empty() && !all_digits(whole)) ||
        (!frac.empty() && !all_digits(frac)) || frac.size() > 9) {
        throw bad();
    }
    const auto seconds = whole.empty() ? std::optional<std::uint64_t>(0)
                                       : to_uint(whole, max_interval_ns / ns_per_s);
    if (!seconds) {
        throw bad();
    }
    std::uint64_t ns = *seconds * ns_per_s;
    std::uint64_t scale = ns_per_s;
    for (const char c : frac) {
        scale /= 10;
        ns += static_cast<std::uint64_t>(c - '0') * scale;
    }
    if (ns < min_interval_ns || ns > max_interval_ns) {
        throw bad();
    }
    return std::chrono::nanoseconds(static_cast<std::chrono::nanoseconds::rep>(ns));
}

std::uint64_t parse_count(const std::string& text)
{
    const auto value =
        all_digits(text) ? to_uint(text, std::numeric_limits<std::uint64_t>::max()) : std::nullopt;
    if (!value || *value == 0) {
        throw UsageError("invalid count '" + text + "': give a positive integer, e.g. 10");
    }
    return *value;
}

Options parse_args(const std::vector<std::string>& args)
{
    Options opts;

    // --help and --version win over anything else on the line.
    for (const auto& arg : args) {
        if (arg == "--") {
            break;
        }
        if (arg == "-h" || arg == "--help") {
            opts.command = Command::help;
            return opts;
        }
        if (arg == "-V" || arg == "--version") {
            opts.command = Command::version;
            return opts;
        }
    }

    std::vector<std::string> words;
    bool interval_given = false;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (options_done || arg.empty() || arg[0] != '-' || arg == "-" ||
            looks_like_negative_number(arg)) {
            words.push_back(arg);
            continue;
        }
        if (arg == "--") {
            options_done = true;
            continue;
        }
        const auto [name, inline_value] = split_option(arg);
        const auto value = [&, name = name, inline_value = inline_value](std::string_view meta) {
            if (inline_value) {
                return *inline_value;
            }
            if (i + 1 >= args.size()) {
                throw UsageError("option " + name + " needs a " + std::string(meta) + " argument");
            }
            return args[++i];
        };

        if (name == "-j" || name == "--json") {
            if (inline_value) {
                throw UsageError("option --json takes no argument");
            }
            opts.json = true;
        } else if (name == "-d" || name == "--device") {
            opts.device = value("PATH");
            if (opts.device.empty()) {
                throw UsageError("option --device needs a non-empty PATH, e.g. /dev/taskmonitor");
            }
        } else if (name == "-i" || name == "--interval") {
            opts.interval = parse_interval(value("SECONDS"));
            interval_given = true;
        } else if (name == "-n" || name == "--count") {
            opts.count = parse_count(value("N"));
        } else if (name == "-t" || name == "--threads") {
            if (inline_value) {
                throw UsageError("option --threads takes no argument");
            }
            opts.threads = true;
        } else {
            throw UsageError("unknown option '" + arg + "'");
        }
    }

    if (words.empty()) {
        throw UsageError(
            "no command given; the commands are get, watch, start, stop, pid and help");
    }
    opts.command = command_from_name(words.front());
    const std::size_t extra = words.size() - 1;

    if (opts.command == Command::pid) {
        if (extra > 1) {
            throw UsageError("'pid' takes at most one argument, the PID (got " +
                             std::to_string(extra) + ")");
        }
        if (extra == 1) {
            opts.pid = parse_pid(words[1]);
        }
    } else if (opts.command == Command::stats) {
        if (extra == 0) {
            throw UsageError("'stats' needs at least one PID, e.g. 'taskmon stats $$ 1'");
        }
        for (std::size_t i = 1; i < words.size(); ++i) {
            opts.pids.push_back(parse_pid(words[i]));
        }
    } else if (extra > 0) {
        throw UsageError("'" + words.front() + "' takes no arguments (got '" + words[1] + "')");
    }
    if ((interval_given || opts.count) && opts.command != Command::watch) {
        throw UsageError("--interval and --count only apply to 'watch'");
    }
    if (opts.threads && opts.command != Command::stats) {
        throw UsageError("--threads only applies to 'stats'");
    }
    return opts;
}

std::string help_text()
{
    return R"HELP(Usage: taskmon [OPTIONS] COMMAND [ARGS]

Read and control taskmonitor.ko, which measures the CPU time of one process
(the target) from inside the kernel, through /dev/taskmonitor.

Commands:
  get                    print the target's pid and CPU time (user, system, total)
  watch                  print the CPU time and CPU use every interval
    -i, --interval S     seconds between samples (default 1; 0.01 to 86400, e.g. 0.5)
    -n, --count N        stop after N samples (default: until Ctrl-C)
  start                  start the module's monitoring thread
  stop                   stop the module's monitoring thread
  pid                    print the target's pid
  pid PID                monitor process PID from now on
  stats PID...           print the CPU time and memory of each PID (any
                         process; the target is neither read nor changed)
    -t, --threads        each PID is a thread id: that thread's own figures
  help                   show this help

Options (anywhere on the line):
  -d, --device PATH      device file (default /dev/taskmonitor)
  -j, --json             print JSON: one object per line
  -h, --help             show this help and exit
  -V, --version          show the version and exit

Times are CPU seconds summed over all threads of the target. In 'watch', cpu
is the share of one CPU the target used during the last interval (above 100 %
for a process busy on several CPUs).

Exit status:
  0  success
  1  any other runtime error
  2  usage error: bad command, option or argument
  3  no such process: the pid does not exist, or the target exited
  4  no target set: set one with 'taskmon pid PID'
  5  device not found: the taskmonitor module is not loaded
     (sudo modprobe taskmonitor, or sudo insmod taskmonitor.ko)
  6  permission denied: run as root, or give a group access to the device
  7  not a taskmonitor device, or the loaded module is too old

Examples:
  sudo taskmon pid "$(pidof -s myapp)"
  sudo taskmon get
  sudo taskmon watch --interval 0.5 --count 10
  sudo taskmon --json get
  sudo taskmon stats $$ 1
)HELP";
}

std::string version_text()
{
    return std::string("taskmon ") + TASKMON_VERSION_STRING + " (libtaskmon " + taskmon::version() +
           ")\n";
}

} // namespace taskmon::cli
