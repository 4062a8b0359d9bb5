// SPDX-License-Identifier: GPL-2.0-only
#include "ps.hpp"

#include "id_names.hpp"

#include "exit_codes.hpp"
#include "format.hpp"
#include "output.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <limits>
#include <ostream>
#include <sstream>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace taskmon::cli {

namespace {

using std::chrono::nanoseconds;
constexpr std::int64_t ns_per_s = 1'000'000'000;

// ---- cells ------------------------------------------------------------------

// One value of one column: what sorting compares, --raw and JSON print.
struct Cell {
    enum class Type { none, integer, duration, real, text, reasons } type = Type::none;
    std::int64_t integer = 0; // integer; duration: nanoseconds
    double real = 0;
    std::string text;       // text: the bytes as the process chose them
    std::uint32_t bits = 0; // reasons: HiddenReason bits
};

template <typename T>
Cell integer(const std::optional<T>& value)
{
    Cell c;
    if (value) {
        c.type = Cell::Type::integer;
        c.integer = static_cast<std::int64_t>(*value);
    }
    return c;
}

Cell duration(const std::optional<nanoseconds>& value)
{
    Cell c;
    if (value) {
        c.type = Cell::Type::duration;
        c.integer = value->count();
    }
    return c;
}

Cell real(const std::optional<double>& value)
{
    Cell c;
    if (value) {
        c.type = Cell::Type::real;
        c.real = *value;
    }
    return c;
}

Cell text(std::optional<std::string> value)
{
    Cell c;
    if (value) {
        c.type = Cell::Type::text;
        c.text = std::move(*value);
    }
    return c;
}

// As an ostream's std::fixed with std::setprecision(@p precision) prints it
// (the C locale, which taskmon never changes), without building a stream
// for each cell.
std::string fixed(double value, int precision)
{
    std::array<char, 64> buf{};
    const int n = std::snprintf(buf.data(), buf.size(), "%.*f", precision, value);
    if (n < 0) {
        return "-";
    }
    if (static_cast<std::size_t>(n) < buf.size()) {
        return std::string(buf.data(), static_cast<std::size_t>(n));
    }
    std::string big(static_cast<std::size_t>(n) + 1, '\0');
    std::snprintf(big.data(), big.size(), "%.*f", precision, value);
    big.resize(static_cast<std::size_t>(n));
    return big;
}

std::string reasons_text(std::uint32_t bits)
{
    std::string out;
    for (const auto& name : reason_names(bits)) {
        out += (out.empty() ? "" : ",") + name;
    }
    return out.empty() ? "-" : out;
}

// The --raw form of a cell: plain numbers in base units.
std::string raw_text(const Cell& c)
{
    switch (c.type) {
    case Cell::Type::none:
        return "-";
    case Cell::Type::integer:
        return std::to_string(c.integer);
    case Cell::Type::duration:
        return raw_seconds(nanoseconds(c.integer));
    case Cell::Type::real:
        return fixed(c.real, 2);
    case Cell::Type::text:
        return safe_text(c.text);
    case Cell::Type::reasons:
        return reasons_text(c.bits);
    }
    return "-";
}

std::string json_member(const std::string& key, const Cell& c)
{
    switch (c.type) {
    case Cell::Type::none:
        return json_string(key) + ": null";
    case Cell::Type::integer:
        return json_string(key) + ": " + std::to_string(c.integer);
    case Cell::Type::duration:
        return json_string(key) + ": " + raw_seconds(nanoseconds(c.integer));
    case Cell::Type::real:
        return json_string(key) + ": " + fixed(c.real, 2);
    case Cell::Type::text:
        return json_bytes_member(key, c.text);
    case Cell::Type::reasons: {
        std::string list;
        for (const auto& name : reason_names(c.bits)) {
            list += (list.empty() ? "" : ", ") + json_string(name);
        }
        return json_string(key) + ": [" + list + "]";
    }
    }
    return json_string(key) + ": null";
}

// "[DD-]HH:MM:SS" (time) or "[[DD-]HH:]MM:SS" (etime), as ps prints them.
std::string clock_text(nanoseconds ns, bool hours_always)
{
    std::int64_t s = std::max<std::int64_t>(ns.count(), 0) / ns_per_s;
    const auto days = static_cast<long long>(s / 86400);
    s %= 86400;
    const auto hours = static_cast<int>(s / 3600);
    const auto two = [](std::string& out, int value) { // 0 to 99, as "%02d"
        out += static_cast<char>('0' + value / 10);
        out += static_cast<char>('0' + value % 10);
    };
    std::string out;
    if (days > 0) {
        out = std::to_string(days);
        out += '-';
    }
    if (days > 0 || hours_always || hours > 0) {
        two(out, hours);
        out += ':';
    }
    two(out, static_cast<int>((s % 3600) / 60));
    out += ':';
    two(out, static_cast<int>(s % 60));
    return out;
}

enum class TimeForm { clock, day, full };

std::string local_time(nanoseconds since_epoch, TimeForm form)
{
    const auto t = static_cast<std::time_t>(since_epoch.count() / ns_per_s);
    std::tm tm{};
    localtime_r(&t, &tm);
    std::array<char, 64> buf{};
    std::size_t n = 0;
    switch (form) {
    case TimeForm::clock:
        n = std::strftime(buf.data(), buf.size(), "%H:%M:%S", &tm);
        break;
    case TimeForm::day:
        n = std::strftime(buf.data(), buf.size(), "%b %d", &tm);
        break;
    case TimeForm::full:
        n = std::strftime(buf.data(), buf.size(), "%a %b %e %H:%M:%S %Y", &tm);
        break;
    }
    return std::string(buf.data(), n);
}

// ---- the columns --------------------------------------------------------------

using CellOf = std::function<Cell(const PsRow&, const PsContext&)>;
using TextOf = std::function<std::string(const Cell&, const PsContext&)>;

struct Column {
    const char* name;
    const char* header;
    std::vector<const char*> aliases;
    bool left; // left-aligned (text)
    // The groups of Stats fields the column shows: what TM_STATS_BATCH is
    // asked for (a column of the thread walk's or RSS's costs them).
    Fields fields;
    CellOf cell;
    TextOf human; // the text form without --raw; nullptr: as --raw
};

std::string bytes_human(const Cell& c, const PsContext& /*context*/)
{
    return c.type == Cell::Type::none ? "-" : format_bytes(static_cast<std::uint64_t>(c.integer));
}

std::optional<nanoseconds> elapsed(const PsRow& r, const PsContext& x)
{
    if (!r.stats.start_time) {
        return std::nullopt;
    }
    return x.boottime - *r.stats.start_time;
}

std::optional<nanoseconds> started(const PsRow& r, const PsContext& x)
{
    if (!r.stats.start_time) {
        return std::nullopt;
    }
    return x.realtime - x.boottime + *r.stats.start_time;
}

const std::vector<Column>& all_columns()
{
    using R = const PsRow&;
    using X = const PsContext&;
    static const std::vector<Column> table{
        {"pid",
         "PID",
         {"tgid"},
         false,
         Field::ids,
         [](R r, X) { return integer(std::optional(r.stats.pid)); },
         nullptr},
        {"ppid",
         "PPID",
         {},
         false,
         Field::ppid,
         [](R r, X) { return integer(r.stats.ppid); },
         nullptr},
        {"user",
         "USER",
         {"euser", "uname"},
         true,
         Field::creds,
         [](R r, X) { return r.stats.euid ? text(r.user) : Cell{}; },
         nullptr},
        {"ruser",
         "RUSER",
         {},
         true,
         Field::creds,
         [](R r, X) { return r.stats.uid ? text(r.ruser) : Cell{}; },
         nullptr},
        {"uid",
         "UID",
         {"euid"},
         false,
         Field::creds,
         [](R r, X) { return integer(r.stats.euid); },
         nullptr},
        {"ruid",
         "RUID",
         {},
         false,
         Field::creds,
         [](R r, X) { return integer(r.stats.uid); },
         nullptr},
        {"group",
         "GROUP",
         {"egroup"},
         true,
         Field::creds,
         [](R r, X) { return r.stats.egid ? text(r.group) : Cell{}; },
         nullptr},
        {"rgroup",
         "RGROUP",
         {},
         true,
         Field::creds,
         [](R r, X) { return r.stats.gid ? text(r.rgroup) : Cell{}; },
         nullptr},
        {"gid",
         "GID",
         {"egid"},
         false,
         Field::creds,
         [](R r, X) { return integer(r.stats.egid); },
         nullptr},
        {"rgid",
         "RGID",
         {},
         false,
         Field::creds,
         [](R r, X) { return integer(r.stats.gid); },
         nullptr},
        {"s",
         "S",
         {"state"},
         true,
         Field::state,
         [](R r, X) {
             return text(r.stats.state ? std::optional(std::string(1, *r.stats.state))
                                       : std::nullopt);
         },
         nullptr},
        {"stat",
         "STAT",
         {},
         true,
         Field::state,
         [](R r, X) {
             return text(r.stats.state ? std::optional(std::string(1, *r.stats.state))
                                       : std::nullopt);
         },
         nullptr},
        {"nlwp",
         "NLWP",
         {"thcount"},
         false,
         Field::threads,
         [](R r, X) { return integer(r.stats.threads); },
         nullptr},
        {"rss",
         "RSS",
         {"rssize", "rsz"},
         false,
         Field::rss,
         [](R r, X) { return integer(r.stats.rss_bytes()); },
         bytes_human},
        {"vsz",
         "VSZ",
         {"vsize"},
         false,
         Field::vsize,
         [](R r, X) { return integer(r.stats.vsize_bytes); },
         bytes_human},
        {"rsan",
         "RSAN",
         {},
         false,
         Field::rss,
         [](R r, X) { return integer(r.stats.rss_anon_bytes); },
         bytes_human},
        {"rsfi",
         "RSFI",
         {},
         false,
         Field::rss,
         [](R r, X) { return integer(r.stats.rss_file_bytes); },
         bytes_human},
        {"rssh",
         "RSSH",
         {},
         false,
         Field::rss,
         [](R r, X) { return integer(r.stats.rss_shmem_bytes); },
         bytes_human},
        {"time",
         "TIME",
         {"cputime"},
         false,
         Field::cpu,
         [](R r, X) { return duration(r.stats.cpu_time()); },
         [](const Cell& c, X) {
             return c.type == Cell::Type::none ? "-" : clock_text(nanoseconds(c.integer), true);
         }},
        {"etime",
         "ELAPSED",
         {},
         false,
         Field::start_time,
         [](R r, X x) { return duration(elapsed(r, x)); },
         [](const Cell& c, X) {
             return c.type == Cell::Type::none ? "-" : clock_text(nanoseconds(c.integer), false);
         }},
        {"etimes",
         "ELAPSED",
         {},
         false,
         Field::start_time,
         [](R r, X x) {
             const auto e = elapsed(r, x);
             return integer(e ? std::optional<std::int64_t>(e->count() / ns_per_s) : std::nullopt);
         },
         nullptr},
        {"start",
         "STARTED",
         {"stime", "start_time"},
         true,
         Field::start_time,
         [](R r, X x) { return duration(started(r, x)); },
         [](const Cell& c, X x) -> std::string {
             if (c.type == Cell::Type::none) {
                 return "-";
             }
             const bool today = x.realtime.count() - c.integer < 86400 * ns_per_s;
             return local_time(nanoseconds(c.integer), today ? TimeForm::clock : TimeForm::day);
         }},
        {"lstart",
         "STARTED",
         {},
         true,
         Field::start_time,
         [](R r, X x) { return duration(started(r, x)); },
         [](const Cell& c, X) -> std::string {
             return c.type == Cell::Type::none ? "-"
                                               : local_time(nanoseconds(c.integer), TimeForm::full);
         }},
        {"pcpu",
         "%CPU",
         {"%cpu"},
         false,
         Field::cpu | Field::start_time,
         [](R r, X x) {
             const auto cpu = r.stats.cpu_time();
             const auto e = elapsed(r, x);
             return real(cpu && e && e->count() > 0
                             ? std::optional(100.0 * static_cast<double>(cpu->count()) /
                                             static_cast<double>(e->count()))
                             : std::nullopt);
         },
         [](const Cell& c, X) { return c.type == Cell::Type::none ? "-" : fixed(c.real, 1); }},
        {"pmem",
         "%MEM",
         {"%mem"},
         false,
         Field::rss,
         [](R r, X x) {
             const auto rss = r.stats.rss_bytes();
             return real(rss && x.memory_bytes > 0
                             ? std::optional(100.0 * static_cast<double>(*rss) /
                                             static_cast<double>(x.memory_bytes))
                             : std::nullopt);
         },
         [](const Cell& c, X) { return c.type == Cell::Type::none ? "-" : fixed(c.real, 1); }},
        {"minflt",
         "MINFL",
         {"min_flt"},
         false,
         Field::faults,
         [](R r, X) { return integer(r.stats.minor_faults); },
         nullptr},
        {"majflt",
         "MAJFL",
         {"maj_flt"},
         false,
         Field::faults,
         [](R r, X) { return integer(r.stats.major_faults); },
         nullptr},
        {"nvcsw",
         "NVCSW",
         {},
         false,
         Field::ctxsw,
         [](R r, X) { return integer(r.stats.voluntary_ctxsw); },
         nullptr},
        {"nivcsw",
         "NIVCSW",
         {},
         false,
         Field::ctxsw,
         [](R r, X) { return integer(r.stats.involuntary_ctxsw); },
         nullptr},
        {"hidden",
         "HIDDEN",
         {},
         true,
         Fields{},
         [](R r, X) {
             Cell c;
             c.type = Cell::Type::reasons;
             c.bits = r.hidden;
             return c;
         },
         nullptr},
        {"comm",
         "COMMAND",
         {"ucomm", "ucmd", "fname"},
         true,
         Field::comm,
         [](R r, X) { return text(r.stats.comm); },
         nullptr},
    };
    return table;
}

const Column& column(const std::string& name)
{
    for (const auto& c : all_columns()) {
        if (name == c.name ||
            std::find_if(c.aliases.begin(), c.aliases.end(),
                         [&name](const char* a) { return name == a; }) != c.aliases.end()) {
            return c;
        }
    }
    std::string names;
    for (const auto& c : all_columns()) {
        names += (names.empty() ? "" : " ") + std::string(c.name);
    }
    throw UsageError("unknown column '" + name + "'; the columns are " + names);
}

std::string cell_text(const Column& col, const Cell& c, const PsContext& x)
{
    return x.raw || !col.human ? raw_text(c) : col.human(c, x);
}

// -1, 0, 1: @p a before, with, after @p b; an empty cell first.
int compare(const Cell& a, const Cell& b)
{
    if (a.type == Cell::Type::none || b.type == Cell::Type::none) {
        return static_cast<int>(b.type == Cell::Type::none) -
               static_cast<int>(a.type == Cell::Type::none);
    }
    switch (a.type) {
    case Cell::Type::real:
        return a.real < b.real ? -1 : (b.real < a.real ? 1 : 0);
    case Cell::Type::text:
        return a.text.compare(b.text) < 0 ? -1 : (a.text == b.text ? 0 : 1);
    case Cell::Type::reasons:
        return a.bits < b.bits ? -1 : (b.bits < a.bits ? 1 : 0);
    default:
        return a.integer < b.integer ? -1 : (b.integer < a.integer ? 1 : 0);
    }
}

// "a,b" and repeated options: the words, none empty.
std::vector<std::string> split_list(const std::string& value, const char* what)
{
    std::vector<std::string> words;
    std::string word;
    std::istringstream in(value);
    while (std::getline(in, word, ',')) {
        if (word.empty()) {
            throw UsageError(std::string("empty ") + what + " in '" + value +
                             "': give a comma-separated list, e.g. 'a,b'");
        }
        words.push_back(word);
    }
    if (words.empty()) {
        throw UsageError(std::string("option needs a ") + what + ", e.g. 'a,b'");
    }
    return words;
}

// ---- reading ------------------------------------------------------------------

nanoseconds clock_ns(clockid_t clock)
{
    timespec ts{};
    ::clock_gettime(clock, &ts);
    return std::chrono::seconds(ts.tv_sec) + nanoseconds(ts.tv_nsec);
}

bool pid_name(const char* name, pid_t& pid)
{
    if (*name < '1' || *name > '9') {
        return false;
    }
    long value = 0;
    for (const char* p = name; *p != '\0'; ++p) {
        if (*p < '0' || *p > '9' || value > std::numeric_limits<pid_t>::max() / 10) {
            return false;
        }
        value = value * 10 + (*p - '0');
    }
    pid = static_cast<pid_t>(value);
    return true;
}

struct LinuxDirent64 {
    ino64_t d_ino;
    off64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[1];
};

// The pids /proc lists: with the getdents64 system call (what a kernel
// rootkit filters) and with libc's readdir() (what an LD_PRELOAD one does).
void list_proc(std::unordered_set<pid_t>& getdents, std::unordered_set<pid_t>& readdir_pids)
{
    const int fd = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), "cannot open /proc");
    }
    alignas(8) std::array<char, 32768> buf{};
    for (;;) {
        const long n = ::syscall(SYS_getdents64, fd, buf.data(), buf.size());
        if (n < 0) {
            const int e = errno;
            ::close(fd);
            throw std::system_error(e, std::generic_category(), "cannot list /proc");
        }
        if (n == 0) {
            break;
        }
        for (long off = 0; off < n;) {
            const auto* d = reinterpret_cast<const LinuxDirent64*>(buf.data() + off);
            pid_t pid = 0;
            if (pid_name(d->d_name, pid)) {
                getdents.insert(pid);
            }
            off += d->d_reclen;
        }
    }
    ::close(fd);

    DIR* dir = ::opendir("/proc");
    if (dir == nullptr) {
        throw std::system_error(errno, std::generic_category(), "cannot open /proc");
    }
    while (const dirent* d = ::readdir(dir)) {
        pid_t pid = 0;
        if (pid_name(d->d_name, pid)) {
            readdir_pids.insert(pid);
        }
    }
    ::closedir(dir);
}

uid_t user_id(const std::string& user)
{
    pid_t number = 0;
    if (user == "0" || pid_name(user.c_str(), number)) {
        return static_cast<uid_t>(user == "0" ? 0 : number);
    }
    passwd pw{};
    passwd* found = nullptr;
    std::array<char, 4096> buf{};
    if (::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
        throw UsageError("user '" + user + "' does not exist: give a user name or a uid");
    }
    return found->pw_uid;
}

bool wants(const std::vector<std::string>& columns, std::initializer_list<const char*> names)
{
    return std::any_of(columns.begin(), columns.end(), [&names](const std::string& c) {
        return std::find_if(names.begin(), names.end(), [&c](const char* n) { return c == n; }) !=
               names.end();
    });
}

} // namespace

bool apply_ps_option(Options& opts, int key, const char* value)
{
    switch (key) {
    case 'p':
        for (const auto& word : split_list(value, "PID")) {
            opts.pids.push_back(parse_pid(word));
        }
        return true;
    case 'C':
        for (auto& word : split_list(value, "NAME")) {
            opts.names.push_back(std::move(word));
        }
        return true;
    case 'u':
        for (auto& word : split_list(value, "USER")) {
            opts.users.push_back(std::move(word));
        }
        return true;
    case 'o':
        for (const auto& word : split_list(value, "column")) {
            opts.columns.push_back(ps_column(word));
        }
        return true;
    case 'k':
        for (const auto& word : split_list(value, "sort key")) {
            const bool sign = word.front() == '-' || word.front() == '+';
            const std::string name = ps_column(sign ? word.substr(1) : word);
            opts.sort.push_back(word.front() == '-' ? "-" + name : name);
        }
        return true;
    default:
        return false;
    }
}

std::string ps_column(const std::string& name)
{
    return column(name).name;
}

Fields ps_fields(const std::vector<std::string>& columns)
{
    Fields fields;
    for (const auto& name : columns) {
        fields |= column(name).fields;
    }
    return fields;
}

std::vector<std::string> ps_columns()
{
    std::vector<std::string> names;
    for (const auto& c : all_columns()) {
        names.emplace_back(c.name);
    }
    return names;
}

const std::vector<std::string>& ps_default_columns()
{
    static const std::vector<std::string> columns{"pid", "ppid", "user", "s",      "nlwp",
                                                  "rss", "vsz",  "time", "hidden", "comm"};
    return columns;
}

void sort_ps(std::vector<PsRow>& rows, const std::vector<std::string>& keys,
             const PsContext& context)
{
    if (keys.empty()) {
        return;
    }
    struct Key {
        const Column* column;
        bool descending;
    };
    std::vector<Key> order;
    for (const auto& k : keys) {
        const bool sign = !k.empty() && (k.front() == '-' || k.front() == '+');
        order.push_back({&column(sign ? k.substr(1) : k), !k.empty() && k.front() == '-'});
    }
    // Each row's cells once, then a stable sort of their indexes.
    std::vector<std::vector<Cell>> cells(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
        for (const auto& k : order) {
            cells[i].push_back(k.column->cell(rows[i], context));
        }
    }
    std::vector<std::size_t> index(rows.size());
    for (std::size_t i = 0; i < index.size(); ++i) {
        index[i] = i;
    }
    std::stable_sort(index.begin(), index.end(), [&](std::size_t a, std::size_t b) {
        for (std::size_t k = 0; k < order.size(); ++k) {
            const int c = compare(cells[a][k], cells[b][k]);
            if (c != 0) {
                return order[k].descending ? c > 0 : c < 0;
            }
        }
        return false;
    });
    std::vector<PsRow> sorted;
    sorted.reserve(rows.size());
    for (const std::size_t i : index) {
        sorted.push_back(std::move(rows[i]));
    }
    rows = std::move(sorted);
}

std::string format_ps(const std::vector<PsRow>& rows, const std::vector<std::string>& names,
                      const PsContext& context, bool json, bool headers)
{
    std::vector<const Column*> cols;
    for (const auto& n : names) {
        cols.push_back(&column(n));
    }
    std::string out;
    if (json) {
        for (const auto& row : rows) {
            std::string line = "{";
            for (std::size_t i = 0; i < cols.size(); ++i) {
                line +=
                    (i == 0 ? "" : ", ") + json_member(cols[i]->name, cols[i]->cell(row, context));
            }
            out += line + "}\n";
        }
        return out;
    }
    // Every cell's text once, row after row (the header first), into one
    // string (with where each cell ends and its width), then each column's
    // width, then the lines, into one string.  One string rather than a
    // std::string per cell: at 5,000 processes and 7 columns that is
    // 0.2 MB instead of 1.1 MB, fewer pages for the kernel to fault in
    // (docs/performance.md, `taskmon ps` against procps ps).
    const std::size_t ncols = cols.size();
    const std::size_t ncells = (rows.size() + (headers ? 1 : 0)) * ncols;
    std::string texts;
    texts.reserve(ncells * 6);
    std::vector<std::uint32_t> ends;
    std::vector<std::uint32_t> cell_widths;
    ends.reserve(ncells);
    cell_widths.reserve(ncells);
    std::vector<std::size_t> widths(ncols, 0);
    const auto add = [&](std::string_view text) {
        const std::size_t width = text_width(text);
        std::size_t& column_width = widths[ends.size() % ncols];
        column_width = std::max(column_width, width);
        texts += text;
        ends.push_back(static_cast<std::uint32_t>(texts.size()));
        cell_widths.push_back(static_cast<std::uint32_t>(width));
    };
    if (headers) {
        for (const Column* c : cols) {
            add(c->header);
        }
    }
    for (const auto& row : rows) {
        for (const Column* c : cols) {
            add(cell_text(*c, c->cell(row, context), context));
        }
    }
    std::size_t line_bytes = 0;
    for (std::size_t i = 0; i < ncols; ++i) {
        line_bytes += widths[i] + 1;
    }
    out.reserve(out.size() + (ends.size() / std::max<std::size_t>(ncols, 1)) * (line_bytes + 8));
    std::size_t begin = 0;
    for (std::size_t k = 0; k < ends.size(); ++k) {
        const std::size_t i = k % ncols;
        const std::size_t pad = widths[i] - cell_widths[k];
        const bool last = i + 1 == ncols;
        const std::string_view cell(texts.data() + begin, ends[k] - begin);
        begin = ends[k];
        if (i != 0) {
            out += ' ';
        }
        if (cols[i]->left) {
            out += cell;
            if (!last) {
                out.append(pad, ' ');
            }
        } else {
            out.append(pad, ' ');
            out += cell;
        }
        if (last) {
            out += '\n';
        }
    }
    return out;
}

int run_ps(const Options& opts, std::ostream& out, std::ostream& /*err*/)
{
    const std::vector<std::string>& columns =
        opts.columns.empty() ? ps_default_columns() : opts.columns;
    std::vector<std::string> needed = columns;
    for (const auto& k : opts.sort) {
        needed.push_back(ps_column(k.front() == '-' ? k.substr(1) : k));
    }

    std::unordered_set<uid_t> uids;
    for (const auto& u : opts.users) {
        uids.insert(user_id(u));
    }

    const Monitor monitor(opts.device, Access::read);
    // /proc is listed first: a process it leaves out that started before
    // is one /proc hides, not one that started meanwhile.
    const bool check_hidden = wants(needed, {"hidden"});
    std::unordered_set<pid_t> getdents;
    std::unordered_set<pid_t> readdir_pids;
    const nanoseconds listed_at = clock_ns(CLOCK_BOOTTIME);
    if (check_hidden) {
        list_proc(getdents, readdir_pids);
    }
    const std::vector<ProcessEntry> list = list_processes(monitor);

    const bool select = !opts.pids.empty() || !opts.names.empty() || !uids.empty();
    const std::unordered_set<pid_t> wanted(opts.pids.begin(), opts.pids.end());
    std::vector<pid_t> pids;
    pids.reserve(list.size());
    for (const auto& e : list) {
        // Only -p: only those pids are read.
        if (opts.names.empty() && uids.empty() && !wanted.empty() && wanted.count(e.pid) == 0) {
            continue;
        }
        pids.push_back(e.pid);
    }
    // Only the groups of fields shown, sorted on or selected by: a table of
    // names and ids costs neither the walk over each process's threads nor
    // the per-CPU sums of its memory counters.
    Fields fields = ps_fields(needed);
    if (!opts.names.empty()) {
        fields |= Field::comm;
    }
    if (!uids.empty()) {
        fields |= Field::creds;
    }
    auto results = monitor.stats(pids, fields);

    PsContext context;
    context.boottime = clock_ns(CLOCK_BOOTTIME);
    context.realtime = clock_ns(CLOCK_REALTIME);
    context.raw = opts.raw;
    if (wants(needed, {"pmem"})) {
        struct sysinfo info {};
        if (::sysinfo(&info) == 0) {
            context.memory_bytes = static_cast<std::uint64_t>(info.totalram) * info.mem_unit;
        }
    }
    const bool names_needed = wants(needed, {"user", "ruser", "group", "rgroup"});
    IdNames names;

    std::unordered_map<pid_t, nanoseconds> start_of;
    if (check_hidden) {
        for (const auto& e : list) {
            start_of.emplace(e.pid, e.start_time);
        }
    }
    std::vector<PsRow> rows;
    rows.reserve(results.size());
    for (auto& result : results) {
        if (!result.ok()) {
            continue; // exited since the list was read
        }
        Stats& s = result.stats;
        if (select) {
            const bool by_pid = wanted.count(s.pid) != 0;
            const bool by_name = s.comm && std::find(opts.names.begin(), opts.names.end(),
                                                     *s.comm) != opts.names.end();
            const bool by_user = s.euid && uids.count(*s.euid) != 0;
            if (!by_pid && !by_name && !by_user) {
                continue;
            }
        }
        PsRow row;
        row.stats = std::move(s);
        const Stats& r = row.stats;
        if (check_hidden && start_of[r.pid] < listed_at) {
            if (getdents.count(r.pid) == 0) {
                row.hidden |= static_cast<std::uint32_t>(HiddenReason::getdents);
            } else if (readdir_pids.count(r.pid) == 0) {
                row.hidden |= static_cast<std::uint32_t>(HiddenReason::readdir);
            }
        }
        if (names_needed) {
            if (r.euid) {
                row.user = names.user(*r.euid);
            }
            if (r.uid) {
                row.ruser = names.user(*r.uid);
            }
            if (r.egid) {
                row.group = names.group(*r.egid);
            }
            if (r.gid) {
                row.rgroup = names.group(*r.gid);
            }
        }
        rows.push_back(std::move(row));
    }
    sort_ps(rows, opts.sort, context);
    write_output(out, format_ps(rows, columns, context, opts.json, !opts.no_headers));
    return select && rows.empty() ? exit_failure : exit_ok;
}

} // namespace taskmon::cli
