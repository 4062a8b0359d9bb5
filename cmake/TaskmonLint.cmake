# SPDX-License-Identifier: GPL-2.0-only
#
# Lint targets over the C++ sources this CMake project owns:
#   cmake --build build/host --target format        # rewrite in place
#   cmake --build build/host --target format-check  # fail on any diff
#   cmake --build build/host --target tidy          # clang-tidy, .clang-tidy config
# The clang-format checks are also CTest tests (labels host;lint), always
# registered: without clang-format they report themselves as skipped
# (taskmon_add_tool_test below), and the targets above say what to install.
# scripts/setup-host installs every tool used here.
set(TASKMON_LINT_DIRS libtaskmon tools tests/libtaskmon tests/cli bench/cpp bench/population)

find_program(TASKMON_CLANG_FORMAT_EXE NAMES clang-format clang-format-14)
find_program(TASKMON_RUN_CLANG_TIDY_EXE NAMES run-clang-tidy run-clang-tidy-14)

set(_taskmon_lint_globs)
foreach(dir IN LISTS TASKMON_LINT_DIRS)
    list(APPEND _taskmon_lint_globs
        "${PROJECT_SOURCE_DIR}/${dir}/*.cpp" "${PROJECT_SOURCE_DIR}/${dir}/*.hpp"
        "${PROJECT_SOURCE_DIR}/${dir}/*.hpp.in")
endforeach()
file(GLOB_RECURSE TASKMON_LINT_FILES CONFIGURE_DEPENDS ${_taskmon_lint_globs})

# A target that needs a missing tool still exists, and says what to install
# when asked for (rather than "no rule to make target").
function(_taskmon_missing_tool_target name tool package)
    add_custom_target(${name}
        COMMAND sh -c "echo '${name}: ${tool} is not installed (apt-get install ${package})' >&2; exit 1"
        VERBATIM)
endfunction()

if(TASKMON_CLANG_FORMAT_EXE)
    add_custom_target(format
        COMMAND "${TASKMON_CLANG_FORMAT_EXE}" -i --style=file ${TASKMON_LINT_FILES}
        WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
        COMMENT "clang-format -i over taskmon's C++ sources" VERBATIM)
    add_custom_target(format-check
        COMMAND "${TASKMON_CLANG_FORMAT_EXE}" --dry-run --Werror --style=file ${TASKMON_LINT_FILES}
        WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
        COMMENT "clang-format --dry-run over taskmon's C++ sources" VERBATIM)
else()
    _taskmon_missing_tool_target(format clang-format clang-format)
    _taskmon_missing_tool_target(format-check clang-format clang-format)
endif()

if(TASKMON_RUN_CLANG_TIDY_EXE)
    # Only the .cpp files: headers are checked through them (HeaderFilterRegex).
    set(_taskmon_tidy_files ${TASKMON_LINT_FILES})
    list(FILTER _taskmon_tidy_files INCLUDE REGEX "\\.cpp$")
    add_custom_target(tidy
        COMMAND "${TASKMON_RUN_CLANG_TIDY_EXE}" -quiet -p "${PROJECT_BINARY_DIR}" ${_taskmon_tidy_files}
        WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
        COMMENT "clang-tidy over taskmon's C++ sources" VERBATIM)
else()
    _taskmon_missing_tool_target(tidy run-clang-tidy clang-tidy)
endif()

# CTest's exit status for "skipped" in every test that needs an optional tool.
set(TASKMON_SKIP_CODE 77)

# taskmon_add_tool_test(NAME <name> TOOL <path or NOTFOUND> PACKAGE <debian package>
#                       [LABELS <labels>...] [WORKING_DIRECTORY <dir>] COMMAND <args>...)
# Registers a test that needs TOOL.  Without TOOL the test is registered
# all the same, saying what to install: skipped (SKIP_RETURN_CODE), or
# failed under TASKMON_REQUIRE_TOOLS=1 (scripts/test, CI), where every tool
# must be there.  A check never disappears from the summary.
function(taskmon_add_tool_test)
    cmake_parse_arguments(arg "" "NAME;TOOL;PACKAGE;WORKING_DIRECTORY" "LABELS;COMMAND" ${ARGN})
    if(NOT arg_WORKING_DIRECTORY)
        set(arg_WORKING_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}")
    endif()
    if(arg_TOOL)
        add_test(NAME ${arg_NAME} COMMAND ${arg_COMMAND} WORKING_DIRECTORY "${arg_WORKING_DIRECTORY}")
    else()
        add_test(NAME ${arg_NAME}
            COMMAND sh -c "echo '${arg_PACKAGE} is not installed (apt-get install ${arg_PACKAGE}, or scripts/setup-host)'; [ \"$TASKMON_REQUIRE_TOOLS\" = 1 ] && exit 1; exit ${TASKMON_SKIP_CODE}")
    endif()
    set_tests_properties(${arg_NAME} PROPERTIES
        LABELS "${arg_LABELS}"
        SKIP_RETURN_CODE ${TASKMON_SKIP_CODE})
endfunction()
