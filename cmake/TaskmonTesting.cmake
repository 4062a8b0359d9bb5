# SPDX-License-Identifier: GPL-2.0-only
#
# How every CTest test of this project is registered (docs/testing.md,
# "What counts"):
#
# - Every case counts once, by name.  A ctest test that runs a whole
#   pytest suite or GoogleTest binary writes that runner's own JUnit file
#   to TASKMON_JUNIT_DIR/<ctest name>.xml; scripts/test copies them beside
#   ctest's JUnit, and tests/pylib/junit.py counts their cases in place of
#   the ctest test.
# - A hang loses one test: every pytest case has TASKMON_TEST_TIMEOUT
#   seconds (pytest-timeout, python3-pytest-timeout), every discovered
#   GoogleTest case TASKMON_GTEST_TIMEOUT (ctest's TIMEOUT), far below the
#   host step's limit.
set(TASKMON_JUNIT_DIR "${PROJECT_BINARY_DIR}/junit")
set(TASKMON_TEST_TIMEOUT 300 CACHE STRING "Time limit of one pytest case (seconds)")
set(TASKMON_GTEST_TIMEOUT 120 CACHE STRING "Time limit of one host GoogleTest case (seconds)")

# taskmon_pytest_command(<var> <ctest name> [<python>]): the command line of
# pytest writing TASKMON_JUNIT_DIR/<ctest name>.xml, every case bounded.
function(taskmon_pytest_command var name)
    set(python "${ARGN}")
    if(NOT python)
        set(python "${Python3_EXECUTABLE}")
    endif()
    set(${var} "${python}" -m pytest -p no:cacheprovider -rs
        -p timeout "--timeout=${TASKMON_TEST_TIMEOUT}"
        "--junitxml=${TASKMON_JUNIT_DIR}/${name}.xml" -o "junit_suite_name=${name}"
        PARENT_SCOPE)
endfunction()

# taskmon_pytest_missing(<var> <python>): the Debian package missing for
# pytest with pytest-timeout under <python>, or nothing.
function(taskmon_pytest_missing var python)
    execute_process(COMMAND "${python}" -c "import pytest"
        RESULT_VARIABLE no_pytest OUTPUT_QUIET ERROR_QUIET)
    execute_process(COMMAND "${python}" -c "import pytest_timeout"
        RESULT_VARIABLE no_timeout OUTPUT_QUIET ERROR_QUIET)
    if(no_pytest)
        set(${var} python3-pytest PARENT_SCOPE)
    elseif(no_timeout)
        set(${var} python3-pytest-timeout PARENT_SCOPE)
    else()
        set(${var} "" PARENT_SCOPE)
    endif()
endfunction()

# The asan step's build (build/asan, scripts/test): libtaskmon, the
# CLI and the Python extension under AddressSanitizer and
# UndefinedBehaviorSanitizer; any report fails the test that triggered it.
# Python itself is not instrumented: its tests load the extension with
# libasan (and libstdc++) preloaded (ASan must come first) and leak detection off (the
# interpreter's own allocations at exit are not ours).
option(TASKMON_SANITIZE "Build with -fsanitize=address,undefined (scripts/test: build/asan)" OFF)
set(TASKMON_SANITIZER_ENV "")
if(TASKMON_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
        -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
    execute_process(COMMAND "${CMAKE_CXX_COMPILER}" -print-file-name=libasan.so
        OUTPUT_VARIABLE _taskmon_libasan OUTPUT_STRIP_TRAILING_WHITESPACE)
    # libstdc++ too: ASan resolves the __cxa_throw it intercepts when it
    # starts, and python3 itself does not load libstdc++ ("CHECK failed:
    # real___cxa_throw != 0" at the extension's first exception).
    execute_process(COMMAND "${CMAKE_CXX_COMPILER}" -print-file-name=libstdc++.so
        OUTPUT_VARIABLE _taskmon_libstdcxx OUTPUT_STRIP_TRAILING_WHITESPACE)
    set(TASKMON_SANITIZER_ENV "LD_PRELOAD=${_taskmon_libasan}:${_taskmon_libstdcxx}"
        "ASAN_OPTIONS=detect_leaks=0"
        "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1")
endif()
