// SPDX-License-Identifier: GPL-2.0-only
#include "options.hpp"

#include "hidden.hpp"
#include "ps.hpp"
#include "top.hpp"

#include <taskmon/taskmon.hpp>

#include <getopt.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <sstream>
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

// ---- the declarations: every command and option, once ---------------------

// The key of a long option without a short one (not a letter: getopt_long
// returns it, and the help shows no short form).
constexpr char no_headers_key = '\x02';
// After `top`, -d is top's delay: the device is then --device only.
constexpr char device_long_key = '\x03';

bool has_short(char key)
{
    return std::isalnum(static_cast<unsigned char>(key)) != 0;
}
// getopt_long's tables and the help text are both made from these.

struct OptionSpec {
    char key;              // the short option, also getopt_long's return value
    const char* name;      // the long option
    const char* value;     // the argument's name in the help, or nullptr: a flag
    std::string_view help; // '\n' continues on the next line of the help
};

// One line of a command's help: its operands and what it does.
struct Form {
    std::string_view operands;
    std::string_view help;
};

struct CommandSpec {
    Command command;
    std::string_view name;
    std::vector<Form> forms;
    std::vector<OptionSpec> options; // the command's own options, given after it
};

const std::vector<OptionSpec>& global_options()
{
    static const std::vector<OptionSpec> options{
        {'d', "device", "PATH", "device file (default /dev/taskmonitor)"},
        {'j', "json", nullptr, "print JSON: one object per line"},
        {'r', "raw", nullptr,
         "tables in plain numbers: seconds and bytes without\n"
         "units, percentages without '%' (for awk, sort -n)"},
        {'h', "help", nullptr, "show this help (after a command: its help) and exit"},
        {'V', "version", nullptr, "show the version and exit"},
    };
    return options;
}

const std::vector<CommandSpec>& commands()
{
    static const std::vector<CommandSpec> table{
        {Command::get,
         "get",
         {{"", "print the target's pid and CPU time (user, system, total)"}},
         {}},
        {Command::watch,
         "watch",
         {{"[PID...]", "print the CPU time and CPU use of each PID (default:\n"
                       "the target) every interval, as the kernel samples\n"
                       "them, and a line when one exits; ends when all exited"}},
         {{'i', "interval", "S",
           "seconds between samples (default 1; 0.01 to 3600 with\n"
           "PIDs, else up to 86400; e.g. 0.5)"},
          {'n', "count", "N", "stop after N samples of each (default: until Ctrl-C)"}}},
        {Command::start, "start", {{"", "start the module's monitoring thread (root)"}}, {}},
        {Command::stop, "stop", {{"", "stop the module's monitoring thread (root)"}}, {}},
        {Command::pid,
         "pid",
         {{"", "print the target's pid"}, {"PID", "monitor process PID from now on (root)"}},
         {}},
        {Command::stats,
         "stats",
         {{"PID...", "print the CPU time and memory of each PID (any\n"
                     "process; the target is neither read nor changed)"}},
         {{'t', "threads", nullptr, "each PID is a thread id: that thread's own figures"}}},
        {Command::hidden,
         "hidden",
         {{"", "print the processes the kernel runs that /proc hides or\n"
               "misrepresents, one a line; status 0 if none, 1 if some"}},
         {{'w', "watch", "S",
           "check every S seconds and print the changes, until\n"
           "Ctrl-C (status: the last check's)"},
          {'s', "settle", "S",
           "seconds before candidates are checked again\n"
           "(default 0.2; 0 to 3600)"},
          {'p', "proc", "PATH", "the proc file system to check (default /proc)"}}},
        {Command::ps,
         "ps",
         {{"", "list every process the kernel runs, as ps -e does,\n"
               "hidden ones too (marked in column HIDDEN)"}},
         {{'p', "pid", "PID,...", "only these pids (comma-separated, repeatable)"},
          {'C', "command", "NAME,...", "only the processes whose comm is NAME"},
          {'u', "user", "USER,...", "only the processes of effective USER (name or uid)"},
          {'o', "format", "COL,...",
           "the columns, ps's names: pid ppid user ruser uid\n"
           "ruid group rgroup gid rgid s stat nlwp rss vsz\n"
           "rsan rsfi rssh time etime etimes start lstart pcpu\n"
           "pmem minflt majflt nvcsw nivcsw hidden comm (and\n"
           "ps's aliases)"},
          {'k', "sort", "[-]COL,...", "sort by these columns, '-' descending: --sort=-rss"},
          {no_headers_key, "no-headers", nullptr, "print no header line"}}},
        {Command::top,
         "top",
         {{"", "every interval, every process that used CPU in it, those\n"
               "that started and exited within it too (marked), sorted\n"
               "by CPU; a full-screen display on a terminal (keys: q\n"
               "quit, P M T N sort, < > move the sort column)"}},
         {{'b', "batch", nullptr, "batch mode: print each interval (also on a terminal)"},
          {'d', "delay", "S",
           "seconds between updates (default 3, as top; 0.01 to\n"
           "86400). After top, the device is --device only"},
          {'n', "iterations", "N", "stop after N intervals (default: until q or Ctrl-C)"},
          {'p', "pid", "PID,...", "only these pids, shown whether they used CPU or not"}}},
        {Command::exits,
         "exits",
         {{"", "print a line for every process that exits, as it\n"
               "exits: pid, parent, user, exit status, CPU time,\n"
               "peak memory, lifetime, name; until Ctrl-C"}},
         {}},
        {Command::help, "help", {{"[COMMAND]", "show this help, or COMMAND's"}}, {}},
    };
    return table;
}

const CommandSpec& spec_of(Command command)
{
    const auto& table = commands();
    const auto it = std::find_if(table.begin(), table.end(),
                                 [command](const CommandSpec& c) { return c.command == command; });
    return it != table.end() ? *it : table.back(); // version has none: help's
}

const CommandSpec& command_named(const std::string& name)
{
    for (const auto& spec : commands()) {
        if (spec.name == name) {
            return spec;
        }
    }
    throw UsageError(
        "unknown command '" + name +
        "'; the commands are get, watch, start, stop, pid, stats, hidden, ps, top, exits and help");
}

// The command, other than @p except, that has option @p key (or long @p name).
const CommandSpec* owner_of(char key, std::string_view name, const CommandSpec* except)
{
    for (const auto& spec : commands()) {
        for (const auto& option : spec.options) {
            if (&spec != except && (option.key == key || option.name == name)) {
                return &spec;
            }
        }
    }
    return nullptr;
}

// ---- help -------------------------------------------------------------------

constexpr std::size_t help_column = 25;

// "  LEFT   TEXT": TEXT from help_column on, its '\n's continued there too.
void help_line(std::ostream& out, std::size_t indent, const std::string& left,
               std::string_view text)
{
    std::string line(indent, ' ');
    line += left;
    if (line.size() + 1 > help_column) {
        out << line << '\n';
        line.clear();
    }
    line.resize(help_column, ' ');
    for (std::size_t pos = 0;;) {
        const std::size_t nl = text.find('\n', pos);
        out << line << text.substr(pos, nl - pos) << '\n';
        if (nl == std::string_view::npos) {
            break;
        }
        line.assign(help_column, ' ');
        pos = nl + 1;
    }
}

std::string option_left(const OptionSpec& o)
{
    std::string left = has_short(o.key) ? std::string("-") + o.key + ", --" + o.name
                                        : std::string("    --") + o.name;
    if (o.value != nullptr) {
        left += std::string(" ") + o.value;
    }
    return left;
}

// "watch [-i S] [-n N]", "pid PID", "stats [-t] PID...".
std::string command_synopsis(const CommandSpec& spec, const Form& form)
{
    std::string text(spec.name);
    for (const auto& o : spec.options) {
        const std::string flag =
            has_short(o.key) ? std::string("-") + o.key : std::string("--") + o.name;
        text += " [" + flag + (o.value ? std::string(" ") + o.value : "") + "]";
    }
    if (!form.operands.empty()) {
        text += " ";
        text += form.operands;
    }
    return text;
}

void global_options_help(std::ostream& out)
{
    out << "Options (before or after the command):\n";
    for (const auto& o : global_options()) {
        help_line(out, 2, option_left(o), o.help);
    }
}

constexpr std::string_view help_intro = R"HELP(
Read and control taskmonitor.ko, which measures the CPU time of one process
(the target) from inside the kernel, through /dev/taskmonitor.
)HELP";

constexpr std::string_view help_tail = R"HELP(
Reading (get, watch, pid, stats, hidden, ps, top, exits) opens the device
read-only: root, or a member of the group taskmon. Steering (start, stop,
pid PID) opens it read-write and needs root.

Times are CPU seconds summed over all threads of the target. In 'watch', cpu
is the share of one CPU the target used during the last interval (above 100 %
for a process busy on several CPUs).

Exit status:
  0  success (also when the reader of the output went away, as in '| head')
  1  any other runtime error; for hidden: hidden processes were found
  2  usage error: bad command, option or argument
  3  no such process: the pid does not exist, or the target exited
  4  no target set: set one with 'taskmon pid PID'
  5  device not found: the taskmonitor module is not loaded
     (sudo modprobe taskmonitor, or sudo insmod taskmonitor.ko)
  6  permission denied: join the group taskmon to read, be root to steer
  7  not a taskmonitor device, or the loaded module is too old
  8  hidden: any other runtime error (e.g. --proc cannot be read)

Examples:
  sudo taskmon pid "$(pidof -s myapp)"
  taskmon get
  taskmon watch --interval 0.5 --count 10
  taskmon watch "$(pidof -s a)" "$(pidof -s b)" --interval 0.1
  taskmon -j get
  taskmon stats $$ 1
  taskmon hidden --watch 60 --json
  taskmon ps -o pid,user,rss,comm --sort=-rss
  taskmon ps --raw --no-headers -o rss,comm | sort -n
  taskmon top -b -n 2 -d 5 --json
  taskmon exits --json
)HELP";

// ---- getopt_long ------------------------------------------------------------

// A writable, NULL-terminated argv for getopt_long: "taskmon" and @p args.
// The '+' and '-' modes used below never permute it.
class Argv {
public:
    template <typename It>
    Argv(It first, It last) : args_{std::string("taskmon")}
    {
        args_.insert(args_.end(), first, last);
        for (auto& arg : args_) {
            pointers_.push_back(arg.data());
        }
        pointers_.push_back(nullptr);
    }
    [[nodiscard]] int argc() const { return static_cast<int>(args_.size()); }
    [[nodiscard]] char** argv() { return pointers_.data(); }
    [[nodiscard]] const std::string& operator[](int i) const
    {
        return args_.at(static_cast<std::size_t>(i));
    }

private:
    std::vector<std::string> args_;
    std::vector<char*> pointers_;
};

// One getopt_long pass over @p argv with @p options; @p mode is '+' (stop at
// the first operand) or '-' (return operands in order, as key 1).
class Getopt {
public:
    Getopt(Argv& argv, char mode, const std::vector<const OptionSpec*>& options,
           const CommandSpec* command)
        : argv_(argv), options_(options), command_(command)
    {
        short_ = std::string(1, mode) + ":"; // ':': report a missing argument as ':'
        for (const OptionSpec* o : options_) {
            if (has_short(o->key)) {
                short_ += o->key;
                if (o->value != nullptr) {
                    short_ += ':';
                }
            }
            long_.push_back(
                {o->name, o->value != nullptr ? required_argument : no_argument, nullptr, o->key});
        }
        long_.push_back({nullptr, 0, nullptr, 0});
        optind = 0; // glibc: start afresh (a previous parse's state is reset)
        opterr = 0; // the messages below say more than getopt's
    }

    // The next option's key (1: an operand, in optarg), or -1 at the end.
    int next()
    {
        const char* optstring = short_.c_str();
        // NOLINTNEXTLINE(concurrency-mt-unsafe): parsing happens once, before any thread
        const int key = getopt_long(argv_.argc(), argv_.argv(), optstring, long_.data(), nullptr);
        if (key == '?') {
            throw UsageError(unknown());
        }
        if (key == ':') {
            const OptionSpec& o = find(optopt);
            throw UsageError(std::string("option --") + o.name + " needs an argument, " + o.value);
        }
        return key;
    }

    [[nodiscard]] const OptionSpec& find(int key) const
    {
        for (const OptionSpec* o : options_) {
            if (o->key == key) {
                return *o;
            }
        }
        throw std::logic_error("taskmon: no option with key " + std::to_string(key));
    }

private:
    // What is wrong with the option getopt_long did not know.
    [[nodiscard]] std::string unknown() const
    {
        std::string text;
        if (optopt != 0) {
            const auto known = std::find_if(options_.begin(), options_.end(),
                                            [](const OptionSpec* o) { return o->key == optopt; });
            if (known != options_.end()) { // "--json=yes"
                return std::string("option --") + (*known)->name + " takes no argument";
            }
            text = std::string("-") + static_cast<char>(optopt);
        } else { // an unknown or ambiguous long option, just passed
            text = argv_[optind - 1];
            text = text.substr(0, text.find('='));
        }
        const std::string_view name =
            text.rfind("--", 0) == 0 ? std::string_view(text).substr(2) : std::string_view{};
        const char key = text.size() == 2 && text[0] == '-' ? text[1] : '\0';
        if (const CommandSpec* owner = owner_of(key, name, command_)) {
            return "option '" + text + "' belongs to '" + std::string(owner->name) +
                   "': give it after the command, e.g. 'taskmon " + std::string(owner->name) + " " +
                   text + " ...'";
        }
        if (command_ != nullptr &&
            (command_->command == Command::pid || command_->command == Command::stats ||
             command_->command == Command::watch) &&
            std::isdigit(static_cast<unsigned char>(key)) != 0) {
            return "invalid pid: '" + text + "' is not an option, and a pid is a positive integer";
        }
        return "unknown option '" + text + "'";
    }

    Argv& argv_;
    const std::vector<const OptionSpec*>& options_;
    const CommandSpec* command_;
    std::string short_;
    std::vector<option> long_;
};

// A global option: true if parsing ends here (--help, --version).
bool apply_global(Options& opts, int key, const char* value)
{
    switch (key) {
    case 'd':
    case device_long_key:
        opts.device = value;
        if (opts.device.empty()) {
            throw UsageError("option --device needs a non-empty PATH, e.g. /dev/taskmonitor");
        }
        return false;
    case 'j':
        opts.json = true;
        return false;
    case 'r':
        opts.raw = true;
        return false;
    case 'h':
        opts.command = Command::help;
        return true;
    case 'V':
        opts.command = Command::version;
        return true;
    default:
        throw std::logic_error("taskmon: unhandled option");
    }
}

void check_operands(Options& opts, const CommandSpec& spec, const std::vector<std::string>& words)
{
    const std::string name(spec.name);
    switch (spec.command) {
    case Command::pid:
        if (words.size() > 1) {
            throw UsageError("'pid' takes at most one argument, the PID (got " +
                             std::to_string(words.size()) + ")");
        }
        if (!words.empty()) {
            opts.pid = parse_pid(words.front());
        }
        return;
    case Command::watch:
        for (const auto& word : words) {
            opts.pids.push_back(parse_pid(word));
        }
        return;
    case Command::stats:
        if (words.empty()) {
            throw UsageError("'stats' needs at least one PID, e.g. 'taskmon stats $$ 1'");
        }
        for (const auto& word : words) {
            opts.pids.push_back(parse_pid(word));
        }
        return;
    case Command::help:
        if (words.size() > 1) {
            throw UsageError("'help' takes at most one argument, a COMMAND");
        }
        if (!words.empty()) {
            opts.help_for = command_named(words.front()).command;
        }
        return;
    default:
        if (!words.empty()) {
            throw UsageError("'" + name + "' takes no arguments (got '" + words.front() + "')");
        }
    }
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
    Argv argv(args.begin(), args.end());
    std::vector<const OptionSpec*> options;
    for (const auto& o : global_options()) {
        options.push_back(&o);
    }

    // The global options, up to the command.
    Getopt globals(argv, '+', options, nullptr);
    for (int key = globals.next(); key != -1; key = globals.next()) {
        if (apply_global(opts, key, optarg)) {
            return opts;
        }
    }
    if (optind >= argv.argc()) {
        throw UsageError(
            "no command given; the commands are get, watch, start, stop, pid, stats, hidden, ps, "
            "top, exits and help");
    }
    const CommandSpec& spec = command_named(argv[optind]);
    opts.command = spec.command;

    // The command's options, global options and operands, in any order; after
    // "--" only operands.
    Argv rest(args.end() - (argv.argc() - optind - 1), args.end());
    static const OptionSpec device_long{device_long_key, "device", "PATH", ""};
    if (spec.command == Command::top) {
        std::replace(options.begin(), options.end(), &global_options().front(), &device_long);
        opts.interval = std::chrono::seconds(3);
    }
    for (const auto& o : spec.options) {
        options.push_back(&o);
    }
    std::vector<std::string> words;
    Getopt local(rest, '-', options, &spec);
    for (int key = local.next(); key != -1; key = local.next()) {
        if (spec.command == Command::hidden && apply_hidden_option(opts, key, optarg)) {
            continue;
        }
        if (spec.command == Command::ps && key == no_headers_key) {
            opts.no_headers = true;
            continue;
        }
        if (spec.command == Command::ps && apply_ps_option(opts, key, optarg)) {
            continue;
        }
        if (spec.command == Command::top && key == 'd') {
            opts.interval = parse_interval(optarg);
            continue;
        }
        if (spec.command == Command::top && apply_top_option(opts, key, optarg)) {
            continue;
        }
        switch (key) {
        case 1:
            words.emplace_back(optarg);
            break;
        case 'i':
            opts.interval = parse_interval(optarg);
            break;
        case 'n':
            opts.count = parse_count(optarg);
            break;
        case 't':
            opts.threads = true;
            break;
        default:
            if (apply_global(opts, key, optarg)) {
                if (opts.command == Command::help && spec.command != Command::help) {
                    opts.help_for = spec.command;
                }
                return opts;
            }
        }
    }
    for (int i = optind; i < rest.argc(); ++i) {
        words.push_back(rest[i]);
    }
    check_operands(opts, spec, words);
    return opts;
}

std::string help_text(std::optional<Command> command)
{
    std::ostringstream out;
    if (command && *command != Command::help && *command != Command::version) {
        const CommandSpec& spec = spec_of(*command);
        const char* lead = "Usage: ";
        for (const auto& form : spec.forms) {
            out << lead << "taskmon [OPTIONS] " << command_synopsis(spec, form) << '\n';
            lead = "       ";
        }
        out << '\n';
        for (const auto& form : spec.forms) {
            help_line(out, 2, command_synopsis(spec, form), form.help);
        }
        if (!spec.options.empty()) {
            out << "\nOptions of " << spec.name << ":\n";
            for (const auto& o : spec.options) {
                help_line(out, 2, option_left(o), o.help);
            }
        }
        out << '\n';
        global_options_help(out);
        return out.str();
    }
    out << "Usage: taskmon [OPTIONS] COMMAND [ARGS]\n" << help_intro << "\nCommands:\n";
    for (const auto& spec : commands()) {
        for (const auto& form : spec.forms) {
            help_line(out, 2, command_synopsis(spec, form), form.help);
        }
        for (const auto& o : spec.options) {
            help_line(out, 4, option_left(o), o.help);
        }
    }
    out << '\n';
    global_options_help(out);
    out << help_tail;
    return out.str();
}

std::string version_text()
{
    return std::string("taskmon ") + TASKMON_VERSION_STRING + " (libtaskmon " + taskmon::version() +
           ")\n";
}

bool steers(const Options& opts) noexcept
{
    return opts.command == Command::start || opts.command == Command::stop ||
           (opts.command == Command::pid && opts.pid.has_value());
}

} // namespace taskmon::cli
