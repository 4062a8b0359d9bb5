// SPDX-License-Identifier: LGPL-2.1-or-later
//
// taskmon::Stream: a subscription of its own open file of /dev/taskmonitor
// (TM_SUBSCRIBE), drained with read() and waited for with poll().
#include "internal.hpp"

#include <linux/taskmon.h>

#include <csignal>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <ostream>
#include <string>
#include <utility>

namespace taskmon {

namespace {

constexpr std::string_view module_name = "taskmonitor";
constexpr std::string_view operation = "stream";

static_assert(Stream::min_period.count() == TM_STREAM_PERIOD_MIN_NS);
static_assert(Stream::max_period.count() == TM_STREAM_PERIOD_MAX_NS);
static_assert(Stream::default_period.count() == TM_STREAM_PERIOD_DEFAULT_NS);
static_assert(Stream::max_pids == TM_STREAM_PIDS_MAX);
static_assert(Stream::max_ring == TM_STREAM_RING_MAX);
static_assert(StreamRecord::exit_flag == TM_RECORD_EXIT);
static_assert(StreamRecord::reaped_flag == TM_RECORD_REAPED);
static_assert(StreamRecord::gap_flag == TM_RECORD_GAP);

std::chrono::nanoseconds to_ns(__u64 value) noexcept
{
    // Saturate rather than wrap (2^63 ns is 292 years).
    constexpr auto max =
        static_cast<__u64>(std::numeric_limits<std::chrono::nanoseconds::rep>::max());
    return std::chrono::nanoseconds(
        static_cast<std::chrono::nanoseconds::rep>(value > max ? max : value));
}

StreamRecord from_raw(const taskmon_record& raw) noexcept
{
    StreamRecord r;
    r.seq = raw.seq;
    r.timestamp = to_ns(raw.timestamp_ns);
    r.pid = raw.pid;
    r.flags = raw.flags;
    r.user = to_ns(raw.user_ns);
    r.system = to_ns(raw.system_ns);
    r.lost = raw.lost;
    return r;
}

// The first pid of @p pids that names no process kill(2) can see, 0 if
// none: the one TM_SUBSCRIBE's ESRCH is most likely about (a zombie passes
// this test, and the kernel refuses it too, so it may be 0 then).
pid_t missing_pid(const std::vector<pid_t>& pids) noexcept
{
    for (const pid_t pid : pids) {
        if (pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
            return pid;
        }
    }
    return 0;
}

} // namespace

// The subscribed file, its request and what the reader has seen.
// Hidden: the library's own (TASKMON_LOCAL keeps its vtable out of the ABI).
class TASKMON_LOCAL Stream::Impl : public detail::Device {
public:
    Impl(const std::filesystem::path& path, std::vector<pid_t> pids,
         std::chrono::nanoseconds period, std::uint32_t ring)
        : Device(path, module_name, "taskmon::Stream", false)
        , pids_(std::move(pids))
        , period_(period.count() == 0 ? std::chrono::nanoseconds{TM_STREAM_PERIOD_DEFAULT_NS}
                                      : period)
    {
        // Non-blocking for good: try_next() and event loops need it, and
        // next() waits in poll(), so no call ever changes the file's flags.
        const int flags = ::fcntl(fd(), F_GETFL);
        if (flags < 0 || ::fcntl(fd(), F_SETFL, static_cast<unsigned>(flags) | O_NONBLOCK) != 0) {
            fail(errno, "fcntl");
        }
        taskmon_subscribe req{};
        req.count = static_cast<__u32>(pids_.size());
        req.period_ns = static_cast<__u64>(period_.count());
        req.ring = ring;
        req.pids = reinterpret_cast<std::uintptr_t>(pids_.data());
        // The record this library knows: read() hands out records of this
        // size, and the module writes back how many bytes of each it fills.
        req.record_size = sizeof(taskmon_record);
        const int err = try_ioctl(TM_SUBSCRIBE, &req);
        if (err == ESRCH) {
            const pid_t pid = missing_pid(pids_);
            const std::string who =
                pid > 0 ? "pid " + std::to_string(pid) : std::string("one of the pids");
            throw NoSuchProcess(ESRCH,
                                "TM_SUBSCRIBE on " + path.string() +
                                    (pid > 0 ? " for pid " + std::to_string(pid) : "") +
                                    " failed: No such process (" + who +
                                    " is not a live process visible in this pid namespace: it "
                                    "never existed, has exited, or belongs to another pid "
                                    "namespace)",
                                path, "TM_SUBSCRIBE", pid);
        }
        if (err != 0) {
            fail(err, "TM_SUBSCRIBE");
        }
        filled_ = checked_filled(req.record_size, path);
    }

    // The bytes of each record the module fills, as TM_SUBSCRIBE wrote
    // them back: the smaller of sizeof(taskmon_record) and the module's
    // own record, so from TM_RECORD_SIZE_VER0 to sizeof(taskmon_record),
    // a multiple of 8.  Anything else is a module that broke the ABI.
    static std::uint32_t checked_filled(std::uint32_t filled, const std::filesystem::path& path)
    {
        static_assert(sizeof(taskmon_record) >= TM_RECORD_SIZE_VER0);
        if (filled < TM_RECORD_SIZE_VER0 || filled > sizeof(taskmon_record) || filled % 8 != 0) {
            throw Error(EPROTO,
                        "TM_SUBSCRIBE on " + path.string() + " failed: the module says it fills " +
                            std::to_string(filled) + " bytes of each record, where " +
                            std::to_string(TM_RECORD_SIZE_VER0) + " to " +
                            std::to_string(sizeof(taskmon_record)) +
                            " (a multiple of 8) were expected: the loaded taskmonitor module does "
                            "not follow the taskmon ABI this library was built for; load the "
                            "module of the same taskmon release",
                        path, "TM_SUBSCRIBE");
        }
        return filled;
    }

    // One read(2) of one record: the record, std::nullopt for nothing now
    // (*again) or the end (ended_ set).
    std::optional<StreamRecord> read_one(bool* again) const
    {
        *again = false;
        if (ended_.load(std::memory_order_acquire)) {
            return std::nullopt;
        }
        taskmon_record raw{};
        for (;;) {
            // Records of sizeof(raw) bytes, the size subscribed with; of
            // each, the module filled filled_ bytes and zeroed the rest.
            // Every field this library knows is within TM_RECORD_SIZE_VER0
            // today, so an older module's record lacks none of them; a
            // field added later will be absent when it lies past filled_.
            const ssize_t n = ::read(fd(), &raw, sizeof(raw));
            if (n == static_cast<ssize_t>(sizeof(raw))) {
                lost_.fetch_add(raw.lost, std::memory_order_relaxed);
                return from_raw(raw);
            }
            if (n == 0) {
                ended_.store(true, std::memory_order_release);
                return std::nullopt;
            }
            if (n > 0) {
                // The kernel hands out whole records only.
                fail(EIO, "read");
            }
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN) {
                *again = true;
                return std::nullopt;
            }
            fail(errno, "read");
        }
    }

    // Waits until the file is readable or at its end.
    void wait() const
    {
        pollfd pfd{fd(), POLLIN, 0};
        for (;;) {
            const int n = ::poll(&pfd, 1, -1);
            if (n >= 0) {
                return; // readable, EPOLLHUP or an error: read() says which
            }
            if (errno != EINTR) {
                fail(errno, "poll");
            }
        }
    }

    std::vector<pid_t> pids_;
    std::chrono::nanoseconds period_;
    // Bytes of each record the module fills (TM_SUBSCRIBE's answer).
    std::uint32_t filled_ = 0;
    mutable std::atomic<std::uint64_t> lost_{0};
    mutable std::atomic<bool> ended_{false};
};

namespace {

std::vector<pid_t> checked_pids(const std::filesystem::path& device, const pid_t* pids,
                                std::size_t count, std::chrono::nanoseconds period,
                                std::uint32_t ring)
{
    const std::string where = "stream on " + device.string() + ": ";
    const std::string refused = " (refused by libtaskmon without asking the kernel)";
    const auto refuse = [&](const std::string& why, pid_t pid = 0) {
        throw InvalidArgument(EINVAL, where + why + refused, device, std::string(operation), pid);
    };
    if (count == 0 || pids == nullptr) {
        refuse("no pid to follow: give at least one (0 for the module's target)");
    }
    if (count > Stream::max_pids) {
        refuse(std::to_string(count) + " pids, more than the " + std::to_string(Stream::max_pids) +
               " one stream follows");
    }
    std::vector<pid_t> out(pids,
                           pids + count); // NOLINT(cppcoreguidelines-pro-bounds-pointer-arithmetic)
    for (const pid_t pid : out) {
        if (pid < 0) {
            refuse("a pid must be a process id, or 0 for the target, not " + std::to_string(pid),
                   pid);
        }
    }
    if (period.count() != 0 && (period < Stream::min_period || period > Stream::max_period)) {
        refuse("the period must be from 10 ms to 1 hour, not " + std::to_string(period.count()) +
               " ns");
    }
    if (ring > Stream::max_ring) {
        refuse("the ring holds at most " + std::to_string(Stream::max_ring) + " records, not " +
               std::to_string(ring));
    }
    return out;
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

Stream::Stream(const std::filesystem::path& device, const pid_t* pids, std::size_t count,
               std::chrono::nanoseconds period, std::uint32_t ring)
    : DeviceHandle(std::make_unique<Impl>(device, checked_pids(device, pids, count, period, ring),
                                          period, ring))
{}

Stream::Stream(const Monitor& monitor, const std::vector<pid_t>& pids,
               std::chrono::nanoseconds period, std::uint32_t ring)
    : Stream(open_path(monitor), pids, period, ring)
{}

Stream::Stream(Stream&& other) noexcept = default;
Stream& Stream::operator=(Stream&& other) noexcept = default;
Stream::~Stream() = default;

const Stream::Impl& Stream::impl() const
{
    // Every Stream's device is an Impl (its constructors make one).
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-static-cast-downcast)
    return static_cast<const Impl&>(device());
}

std::optional<StreamRecord> Stream::next()
{
    const Impl& dev = impl();
    for (;;) {
        bool again = false;
        std::optional<StreamRecord> record = dev.read_one(&again);
        if (!again) {
            return record;
        }
        dev.wait();
    }
}

std::optional<StreamRecord> Stream::try_next()
{
    bool again = false;
    return impl().read_one(&again);
}

bool Stream::ended() const noexcept
{
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-static-cast-downcast): always an Impl
    const auto* dev = static_cast<const Impl*>(device_if_any());
    return dev != nullptr && dev->ended_.load(std::memory_order_acquire);
}

std::uint64_t Stream::lost() const noexcept
{
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-static-cast-downcast): always an Impl
    const auto* dev = static_cast<const Impl*>(device_if_any());
    return dev != nullptr ? dev->lost_.load(std::memory_order_relaxed) : 0;
}

std::chrono::nanoseconds Stream::period() const noexcept
{
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-static-cast-downcast): always an Impl
    const auto* dev = static_cast<const Impl*>(device_if_any());
    return dev != nullptr ? dev->period_ : std::chrono::nanoseconds{0};
}

std::vector<pid_t> Stream::pids() const
{
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-static-cast-downcast): always an Impl
    const auto* dev = static_cast<const Impl*>(device_if_any());
    return dev != nullptr ? dev->pids_ : std::vector<pid_t>{};
}

std::ostream& operator<<(std::ostream& out, const StreamRecord& record)
{
    out << "seq " << record.seq << " t " << record.timestamp.count() << " pid " << record.pid
        << " usr " << record.user.count() << " sys " << record.system.count();
    if (record.lost != 0) {
        out << " lost " << record.lost;
    }
    if (record.gap()) {
        out << " gap";
    }
    if (record.exited()) {
        out << " exited";
        if (record.reaped()) {
            out << " reaped";
        }
    }
    return out;
}

} // namespace taskmon
