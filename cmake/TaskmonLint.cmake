# SPDX-License-Identifier: GPL-2.0-only
#
# Lint targets over the C++ sources this CMake project owns:
#   cmake --build build/host --target format        # rewrite in place
#   cmake --build build/host --target format-check  # fail on any diff
#   cmake --build build/host --target tidy          # clang-tidy, .clang-tidy config
# The clang-format check is also a CTest test (label host;lint) when
# clang-format is installed.
set(TASKMON_LINT_DIRS libtaskmon tools tests/libtaskmon tests/cli)

find_program(TASKMON_CLANG_FORMAT_EXE NAMES clang-format clang-format-14)
find_program(TASKMON_RUN_CLANG_TIDY_EXE NAMES run-clang-tidy run-clang-tidy-14)

set(_taskmon_lint_globs)
foreach(dir IN LISTS TASKMON_LINT_DIRS)
    list(APPEND _taskmon_lint_globs
        "${PROJECT_SOURCE_DIR}/${dir}/*.cpp" "${PROJECT_SOURCE_DIR}/${dir}/*.hpp"
        "${PROJECT_SOURCE_DIR}/${dir}/*.hpp.in")
endforeach()
file(GLOB_RECURSE TASKMON_LINT_FILES CONFIGURE_DEPENDS ${_taskmon_lint_globs})

if(TASKMON_CLANG_FORMAT_EXE)
    add_custom_target(format
        COMMAND "${TASKMON_CLANG_FORMAT_EXE}" -i --style=file ${TASKMON_LINT_FILES}
        WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
        COMMENT "clang-format -i over taskmon's C++ sources" VERBATIM)
    add_custom_target(format-check
        COMMAND "${TASKMON_CLANG_FORMAT_EXE}" --dry-run --Werror --style=file ${TASKMON_LINT_FILES}
        WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
        COMMENT "clang-format --dry-run over taskmon's C++ sources" VERBATIM)
endif()

if(TASKMON_RUN_CLANG_TIDY_EXE)
    # Only the .cpp files: headers are checked through them (HeaderFilterRegex).
    set(_taskmon_tidy_files ${TASKMON_LINT_FILES})
    list(FILTER _taskmon_tidy_files INCLUDE REGEX "\\.cpp$")
    add_custom_target(tidy
        COMMAND "${TASKMON_RUN_CLANG_TIDY_EXE}" -quiet -p "${PROJECT_BINARY_DIR}" ${_taskmon_tidy_files}
        WORKING_DIRECTORY "${PROJECT_SOURCE_DIR}"
        COMMENT "clang-tidy over taskmon's C++ sources" VERBATIM)
endif()
