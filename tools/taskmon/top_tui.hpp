// SPDX-License-Identifier: GPL-2.0-only
//
// `taskmon top` on a terminal: the intervals drawn with ncurses, top's keys
// (q quits; P, M, T, N sort by CPU, memory, time, pid; < and > move the
// sort column), a resized terminal redrawn.
#ifndef TASKMON_TOOLS_TOP_TUI_HPP
#define TASKMON_TOOLS_TOP_TUI_HPP

#include "options.hpp"
#include "top.hpp"

#include <functional>
#include <optional>

namespace taskmon::cli {

/**
 * Runs the terminal mode until 'q' or a stop signal, the first sample
 * taken: @p sample takes one every opts.interval, @p poll is called
 * between them (to drain exit records).  Returns the exit status.
 */
[[nodiscard]] int run_tui(const Options& opts,
                          const std::function<std::optional<TopInterval>()>& sample,
                          const std::function<void()>& poll);

} // namespace taskmon::cli

#endif // TASKMON_TOOLS_TOP_TUI_HPP
