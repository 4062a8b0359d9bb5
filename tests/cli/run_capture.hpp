// SPDX-License-Identifier: GPL-2.0-only
//
// run_main() with its output captured, for the host tests of the taskmon
// command.
#pragma once

#include "commands.hpp"

#include <sstream>
#include <string>
#include <vector>

namespace taskmon::cli::test {

struct Result {
    int status;
    std::string out;
    std::string err;
};

inline Result run(const std::vector<std::string>& args)
{
    std::ostringstream out;
    std::ostringstream err;
    const int status = run_main(args, out, err);
    return {status, out.str(), err.str()};
}

} // namespace taskmon::cli::test
