// SPDX-License-Identifier: GPL-2.0-only
// The version as its one source says, for the tests of every component that
// reports it: project(taskmon VERSION X.Y.Z) in the top-level CMakeLists.txt,
// read from the text itself (not through the build, whose figures are the
// ones under test).
#ifndef TASKMON_TESTS_PROJECT_VERSION_HPP
#define TASKMON_TESTS_PROJECT_VERSION_HPP

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

inline std::string project_version()
{
    const auto root =
        std::filesystem::path(__FILE__).lexically_normal().parent_path().parent_path();
    std::ifstream in(root / "CMakeLists.txt");
    std::ostringstream text;
    text << in.rdbuf();
    const std::string s = text.str();
    std::smatch m;
    if (!std::regex_search(
            s, m, std::regex(R"(project\(\s*taskmon\s[^)]*VERSION\s+([0-9]+\.[0-9]+\.[0-9]+))"))) {
        ADD_FAILURE() << "no project(taskmon VERSION X.Y.Z) in " << (root / "CMakeLists.txt");
        return "?";
    }
    return m[1];
}

#endif
