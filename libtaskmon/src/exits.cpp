// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon::Exits: an exit subscription of its own open file of
// /dev/taskmonitor (TM_SUBSCRIBE_EXITS), drained with read() and waited for
// with poll(), as taskmon::Stream is.
#include "internal.hpp"

#include <linux/taskmon.h>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <limits>
#include <ostream>
#include <string>

namespace taskmon {

namespace {

constexpr std::string_view module_name = "taskmonitor";
constexpr std::string_view request = "TM_SUBSCRIBE_EXITS";

static_assert(Exits::default_ring == TM_EXITS_RING_DEFAULT);
static_assert(Exits::max_ring == TM_EXITS_RING_MAX);
static_assert(sizeof(taskmon_exit) >= TM_EXIT_SIZE_VER0);

std::chrono::nanoseconds to_ns(__u64 value) noexcept
{
    // Saturate rather than wrap (2^63 ns is 292 years).
    constexpr auto max =
        static_cast<__u64>(std::numeric_limits<std::chrono::nanoseconds::rep>::max());
    return std::chrono::nanoseconds(
        static_cast<std::chrono::nanoseconds::rep>(value > max ? max : value));
}

ExitRecord from_raw(const taskmon_exit& raw)
{
    ExitRecord r;
    r.seq = raw.seq;
    r.lost = raw.lost;
    r.pid = raw.pid;
    r.ppid = raw.ppid;
    r.uid = raw.uid;
    r.status = raw.status;
    r.start_time = to_ns(raw.start_time_ns);
    r.exit_time = to_ns(raw.exit_time_ns);
    r.user = to_ns(raw.user_ns);
    r.system = to_ns(raw.system_ns);
    r.children_user = to_ns(raw.children_user_ns);
    r.children_system = to_ns(raw.children_system_ns);
    r.max_rss_bytes = raw.max_rss_bytes;
    r.minor_faults = raw.minor_faults;
    r.major_faults = raw.major_faults;
    r.voluntary_ctxsw = raw.voluntary_ctxsw;
    r.involuntary_ctxsw = raw.involuntary_ctxsw;
    // NUL-terminated by the kernel; bounded here all the same.
    r.comm.assign(raw.comm, ::strnlen(raw.comm, sizeof(raw.comm)));
    return r;
}

} // namespace

// The subscribed file and what the reader has seen.  Hidden: the
// library's own (TASKMON_LOCAL keeps its vtable out of the ABI).
class TASKMON_LOCAL Exits::Impl : public detail::Device {
public:
    Impl(const std::filesystem::path& path, std::uint32_t ring)
        : Device(path, module_name, "taskmon::Exits", false), ring_(ring)
    {
        // Non-blocking for good: try_next() and event loops need it, and
        // next() waits in poll(), so no call ever changes the file's flags.
        const int flags = ::fcntl(fd(), F_GETFL);
        if (flags < 0 || ::fcntl(fd(), F_SETFL, static_cast<unsigned>(flags) | O_NONBLOCK) != 0) {
            fail(errno, "fcntl");
        }
        taskmon_exits_subscribe req{};
        req.ring = ring;
        // The record this library knows: read() hands out records of this
        // size, and the module writes back how many bytes of each it fills.
        req.record_size = sizeof(taskmon_exit);
        ioctl(TM_SUBSCRIBE_EXITS, &req, request);
        checked_filled(req.record_size, path);
    }

    // The bytes of each record the module fills, as TM_SUBSCRIBE_EXITS
    // wrote them back: from TM_EXIT_SIZE_VER0 to sizeof(taskmon_exit), a
    // multiple of 8.  Anything else is a module that broke the ABI.
    static void checked_filled(std::uint32_t filled, const std::filesystem::path& path)
    {
        if (filled < TM_EXIT_SIZE_VER0 || filled > sizeof(taskmon_exit) || filled % 8 != 0) {
            throw Error(EPROTO,
                        "TM_SUBSCRIBE_EXITS on " + path.string() +
                            " failed: the module says it fills " + std::to_string(filled) +
                            " bytes of each record, where " + std::to_string(TM_EXIT_SIZE_VER0) +
                            " to " + std::to_string(sizeof(taskmon_exit)) +
                            " (a multiple of 8) were expected: the loaded taskmonitor module does "
                            "not follow the taskmon ABI this library was built for; load the "
                            "module of the same taskmon release",
                        path, std::string(request));
        }
    }

    // One read(2) of one record: the record, or std::nullopt for nothing now.
    std::optional<ExitRecord> read_one() const
    {
        taskmon_exit raw{};
        for (;;) {
            // Records of sizeof(raw) bytes, the size subscribed with; every
            // field this library knows is within TM_EXIT_SIZE_VER0 today.
            const ssize_t n = ::read(fd(), &raw, sizeof(raw));
            if (n == static_cast<ssize_t>(sizeof(raw))) {
                lost_.fetch_add(raw.lost, std::memory_order_relaxed);
                return from_raw(raw);
            }
            if (n >= 0) {
                // The kernel hands out whole records only, and never ends.
                fail(EIO, "read");
            }
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                return std::nullopt;
            }
            fail(errno, "read");
        }
    }

    // Waits until the file is readable.
    void wait() const
    {
        pollfd pfd{fd(), POLLIN, 0};
        for (;;) {
            if (::poll(&pfd, 1, -1) >= 0) {
                return; // readable or an error: read() says which
            }
            if (errno != EINTR) {
                fail(errno, "poll");
            }
        }
    }

    std::uint32_t ring_;
    mutable std::atomic<std::uint64_t> lost_{0};
};

namespace {

std::uint32_t checked_ring(const std::filesystem::path& device, std::uint32_t ring)
{
    if (ring > Exits::max_ring) {
        throw InvalidArgument(EINVAL,
                              "exits on " + device.string() + ": the ring holds at most " +
                                  std::to_string(Exits::max_ring) + " records, not " +
                                  std::to_string(ring) +
                                  " (refused by libtaskmon without asking the kernel)",
                              device, "exits");
    }
    return ring;
}

// The path of an open @p monitor; Error (EBADF) for a closed one.
std::filesystem::path open_path(const Monitor& monitor)
{
    if (!monitor) {
        detail::throw_closed("taskmon::Monitor", monitor.path());
    }
    return monitor.path();
}

} // namespace

Exits::Exits(const std::filesystem::path& device, std::uint32_t ring)
    : DeviceHandle(std::make_unique<Impl>(device, checked_ring(device, ring)))
{}

Exits::Exits(const Monitor& monitor, std::uint32_t ring) : Exits(open_path(monitor), ring)
{}

Exits::Exits(Exits&& other) noexcept = default;
Exits& Exits::operator=(Exits&& other) noexcept = default;
Exits::~Exits() = default;

const Exits::Impl& Exits::impl() const
{
    // Every Exits's device is an Impl (its constructors make one).
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-static-cast-downcast)
    return static_cast<const Impl&>(device());
}

ExitRecord Exits::next()
{
    const Impl& dev = impl();
    for (;;) {
        std::optional<ExitRecord> record = dev.read_one();
        if (record) {
            return std::move(*record);
        }
        dev.wait();
    }
}

std::optional<ExitRecord> Exits::try_next()
{
    return impl().read_one();
}

std::uint64_t Exits::lost() const noexcept
{
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-static-cast-downcast): always an Impl
    const auto* dev = static_cast<const Impl*>(device_if_any());
    return dev != nullptr ? dev->lost_.load(std::memory_order_relaxed) : 0;
}

std::uint32_t Exits::ring() const noexcept
{
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-static-cast-downcast): always an Impl
    const auto* dev = static_cast<const Impl*>(device_if_any());
    return dev != nullptr ? dev->ring_ : 0;
}

std::ostream& operator<<(std::ostream& out, const ExitRecord& record)
{
    out << "seq " << record.seq << " pid " << record.pid << " ppid " << record.ppid << " uid "
        << record.uid;
    if (record.signaled()) {
        out << " signal " << record.term_signal();
    } else {
        out << " exit " << record.exit_code();
    }
    out << " usr " << record.user.count() << " sys " << record.system.count() << " rss "
        << record.max_rss_bytes << " comm " << record.comm;
    if (record.lost != 0) {
        out << " lost " << record.lost;
    }
    return out;
}

} // namespace taskmon
