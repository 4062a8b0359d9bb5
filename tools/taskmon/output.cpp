// SPDX-License-Identifier: GPL-2.0-only
#include "output.hpp"

#include <cerrno>
#include <ostream>
#include <stdexcept>

namespace taskmon::cli {

void write_output(std::ostream& out, const std::string& text)
{
    if (text.empty()) {
        return;
    }
    errno = 0;
    out << text;
    out.flush();
    if (!out) {
        if (errno == EPIPE) { // the reader went away
            throw OutputClosed();
        }
        throw std::runtime_error(
            "cannot write to standard output (closed, or a full disk?); check where the output "
            "goes");
    }
}

} // namespace taskmon::cli
