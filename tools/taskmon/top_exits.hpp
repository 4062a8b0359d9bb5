// SPDX-License-Identifier: GPL-2.0-only
//
// `taskmon top`'s exit records: a taskmon::Exits subscription, drained
// often so that its ring does not overflow, or none on a module without
// TM_SUBSCRIBE_EXITS (then processes that start and exit between two
// samples are not seen, and top says so once).
#ifndef TASKMON_TOOLS_TOP_EXITS_HPP
#define TASKMON_TOOLS_TOP_EXITS_HPP

#include "top.hpp"

#include <taskmon/taskmon.hpp>

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <vector>

namespace taskmon::cli {

class ExitFeed {
public:
    /** Subscribes to every exit; on a module without exit records, writes why to @p err. */
    ExitFeed(const Monitor& monitor, std::ostream& err);
    ExitFeed(const ExitFeed&) = delete;
    ExitFeed& operator=(const ExitFeed&) = delete;
    ExitFeed(ExitFeed&&) = delete;
    ExitFeed& operator=(ExitFeed&&) = delete;
    ~ExitFeed();

    /** Reads the records that are there into the buffer (never blocks). */
    void poll();

    /** poll(), then the buffered records; @p lost: how many the ring dropped. */
    [[nodiscard]] std::vector<TopExit> drain(std::uint64_t& lost);

    /** Whether exit records are received at all. */
    [[nodiscard]] bool active() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::vector<TopExit> buffer_;
    std::uint64_t lost_ = 0;
};

} // namespace taskmon::cli

#endif // TASKMON_TOOLS_TOP_EXITS_HPP
