// SPDX-License-Identifier: GPL-2.0-only
#include "procfs.hpp"

#include "fd.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <memory>
#include <string_view>

namespace taskmon::bench {

namespace {

// Reads space-separated fields of a /proc line, left to right.
class Fields {
public:
    Fields(const char* begin, const char* end) : p_(begin), end_(end) {}

    void skip(int count = 1)
    {
        for (int i = 0; i < count; ++i) {
            spaces();
            while (p_ < end_ && *p_ != ' ' && *p_ != '\n') {
                ++p_;
            }
        }
    }

    bool number(std::uint64_t& value)
    {
        spaces();
        const auto [next, ec] = std::from_chars(p_, end_, value);
        if (ec != std::errc{}) {
            return false;
        }
        p_ = next;
        return true;
    }

    bool character(char& value)
    {
        spaces();
        if (p_ == end_) {
            return false;
        }
        value = *p_++;
        return true;
    }

private:
    void spaces()
    {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\t')) {
            ++p_;
        }
    }

    const char* p_;
    const char* end_;
};

// A directory entry's name as a pid; 0 if it is not all digits.
pid_t name_to_pid(const char* name) noexcept
{
    pid_t pid = 0;
    const char* end = name + std::strlen(name);
    const auto [next, ec] = std::from_chars(name, end, pid);
    return ec == std::errc{} && next == end && next != name ? pid : 0;
}

} // namespace

long pread_all(int fd, ProcBuffer& buf)
{
    return static_cast<long>(::pread(fd, buf.data(), buf.size(), 0));
}

bool parse_stat(const char* text, long len, ProcStat& out)
{
    // "pid (comm) S ppid ...": comm may hold spaces and ')', so it ends at the last ')'.
    const std::string_view line(text, static_cast<std::size_t>(len));
    const std::size_t open = line.find('(');
    const std::size_t close = line.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
        return false;
    }
    out.comm.assign(line.substr(open + 1, close - open - 1));
    Fields f(text + close + 1, text + len);
    std::uint64_t ppid = 0;
    bool ok = f.character(out.state) && f.number(ppid);    // fields 3, 4
    f.skip(9);                                             // 5 pgrp ... 13 cmajflt
    ok = ok && f.number(out.utime) && f.number(out.stime); // 14, 15
    f.skip(4);                                             // 16 cutime ... 19 nice
    ok = ok && f.number(out.num_threads);                  // 20
    f.skip(1);                                             // 21 itrealvalue
    ok = ok && f.number(out.starttime) && f.number(out.vsize) && f.number(out.rss); // 22-24
    out.ppid = static_cast<pid_t>(ppid);
    return ok;
}

bool parse_statm(const char* text, long len, ProcStatm& out)
{
    Fields f(text, text + len);
    std::uint64_t lib = 0;
    return f.number(out.size) && f.number(out.resident) && f.number(out.shared) &&
           f.number(out.text) && f.number(lib) && f.number(out.data);
}

bool parse_status(const char* text, long len, ProcStatus& out)
{
    struct Key {
        std::string_view name;
        std::uint64_t ProcStatus::*field;
    };
    static constexpr std::array<Key, 7> keys{{
        {"VmRSS:", &ProcStatus::vm_rss_kb},
        {"RssAnon:", &ProcStatus::rss_anon_kb},
        {"RssFile:", &ProcStatus::rss_file_kb},
        {"RssShmem:", &ProcStatus::rss_shmem_kb},
        {"Threads:", &ProcStatus::threads},
        {"voluntary_ctxt_switches:", &ProcStatus::voluntary_ctxsw},
        {"nonvoluntary_ctxt_switches:", &ProcStatus::nonvoluntary_ctxsw},
    }};
    std::string_view rest(text, static_cast<std::size_t>(len));
    int found = 0;
    while (!rest.empty()) {
        const std::size_t eol = rest.find('\n');
        const std::string_view line = rest.substr(0, eol);
        rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
        for (const Key& key : keys) {
            if (line.compare(0, key.name.size(), key.name) == 0) {
                Fields f(line.data() + key.name.size(), line.data() + line.size());
                if (f.number(out.*key.field)) {
                    ++found;
                }
                break;
            }
        }
    }
    return found > 0; // "Threads:" at least; kernel threads have no memory lines
}

std::string proc_path(pid_t pid, const char* name)
{
    return "/proc/" + std::to_string(pid) + "/" + name;
}

bool scan_proc(std::vector<pid_t>& pids)
{
    pids.clear();
    const std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/proc"), ::closedir);
    if (!dir) {
        return false;
    }
    // NOLINTNEXTLINE(concurrency-mt-unsafe): one DIR per call, never shared
    while (const dirent* entry = ::readdir(dir.get())) {
        if (const pid_t pid = name_to_pid(entry->d_name); pid > 0) {
            pids.push_back(pid);
        }
    }
    return true;
}

long read_proc_file(int proc_dir, pid_t pid, const char* name, ProcBuffer& buf)
{
    // "PID/NAME" relative to the open /proc, without allocating.
    std::array<char, 64> path{};
    char* p = std::to_chars(path.data(), path.data() + 16, pid).ptr;
    *p++ = '/';
    const std::size_t name_len = std::strlen(name);
    if (name_len >= static_cast<std::size_t>(path.data() + path.size() - p)) {
        return -1;
    }
    std::memcpy(p, name, name_len + 1);
    const Fd fd{::openat(proc_dir, path.data(), O_RDONLY | O_CLOEXEC)}; // NOLINT(*-vararg)
    if (!fd) {
        return -1;
    }
    return pread_all(fd.get(), buf);
}

} // namespace taskmon::bench
