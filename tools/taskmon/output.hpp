// SPDX-License-Identifier: GPL-2.0-only
//
// Writing the commands' output: a reader that went away ends a command
// quietly, any other failure is an error.
#ifndef TASKMON_TOOLS_OUTPUT_HPP
#define TASKMON_TOOLS_OUTPUT_HPP

#include <exception>
#include <iosfwd>
#include <string>

namespace taskmon::cli {

/**
 * Thrown when standard output is a pipe whose reader went away (EPIPE, as in
 * `taskmon watch | head -1`): the command ends quietly with status 0.
 */
class OutputClosed : public std::exception {
public:
    [[nodiscard]] const char* what() const noexcept override { return "output closed"; }
};

/**
 * Writes @p text to @p out and flushes it, so that a watching command's
 * lines appear as they happen.  Throws OutputClosed on EPIPE (SIGPIPE is
 * ignored, see main.cpp), std::runtime_error on any other failure.
 */
void write_output(std::ostream& out, const std::string& text);

} // namespace taskmon::cli

#endif // TASKMON_TOOLS_OUTPUT_HPP
