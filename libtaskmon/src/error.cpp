// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon::Error and its subclasses, and the errno -> exception mapping.
#include "internal.hpp"

#include <cerrno>
#include <cstring>
#include <sstream>
#include <string>
#include <utility>

namespace taskmon {

struct Error::Detail {
    std::string message;
    std::filesystem::path device;
};

Error::Error(int errnum, const std::string& message, const std::filesystem::path& device)
    : std::system_error(std::error_code(errnum, std::generic_category()), message)
    , detail_(std::make_shared<const Detail>(Detail{message, device}))
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

NoSuchProcess::NoSuchProcess(pid_t pid, const std::string& message,
                             const std::filesystem::path& device)
    : Error(ESRCH, message, device), pid_(pid)
{}

pid_t NoSuchProcess::pid() const noexcept
{
    return pid_;
}

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

// "cannot open /dev/taskmonitor" or "TM_GET on /dev/taskmonitor failed".
std::string what_failed(const ErrorContext& ctx)
{
    if (is_open(ctx)) {
        return "cannot open " + ctx.device.string();
    }
    return std::string(ctx.operation) + " on " + ctx.device.string() + " failed";
}

std::string module_ko(const ErrorContext& ctx)
{
    return std::string(ctx.module) + ".ko";
}

// TM_STATS or TM_STATS_BATCH: a query about any pid, not about the target.
bool is_stats(const ErrorContext& ctx)
{
    return ctx.operation.rfind("TM_STATS", 0) == 0;
}

} // namespace

std::string error_message(int errnum, const ErrorContext& ctx)
{
    std::ostringstream msg;
    // ENOTTY from open() is the library's own verdict on a file that is no
    // character device; "Inappropriate ioctl for device" would confuse there.
    const bool not_chardev = errnum == ENOTTY && is_open(ctx);
    msg << what_failed(ctx) << ": "
        << (not_chardev ? std::string("not a character device") : strerror_string(errnum)) << ". ";
    const std::string dev = ctx.device.string();

    switch (errnum) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
        msg << "The " << ctx.module << " kernel module is probably not loaded (it creates " << dev
            << "): load it with 'sudo modprobe " << ctx.module
            << "' (installed package) or 'sudo insmod " << module_ko(ctx)
            << "' (build tree), then check that " << dev
            << " exists; if it is loaded, check the device path.";
        break;
    case EACCES:
    case EPERM:
        if (is_open(ctx)) {
            msg << "By default only root may open " << dev
                << ": run as root (e.g. with sudo), or let a group use it with a udev rule such as "
                   "KERNEL==\""
                << ctx.device.filename().string()
                << "\", GROUP=\"taskmon\", MODE=\"0660\" in /etc/udev/rules.d/99-taskmon.rules "
                   "(then 'sudo udevadm trigger' and add yourself to that group).";
        } else {
            msg << "The " << ctx.module << " module refused " << ctx.operation
                << " to this process: run as root (e.g. with sudo).";
        }
        break;
    case ESRCH:
        if (ctx.pid > 0 && is_stats(ctx) && !ctx.target) {
            msg << "There is no process or thread with id " << ctx.pid
                << " visible here: it never existed, has exited, or belongs to another pid "
                   "namespace. Check the pid (see 'ps')."; // the target is not involved
        } else if (ctx.target && ctx.operation == "TM_PID") {
            // Reading the target: the kernel gives no number once the
            // target is reaped, as the number may name another process.
            msg << "The monitored process"
                << (ctx.pid > 0
                        ? " (pid " + std::to_string(ctx.pid) + ", as this program last saw it)"
                        : std::string())
                << " has exited and been reaped (or is not visible in this pid namespace): its pid "
                   "may already belong to another process, so the module no longer gives it. Set a "
                   "new target with 'taskmon pid PID'.";
        } else if (ctx.pid > 0 && ctx.operation == "TM_PID") {
            msg << "There is no process with pid " << ctx.pid
                << " (it never existed or has exited); the target is unchanged. Pick a running "
                   "process (see 'ps') and set it with 'taskmon pid PID'.";
        } else if (ctx.pid > 0) {
            msg << "The monitored process (pid " << ctx.pid
                << ") has exited; set a new target with 'taskmon pid PID'.";
        } else {
            msg << "The monitored process has exited; set a new target with 'taskmon pid PID'.";
        }
        break;
    case ENODATA:
        msg << "No target process is set: set one with 'taskmon pid PID' (Monitor::set_target() "
               "in C++), then try again.";
        break;
    case ENOTTY:
        if (not_chardev) {
            msg << "Check the device path: it must name the character device the " << ctx.module
                << " module creates.";
            break;
        }
        msg << dev << " does not understand " << ctx.operation << ": it is not a " << ctx.module
            << " device, or the loaded module is older than libtaskmon " << TASKMON_VERSION_STRING
            << ". Check the device path, and load the " << ctx.module
            << " module from the same taskmon release.";
        if (is_stats(ctx)) {
            msg << " Per-process statistics (TM_STATS) need a " << ctx.module
                << " module that has them; the older requests (TM_GET, TM_PID) may still work.";
        }
        break;
    case EINVAL:
        if (ctx.operation == "TM_PID") {
            msg << "A target pid must be a positive process id (got " << ctx.pid << ").";
        } else if (ctx.operation == "TM_STATS" && !ctx.target && ctx.pid <= 0) {
            msg << "A pid must be a positive process id (got " << ctx.pid << ").";
        } else {
            msg << "The " << ctx.module << " module rejected the request; load the module from the "
                << "same taskmon release as libtaskmon " << TASKMON_VERSION_STRING << ".";
        }
        break;
    case EBADF:
        msg << "The device is closed (after close() or a move); open it again.";
        break;
    case EFAULT:
        msg << "The kernel could not access the request's buffer: this is a bug in libtaskmon "
            << TASKMON_VERSION_STRING << ", please report it.";
        break;
    case EISDIR:
    case ENOTDIR:
        msg << "Check the device path: it must name the character device " << ctx.module
            << " creates.";
        break;
    case EMFILE:
    case ENFILE:
        msg << "Too many files are open; close some, or raise the limit ('ulimit -n').";
        break;
    case EINTR:
        msg << "Interrupted by a signal; try again.";
        break;
    default:
        msg << "Check that the " << ctx.module << " module is loaded and works ('sudo dmesg' may "
            << "tell more).";
        break;
    }
    return msg.str();
}

void throw_from_errno(int errnum, const ErrorContext& ctx)
{
    std::string message = error_message(errnum, ctx);
    switch (errnum) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
        throw DeviceNotFound(errnum, message, ctx.device);
    case EACCES:
    case EPERM:
        throw PermissionDenied(errnum, message, ctx.device);
    case ENOTTY:
        throw NotSupported(errnum, message, ctx.device);
    case ENODATA:
        throw NoTarget(errnum, message, ctx.device);
    case ESRCH:
        throw NoSuchProcess(ctx.pid, message, ctx.device);
    default:
        throw Error(errnum, message, ctx.device);
    }
}

void throw_closed(std::string_view what)
{
    throw Error(EBADF, std::string(what) + " is closed (after close() or a move): open the device "
                                           "again with a new object.");
}

} // namespace detail

} // namespace taskmon
