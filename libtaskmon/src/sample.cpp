// SPDX-License-Identifier: LGPL-2.1-or-later
#include "internal.hpp"

#include <cstdlib>
#include <iomanip>
#include <ostream>

namespace taskmon {

namespace {

// Exact seconds with 9 decimals, e.g. "36.181000000 s" or "-0.000000001 s".
void put_seconds(std::ostream& out, std::chrono::nanoseconds ns)
{
    const auto count = ns.count();
    const auto whole = count / 1'000'000'000;
    const auto frac = std::llabs(count % 1'000'000'000);
    const char fill = out.fill('0');
    if (count < 0 && whole == 0) {
        out << '-';
    }
    out << whole << '.' << std::setw(9) << frac << " s";
    out.fill(fill);
}

} // namespace

std::ostream& operator<<(std::ostream& out, const Sample& sample)
{
    out << "user ";
    put_seconds(out, sample.user);
    out << ", system ";
    put_seconds(out, sample.system);
    return out;
}

const char* version() noexcept
{
    return TASKMON_VERSION_STRING;
}

} // namespace taskmon
