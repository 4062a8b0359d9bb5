// SPDX-License-Identifier: LGPL-2.1-or-later
//
// list_processes() (TM_LIST) and find_hidden(): the kernel's list of
// processes against what /proc shows.  docs/hidden.md explains the checks.
#include "internal.hpp"
#include "processes_internal.hpp"

#include <linux/taskmon.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iomanip>
#include <limits>
#include <ostream>
#include <sstream>
#include <system_error>
#include <thread>

namespace taskmon {

namespace {

// A margin for the processes forked between asking the count and the list.
constexpr std::uint32_t list_margin = 64;

[[noreturn]] void throw_list_error(int err, const Monitor& monitor)
{
    detail::ErrorContext ctx{};
    ctx.operation = "TM_LIST";
    ctx.device = monitor.path();
    ctx.module = "taskmonitor";
    detail::throw_from_errno(err, ctx);
}

// One TM_LIST call with room for @p count entries: the ioctl's value
// (entries written, or the count needed for count 0), or -errno.
long list_call(int fd, std::vector<taskmon_proc>& entries, std::uint32_t count, taskmon_list& req)
{
    entries.resize(count);
    req = taskmon_list{};
    req.size = sizeof(req);
    req.entry_size = sizeof(taskmon_proc);
    req.count = count;
    req.entries = count != 0 ? reinterpret_cast<std::uintptr_t>(entries.data()) : 0;
    long ret = 0;
    do {
        ret = ::ioctl(fd, TM_LIST, &req);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : ret;
}

bool all_digits(const char* name) noexcept
{
    if (*name == '\0') {
        return false;
    }
    for (const char* c = name; *c != '\0'; ++c) {
        if (*c < '0' || *c > '9') {
            return false;
        }
    }
    return true;
}

// A directory entry's name as a pid; 0 if it is not one.
pid_t name_to_pid(const char* name) noexcept
{
    if (!all_digits(name) || std::strlen(name) > 10) {
        return 0;
    }
    const long long value = std::strtoll(name, nullptr, 10);
    return value > 0 && value <= std::numeric_limits<pid_t>::max() ? static_cast<pid_t>(value) : 0;
}

class Fd {
public:
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&&) = delete;
    Fd& operator=(Fd&&) = delete;
    ~Fd()
    {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    [[nodiscard]] int get() const noexcept { return fd_; }

private:
    int fd_;
};

[[noreturn]] void throw_system(int err, const std::string& what)
{
    throw std::system_error(err, std::generic_category(), what);
}

// What /proc/PID/stat says: its pid and its starttime (clock ticks).
struct ProcStat {
    pid_t pid = 0;
    unsigned long long start_ticks = 0;
};

std::optional<ProcStat> parse_stat(const std::string& text)
{
    // "pid (comm) state ppid ..." - comm may hold spaces and parentheses.
    const auto open = text.find(" (");
    const auto close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open) {
        return std::nullopt;
    }
    ProcStat st;
    st.pid = name_to_pid(text.substr(0, open).c_str());
    std::istringstream rest(text.substr(close + 1));
    std::string field;
    // After the comm: state is field 3, starttime field 22.
    for (int i = 3; i <= 22; ++i) {
        if (!(rest >> field)) {
            return std::nullopt;
        }
    }
    st.start_ticks = std::strtoull(field.c_str(), nullptr, 10);
    return st;
}

// Opens /proc/PID (a directory) and reads its stat: 0, or the errno of the
// step that failed (@p step names it).
int read_proc_stat(const std::filesystem::path& dir, std::string& text, const char*& step)
{
    step = "open";
    const Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dfd.get() < 0) {
        return errno;
    }
    step = "open stat";
    const Fd sfd(::openat(dfd.get(), "stat", O_RDONLY | O_CLOEXEC));
    if (sfd.get() < 0) {
        return errno;
    }
    step = "read stat";
    std::array<char, 1024> buf{};
    ssize_t n = 0;
    do {
        n = ::read(sfd.get(), buf.data(), buf.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return errno;
    }
    text.assign(buf.data(), static_cast<std::size_t>(n));
    return 0;
}

bool is_permission(int err) noexcept
{
    return err == EACCES || err == EPERM;
}

bool contains(const std::vector<pid_t>& sorted, pid_t pid)
{
    return std::binary_search(sorted.begin(), sorted.end(), pid);
}

// CAP_SYS_PTRACE in the effective set: hidepid= hides nothing from us.
bool has_sys_ptrace(const std::filesystem::path& proc)
{
    std::ifstream status(proc / "self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("CapEff:", 0) == 0) {
            const unsigned long long caps = std::strtoull(line.c_str() + 7, nullptr, 16);
            constexpr int cap_sys_ptrace = 19;
            return ((caps >> cap_sys_ptrace) & 1U) != 0;
        }
    }
    return false;
}

std::string format_seconds(std::chrono::nanoseconds ns)
{
    std::ostringstream out;
    out << ns.count() / 1'000'000'000 << '.' << std::setw(9) << std::setfill('0')
        << ns.count() % 1'000'000'000 << " s";
    return out.str();
}

} // namespace

std::vector<ProcessEntry> list_processes(const Monitor& monitor)
{
    std::vector<taskmon_proc> raw;
    taskmon_list req{};
    long ret = list_call(monitor.fd(), raw, 0, req);
    if (ret < 0) {
        throw_list_error(static_cast<int>(-ret), monitor);
    }
    std::uint32_t count = static_cast<std::uint32_t>(ret) + list_margin;
    // Processes come and go: ERANGE says how many there are now; retry with a margin.
    for (;;) {
        ret = list_call(monitor.fd(), raw, count, req);
        if (ret >= 0) {
            break;
        }
        if (ret != -ERANGE) {
            throw_list_error(static_cast<int>(-ret), monitor);
        }
        count = req.total + req.total / 8 + list_margin;
    }
    std::vector<ProcessEntry> out;
    out.reserve(static_cast<std::size_t>(ret));
    for (long i = 0; i < ret; ++i) {
        const auto& e = raw[static_cast<std::size_t>(i)];
        out.push_back({e.pid, std::chrono::nanoseconds(static_cast<std::int64_t>(
                                  std::min<__u64>(e.start_time_ns, INT64_MAX)))});
    }
    return out;
}

const char* to_string(HiddenReason reason) noexcept
{
    switch (reason) {
    case HiddenReason::getdents:
        return "getdents64";
    case HiddenReason::readdir:
        return "readdir";
    case HiddenReason::open:
        return "open";
    case HiddenReason::stat:
        return "stat";
    }
    return "unknown";
}

std::vector<std::string> reason_names(std::uint32_t reasons)
{
    std::vector<std::string> names;
    for (const auto r :
         {HiddenReason::getdents, HiddenReason::readdir, HiddenReason::open, HiddenReason::stat}) {
        if ((reasons & static_cast<std::uint32_t>(r)) != 0) {
            names.emplace_back(to_string(r));
        }
    }
    return names;
}

std::ostream& operator<<(std::ostream& out, const HiddenProcess& p)
{
    out << "pid " << p.pid << " comm " << (p.comm.empty() ? "?" : p.comm) << " uid ";
    if (p.uid) {
        out << *p.uid;
    } else {
        out << '?';
    }
    out << " start " << format_seconds(p.start_time) << ':';
    for (const auto& name : reason_names(p.reasons)) {
        out << ' ' << name;
    }
    if (!p.detail.empty()) {
        out << " (" << p.detail << ')';
    }
    return out;
}

namespace detail {

std::vector<pid_t> HiddenScanHooks::list_getdents(const std::filesystem::path& dir)
{
    const Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) {
        throw_system(errno, "cannot open " + dir.string());
    }
    std::vector<pid_t> pids;
    alignas(8) std::array<char, 32768> buf{};
    for (;;) {
        // The system call itself: a readdir() interposed in this process cannot filter it.
        const long n = ::syscall(SYS_getdents64, fd.get(), buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw_system(errno, "getdents64 of " + dir.string());
        }
        if (n == 0) {
            break;
        }
        for (long off = 0; off < n;) {
            // struct linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, char name[].
            unsigned short reclen = 0;
            std::memcpy(&reclen, buf.data() + off + 16, sizeof(reclen));
            if (const pid_t pid = name_to_pid(buf.data() + off + 19)) {
                pids.push_back(pid);
            }
            off += reclen;
        }
    }
    std::sort(pids.begin(), pids.end());
    return pids;
}

std::vector<pid_t> HiddenScanHooks::list_readdir(const std::filesystem::path& dir)
{
    // readdir() through the dynamic linker, as ps and top call it: what an
    // LD_PRELOAD filter changes.  The DIR is ours alone: readdir() is safe
    // here (and must be readdir()).
    return list_readdir_with(dir, [](DIR* d) {
        return ::readdir(d); // NOLINT(concurrency-mt-unsafe)
    });
}

std::vector<pid_t> list_readdir_with(const std::filesystem::path& dir,
                                     const std::function<dirent*(DIR*)>& next)
{
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
        throw_system(errno, "cannot open " + dir.string());
    }
    std::vector<pid_t> pids;
    int err = 0;
    for (;;) {
        // POSIX: errno is cleared before each call, and only a NULL return
        // with errno set is an error.  A readdir() that returns an entry may
        // leave any errno behind, e.g. the ENOENT of a wrapper's open() of
        // /proc/PID/stat for a process that exited meanwhile (issue #26).
        errno = 0;
        const dirent* e = next(d);
        if (e == nullptr) {
            err = errno;
            break;
        }
        if (const pid_t pid = name_to_pid(e->d_name)) {
            pids.push_back(pid);
        }
    }
    ::closedir(d);
    if (err != 0) {
        throw_system(err, "readdir of " + dir.string());
    }
    std::sort(pids.begin(), pids.end());
    return pids;
}

int parse_hidepid(const std::string& options)
{
    std::istringstream in(options);
    std::string opt;
    int hidepid = 0;
    while (std::getline(in, opt, ',')) {
        if (opt.rfind("hidepid=", 0) != 0) {
            continue;
        }
        const std::string value = opt.substr(8);
        if (value == "1" || value == "noaccess") {
            hidepid = 1;
        } else if (value == "2" || value == "invisible") {
            hidepid = 2;
        } else if (value == "4" || value == "ptraceable") {
            hidepid = 4;
        } else {
            hidepid = 0;
        }
    }
    return hidepid;
}

std::optional<std::string> proc_mount_options(const std::filesystem::path& mountinfo,
                                              const std::filesystem::path& mount_point)
{
    std::ifstream in(mountinfo);
    std::string line;
    std::optional<std::string> found;
    while (std::getline(in, line)) {
        // "36 35 0:5 / /proc rw,nosuid - proc proc rw,hidepid=invisible"
        std::istringstream fields(line);
        std::string id;
        std::string parent;
        std::string dev;
        std::string root;
        std::string point;
        fields >> id >> parent >> dev >> root >> point;
        const auto dash = line.find(" - ");
        if (dash == std::string::npos || point != mount_point.string()) {
            continue;
        }
        std::istringstream tail(line.substr(dash + 3));
        std::string fstype;
        std::string source;
        std::string super;
        tail >> fstype >> source >> super;
        // The last mount on the point is the one on top.
        found = fstype == "proc" ? std::optional<std::string>(super) : std::nullopt;
    }
    return found;
}

std::uint32_t check_process(const HiddenScanHooks& hooks, const std::filesystem::path& proc,
                            const ProcessEntry& entry, const std::vector<pid_t>& listed,
                            const std::vector<pid_t>& read, std::string* detail)
{
    std::uint32_t reasons = 0;
    const auto add = [&](HiddenReason r, const std::string& why) {
        reasons |= static_cast<std::uint32_t>(r);
        if (detail) {
            *detail += (detail->empty() ? "" : "; ") + why;
        }
    };
    const std::string name = std::to_string(entry.pid);
    const bool in_getdents = contains(listed, entry.pid);

    std::string text;
    const char* step = "";
    const int err = read_proc_stat(proc / name, text, step);

    // hidepid=invisible/ptraceable hides the processes we may not see from
    // the listing and from lookup alike: not hidden, just not ours to see.
    if (!hooks.sees_all && hooks.hidepid >= 2 && !in_getdents && err == ENOENT &&
        std::string(step) == "open") {
        return 0;
    }
    if (!in_getdents) {
        add(HiddenReason::getdents, "not in getdents64 of " + proc.string());
    } else if (!contains(read, entry.pid)) {
        add(HiddenReason::readdir, "in getdents64 but not in readdir of " + proc.string());
    }
    if (err != 0 && !is_permission(err)) {
        add(HiddenReason::open, std::string(step) + " " + (proc / name).string() + ": " +
                                    std::generic_category().message(err));
    } else if (err == 0) {
        const auto st = parse_stat(text);
        const long long tick_ns = 1'000'000'000LL / hooks.clock_ticks;
        const auto want = static_cast<unsigned long long>(entry.start_time.count() / tick_ns);
        if (!st) {
            add(HiddenReason::stat, (proc / name / "stat").string() + " cannot be parsed");
        } else if (st->pid != entry.pid) {
            add(HiddenReason::stat,
                (proc / name / "stat").string() + " names pid " + std::to_string(st->pid));
        } else if (st->start_ticks != want) {
            add(HiddenReason::stat, (proc / name / "stat").string() + " starttime " +
                                        std::to_string(st->start_ticks) + " ticks, kernel " +
                                        std::to_string(want));
        }
    }
    return reasons;
}

std::vector<HiddenProcess> find_hidden(const HiddenScanHooks& hooks,
                                       const HiddenScanOptions& options)
{
    // The kernel's list first: a process alive through the listings below
    // must be in them.
    const auto kernel = hooks.list();
    auto listed = hooks.getdents(options.proc);
    auto read = hooks.readdir(options.proc);

    struct Candidate {
        ProcessEntry entry;
        std::uint32_t reasons;
    };
    std::vector<Candidate> candidates;
    for (const auto& entry : kernel) {
        if (const auto reasons = check_process(hooks, options.proc, entry, listed, read, nullptr)) {
            candidates.push_back({entry, reasons});
        }
    }
    if (candidates.empty()) {
        return {};
    }

    // Settle, then check again: still the same process, still failing.
    hooks.sleep(options.settle);
    const auto same = [&](const ProcessEntry& e) {
        const auto now = hooks.info(e.pid);
        return now && now->start_time == e.start_time ? now : std::nullopt;
    };
    std::vector<Candidate> alive;
    for (const auto& c : candidates) {
        if (same(c.entry)) {
            alive.push_back(c);
        }
    }
    listed = hooks.getdents(options.proc);
    read = hooks.readdir(options.proc);
    std::vector<HiddenProcess> out;
    for (const auto& c : alive) {
        std::string detail;
        const auto reasons =
            c.reasons & check_process(hooks, options.proc, c.entry, listed, read, &detail);
        // Alive before and after the second look: it was alive throughout.
        const auto info = reasons != 0 ? same(c.entry) : std::nullopt;
        if (!info) {
            continue;
        }
        HiddenProcess p;
        p.pid = c.entry.pid;
        p.comm = info->comm;
        p.start_time = c.entry.start_time;
        p.reasons = reasons;
        p.uid = info->uid;
        p.detail = detail;
        out.push_back(std::move(p));
    }
    return out;
}

} // namespace detail

std::vector<HiddenProcess> find_hidden(const Monitor& monitor, const HiddenScanOptions& options)
{
    // /proc must number processes as our pid namespace does.
    std::error_code ec;
    const auto self = std::filesystem::read_symlink(options.proc / "self", ec);
    if (ec) {
        throw_system(ec.value(), "cannot read " + (options.proc / "self").string());
    }
    if (self.string() != std::to_string(::getpid())) {
        throw_system(EXDEV, options.proc.string() +
                                " is not the procfs of this pid namespace (its self is " +
                                self.string() + ", our pid " + std::to_string(::getpid()) + ")");
    }

    detail::HiddenScanHooks hooks;
    hooks.list = [&monitor] { return list_processes(monitor); };
    hooks.info = [&monitor](pid_t pid) -> std::optional<detail::KernelInfo> {
        try {
            // The start time, name and uid, which cost the kernel no walk
            // over the threads and no per-CPU sums.
            const Stats st =
                monitor.stats(pid, Field::ids | Field::comm | Field::creds | Field::start_time);
            if (!st.start_time || (st.tgid && *st.tgid != pid)) {
                return std::nullopt;
            }
            return detail::KernelInfo{*st.start_time, st.comm.value_or(""), st.uid};
        } catch (const NoSuchProcess&) {
            return std::nullopt;
        }
    };
    hooks.sleep = [](std::chrono::milliseconds ms) { std::this_thread::sleep_for(ms); };
    std::error_code canon_ec;
    const auto point = std::filesystem::canonical(options.proc, canon_ec);
    const auto mount =
        detail::proc_mount_options("/proc/self/mountinfo", canon_ec ? options.proc : point);
    hooks.hidepid = mount ? detail::parse_hidepid(*mount) : 0;
    hooks.sees_all = has_sys_ptrace(options.proc);
    hooks.clock_ticks = ::sysconf(_SC_CLK_TCK);
    return detail::find_hidden(hooks, options);
}

} // namespace taskmon
