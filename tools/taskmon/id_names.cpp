// SPDX-License-Identifier: GPL-2.0-only
#include "id_names.hpp"

#include <grp.h>
#include <pwd.h>

#include <array>

namespace taskmon::cli {

namespace {

// getpwuid_r() and getgrgid_r() need a buffer; 4 KiB holds any entry of a
// sane passwd or group file (a larger one shows as its number).
using Buffer = std::array<char, 4096>;

} // namespace

const std::string& IdNames::user(uid_t uid)
{
    auto it = users_.find(uid);
    if (it == users_.end()) {
        passwd pw{};
        passwd* found = nullptr;
        Buffer buf{};
        std::string name = std::to_string(uid);
        if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
            name = found->pw_name;
        }
        it = users_.emplace(uid, std::move(name)).first;
    }
    return it->second;
}

const std::string& IdNames::group(gid_t gid)
{
    auto it = groups_.find(gid);
    if (it == groups_.end()) {
        struct ::group gr {};
        struct ::group* found = nullptr;
        Buffer buf{};
        std::string name = std::to_string(gid);
        if (::getgrgid_r(gid, &gr, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
            name = found->gr_name;
        }
        it = groups_.emplace(gid, std::move(name)).first;
    }
    return it->second;
}

} // namespace taskmon::cli
