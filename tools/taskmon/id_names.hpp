// SPDX-License-Identifier: GPL-2.0-only
//
// The names of user and group ids, as ps, top and exits print them.
#ifndef TASKMON_TOOLS_ID_NAMES_HPP
#define TASKMON_TOOLS_ID_NAMES_HPP

#include <sys/types.h>

#include <string>
#include <unordered_map>

namespace taskmon::cli {

/**
 * @brief Names of uids and gids, each looked up once (getpwuid_r(),
 *        getgrgid_r()); an id without a name is its number, as ps shows it.
 */
class IdNames final {
public:
    [[nodiscard]] const std::string& user(uid_t uid);
    [[nodiscard]] const std::string& group(gid_t gid);

private:
    std::unordered_map<uid_t, std::string> users_;
    std::unordered_map<gid_t, std::string> groups_;
};

} // namespace taskmon::cli

#endif // TASKMON_TOOLS_ID_NAMES_HPP
