// SPDX-License-Identifier: GPL-2.0-only
//
// The message parse_args() refuses arguments with, for the parsing tests of
// the taskmon command.
#pragma once

#include "options.hpp"

#include <string>
#include <vector>

namespace taskmon::cli::test {

/** The UsageError message for @p args ("" if none was thrown). */
inline std::string usage_error(const std::vector<std::string>& args)
{
    try {
        static_cast<void>(parse_args(args));
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

} // namespace taskmon::cli::test
