// SPDX-License-Identifier: GPL-2.0-only
#include "top_exits.hpp"

#include <optional>
#include <ostream>
#include <utility>

namespace taskmon::cli {

#if __has_include(<taskmon/exits.hpp>)

struct ExitFeed::Impl {
    std::optional<Exits> exits;
};

ExitFeed::ExitFeed(const Monitor& monitor, std::ostream& err) : impl_(std::make_unique<Impl>())
{
    try {
        // The largest ring: a few seconds of hundreds of exits a second
        // between two drains are then far from filling it.
        impl_->exits.emplace(monitor, Exits::max_ring);
    } catch (const NotSupported&) {
        err << "taskmon: this taskmonitor module has no exit records (TM_SUBSCRIBE_EXITS): "
               "processes that start and exit within an interval are not shown\n";
    }
}

void ExitFeed::poll()
{
    if (!impl_->exits) {
        return;
    }
    while (const std::optional<ExitRecord> r = impl_->exits->try_next()) {
        lost_ += r->lost;
        TopExit e;
        e.pid = r->pid;
        e.ppid = r->ppid;
        e.uid = r->uid;
        e.start_time = r->start_time;
        e.exit_time = r->exit_time;
        e.user = r->user;
        e.system = r->system;
        e.max_rss_bytes = r->max_rss_bytes;
        e.comm = r->comm;
        buffer_.push_back(std::move(e));
    }
}

bool ExitFeed::active() const noexcept
{
    return impl_->exits.has_value();
}

#else // a libtaskmon without taskmon::Exits

struct ExitFeed::Impl {};

ExitFeed::ExitFeed(const Monitor& /*monitor*/, std::ostream& err) : impl_(std::make_unique<Impl>())
{
    err << "taskmon: built without exit records: processes that start and exit within an "
           "interval are not shown\n";
}

void ExitFeed::poll()
{}

bool ExitFeed::active() const noexcept
{
    return false;
}

#endif

ExitFeed::~ExitFeed() = default;

std::vector<TopExit> ExitFeed::drain(std::uint64_t& lost)
{
    poll();
    lost = lost_;
    lost_ = 0;
    return std::exchange(buffer_, {});
}

} // namespace taskmon::cli
