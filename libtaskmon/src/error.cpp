// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon::Error and its subclasses, and the errno -> exception mapping.
#include "internal.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace taskmon {

struct Error::Detail {
    std::string message;
    std::filesystem::path device;
    std::string operation;
    pid_t pid = 0;
};

Error::Error(int errnum, const std::string& message, const std::filesystem::path& device)
    : Error(errnum, message, device, std::string(), 0)
{}

Error::Error(int errnum, const std::string& message, const std::filesystem::path& device,
             const std::string& operation, pid_t pid)
    : std::system_error(std::error_code(errnum, std::generic_category()), message)
    , detail_(std::make_shared<const Detail>(Detail{message, device, operation, pid}))
{}

Error::Error(const Error& other) noexcept = default;
Error::Error(Error&& other) noexcept = default;
Error& Error::operator=(const Error& other) noexcept = default;
Error& Error::operator=(Error&& other) noexcept = default;
Error::~Error() = default;

const char* Error::what() const noexcept
{
    return detail_ ? detail_->message.c_str() : std::system_error::what();
}

int Error::errnum() const noexcept
{
    return code().value();
}

std::filesystem::path Error::device() const
{
    return detail_ ? detail_->device : std::filesystem::path{};
}

std::string Error::operation() const
{
    return detail_ ? detail_->operation : std::string();
}

pid_t Error::pid() const noexcept
{
    return detail_ ? detail_->pid : 0;
}

NoSuchProcess::NoSuchProcess(pid_t pid, const std::string& message,
                             const std::filesystem::path& device)
    : Error(ESRCH, message, device, std::string(), pid)
{}

namespace detail {

namespace {

std::string strerror_string(int errnum)
{
    // strerrordesc_np() would avoid the locale; strerror() is fine here: the
    // library never changes the locale and these strings are informative.
    // NOLINTNEXTLINE(concurrency-mt-unsafe): glibc's strerror is thread-safe for known errnos
    return std::strerror(errnum);
}

bool is_open(const ErrorContext& ctx)
{
    return ctx.operation == "open";
}

// "cannot open /dev/taskmonitor", "TM_GET on /dev/taskmonitor failed", or,
// for a check libtaskmon made itself, "set_target on /dev/taskmonitor
// refused by libtaskmon without asking the kernel".
std::string what_failed(const ErrorContext& ctx)
{
    if (is_open(ctx)) {
        return "cannot open " + ctx.device.string() + (ctx.writable ? " for steering" : "");
    }
    std::string what = std::string(ctx.operation) + " on " + ctx.device.string();
    if (ctx.pid > 0 && !ctx.target) {
        what += " for pid " + std::to_string(ctx.pid);
    }
    return what + (ctx.local ? " refused by libtaskmon without asking the kernel" : " failed");
}

// TM_STATS or TM_STATS_BATCH: a query about any pid, not about the target.
bool is_stats(const ErrorContext& ctx)
{
    return ctx.operation.rfind("TM_STATS", 0) == 0;
}

// The name of a user or group (getpwuid_r(), getgrgid_r()), or its number.
template <class Entry, class Id>
std::string name_of(Id id, int (*lookup)(Id, Entry*, char*, std::size_t, Entry**),
                    char* Entry::*name)
{
    Entry entry{};
    Entry* found = nullptr;
    std::vector<char> buf(4096);
    if (lookup(id, &entry, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
        return found->*name;
    }
    return std::to_string(id);
}

// Why the device's permissions refused open(), from its owner, group and
// mode as they are now: "the device is root:taskmon 0640: reading needs
// membership of its group".  Empty if it cannot be stat()ed.
std::string open_permission_reason(const ErrorContext& ctx)
{
    struct stat st {};
    if (::stat(ctx.device.c_str(), &st) != 0) {
        return {};
    }
    const mode_t perm = st.st_mode & 07777U;
    std::array<char, 8> mode{};
    static_cast<void>(std::snprintf(mode.data(), mode.size(), "%04o", static_cast<unsigned>(perm)));
    const std::string owner = name_of<passwd, uid_t>(st.st_uid, ::getpwuid_r, &passwd::pw_name);
    const std::string grp = name_of<group, gid_t>(st.st_gid, ::getgrgid_r, &group::gr_name);
    std::string why = "the device is " + owner + ":" + grp + " " + mode.data() + ": ";
    const char* doing = ctx.writable ? "opening it for steering (read-write)" : "reading";
    // The bits the open asked for, for owner, group and others.
    const mode_t want_u = ctx.writable ? (S_IRUSR | S_IWUSR) : S_IRUSR;
    const mode_t want_g = ctx.writable ? (S_IRGRP | S_IWGRP) : S_IRGRP;
    const mode_t want_o = ctx.writable ? (S_IROTH | S_IWOTH) : S_IROTH;
    const bool by_owner = (perm & want_u) == want_u;
    const bool by_group = (perm & want_g) == want_g;
    const bool by_others = (perm & want_o) == want_o;
    if (by_others) {
        why += std::string("its mode lets everyone do ") + doing +
               ", so something else refused (a security module, or a mount option such as nodev)";
    } else if (by_group) {
        why += std::string(doing) + " needs membership of its group " + grp;
    } else if (by_owner) {
        why += std::string(doing) + " needs to be its owner " + owner;
    } else {
        why += std::string(doing) + " is allowed to nobody but a process with CAP_DAC_OVERRIDE";
    }
    return why;
}

// Why @p errnum happened, in a few words; empty if errno's text says it all.
std::string error_reason(int errnum, const ErrorContext& ctx)
{
    const std::string dev = ctx.device.string();
    const std::string module(ctx.module);
    const std::string op(ctx.operation);
    switch (errnum) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
        return "the " + module + " kernel module, which creates " + dev +
               ", is probably not loaded";
    case EACCES:
        if (is_open(ctx)) {
            return open_permission_reason(ctx);
        }
        return "the " + module + " module refused " + op + " to this process";
    case EPERM:
        if (is_steering(ctx)) {
            return "steering (" + op +
                   ") needs CAP_SYS_ADMIN in the initial user namespace, which this process lacks";
        }
        if (is_open(ctx)) {
            return open_permission_reason(ctx);
        }
        return "the " + module + " module refused " + op + " to this process";
    case EBADF:
        if (is_steering(ctx) && !ctx.writable) {
            return "the device was opened read-only, and steering (" + op +
                   ") needs it opened for steering (read-write)";
        }
        return {};
    case ESRCH:
        if (ctx.pid > 0 && is_stats(ctx) && !ctx.target) {
            return "there is no process or thread " + std::to_string(ctx.pid) +
                   " visible in this pid namespace: it never existed, has exited, or belongs to "
                   "another pid namespace";
        }
        if (ctx.target && ctx.operation == "TM_PID") {
            // Reading the target: the kernel gives no number once the
            // target is reaped, as the number may name another process.
            return "the monitored process" +
                   (ctx.pid > 0 ? " (pid " + std::to_string(ctx.pid) + ", as last seen here)"
                                : std::string()) +
                   " has exited and been reaped, or is not visible in this pid namespace; its pid "
                   "may already name another process, so the module no longer gives it";
        }
        if (ctx.pid > 0 && ctx.operation == "TM_PID") {
            return "there is no process " + std::to_string(ctx.pid) +
                   " visible in this pid namespace; the target is unchanged";
        }
        if (ctx.pid > 0) {
            return "the monitored process (pid " + std::to_string(ctx.pid) + ") has exited";
        }
        return "the monitored process has exited";
    case ENODATA:
        return "no target process is set";
    case ENOTTY:
        if (is_open(ctx)) {
            return dev + " must be the character device the " + module + " module creates";
        }
        return dev + " does not understand " + op + ": it is not a " + module +
               " device, or the loaded module is older than libtaskmon " + TASKMON_VERSION_STRING +
               (is_stats(ctx) ? " and lacks the per-process statistics requests" : "");
    case EINVAL:
        if (ctx.local) {
            return std::string(ctx.operation == "set_target" ? "a target pid" : "a pid") +
                   " must be a positive process id, not " + std::to_string(ctx.pid);
        }
        if (op == "TM_SUBSCRIBE_EXITS") {
            return "the " + module +
                   " module rejected the subscription: the ring must be within the bounds of "
                   "<linux/taskmon.h>, and the request from the same taskmon release";
        }
        if (op == "TM_SUBSCRIBE") {
            return "the " + module +
                   " module rejected the subscription: each process may be named once (0, the "
                   "target, and the target's own pid are the same process), and the period and "
                   "ring must be within the bounds of <linux/taskmon.h>";
        }
        return "the " + module +
               " module rejected the request; it may be from another taskmon "
               "release than libtaskmon " TASKMON_VERSION_STRING;
    case EDQUOT:
        if (op == "TM_SUBSCRIBE" || op == "TM_SUBSCRIBE_EXITS") {
            return "this user (uid " + std::to_string(::getuid()) +
                   ") already holds as many streams as the " + module +
                   " module allows one user; close one, or have root raise "
                   "/sys/module/" +
                   module + "/parameters/max_user_subscriptions";
        }
        return {};
    case ENOMEM:
        if (op == "TM_SUBSCRIBE_EXITS") {
            return "the ring of exit records does not fit in this process's memory cgroup "
                   "(memory.max) or in the machine's memory; ask for a smaller ring";
        }
        if (op == "TM_SUBSCRIBE") {
            return "the stream's ring does not fit in this process's memory cgroup (memory.max) "
                   "or in the machine's memory; ask for a smaller ring or fewer pids";
        }
        return {};
    case EOPNOTSUPP:
        return "the running kernel has no sched_process_exit tracepoint, which exit records "
               "need";
    case EFAULT:
        return "the kernel could not access the request's buffer: a bug in "
               "libtaskmon " TASKMON_VERSION_STRING;
    case EISDIR:
    case ENOTDIR:
        return dev + " must be the character device the " + module + " module creates";
    default:
        return {};
    }
}

} // namespace

bool is_steering(const ErrorContext& ctx)
{
    // TM_PID with a pid of 0 or more sets the target; a negative one reads it.
    return ctx.operation == "TM_START" || ctx.operation == "TM_STOP" ||
           (ctx.operation == "TM_PID" && !ctx.target);
}

std::string error_message(int errnum, const ErrorContext& ctx)
{
    // "WHAT: STRERROR (WHY)": what failed (the operation, device and pid),
    // the C library's text for errno, and why, in terms of the kernel and
    // its module only: each front end (the taskmon command, Python) adds
    // advice in its own terms.
    std::ostringstream msg;
    // ENOTTY from open() is the library's own verdict on a file that is no
    // character device; "Inappropriate ioctl for device" would confuse there.
    const bool not_chardev = errnum == ENOTTY && is_open(ctx);
    msg << what_failed(ctx) << ": "
        << (not_chardev ? std::string("not a character device") : strerror_string(errnum));
    const std::string why = error_reason(errnum, ctx);
    if (!why.empty()) {
        msg << " (" << why << ")";
    }
    return msg.str();
}

void throw_from_errno(int errnum, const ErrorContext& ctx)
{
    const std::string message = error_message(errnum, ctx);
    const std::string op(ctx.operation);
    const std::filesystem::path& dev = ctx.device;
    switch (errnum) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
        throw DeviceNotFound(errnum, message, dev, op, ctx.pid);
    case EACCES:
    case EPERM:
        throw PermissionDenied(errnum, message, dev, op, ctx.pid);
    case EBADF:
        // From the kernel, EBADF on a steering request means the file is
        // read-only (docs/security.md); a closed object is throw_closed().
        if (is_steering(ctx) && !ctx.local) {
            throw PermissionDenied(errnum, message, dev, op, ctx.pid);
        }
        throw Error(errnum, message, dev, op, ctx.pid);
    case ENOTTY:
    case EOPNOTSUPP:
        throw NotSupported(errnum, message, dev, op, ctx.pid);
    case ENODATA:
        throw NoTarget(errnum, message, dev, op, ctx.pid);
    case ESRCH:
        throw NoSuchProcess(errnum, message, dev, op, ctx.pid);
    case EINVAL:
        throw InvalidArgument(errnum, message, dev, op, ctx.pid);
    default:
        throw Error(errnum, message, dev, op, ctx.pid);
    }
}

void throw_closed(std::string_view what, const std::filesystem::path& device)
{
    throw Error(EBADF,
                std::string(what) +
                    " is closed (after close() or a move): checked by libtaskmon without asking "
                    "the kernel",
                device);
}

} // namespace detail

} // namespace taskmon
