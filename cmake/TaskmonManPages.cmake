# SPDX-License-Identifier: GPL-2.0-only
#
# The man pages, installed with the commands (component Tools) into
# ${CMAKE_INSTALL_MANDIR}/man1, so that every install gets them, not only
# the Debian package's:
#   taskmon.1      from docs/taskmon.1.md, by pandoc (TASKMON_BUILD_MANPAGES)
#   hello-ioctl.1  docs/hello-ioctl.1, written in roff: needs no tool
#
# TASKMON_BUILD_MANPAGES is ON by default when pandoc is found; asked for
# without pandoc, the configure step fails and says what to install.
find_program(TASKMON_PANDOC_EXE pandoc)
if(TASKMON_PANDOC_EXE)
    set(_taskmon_manpages_default ON)
else()
    set(_taskmon_manpages_default OFF)
endif()
option(TASKMON_BUILD_MANPAGES "Build taskmon.1 from docs/taskmon.1.md with pandoc (ON when pandoc is found)"
    ${_taskmon_manpages_default})

set(_taskmon_man1_dir "${CMAKE_INSTALL_MANDIR}/man1")

if(TASKMON_BUILD_MANPAGES)
    if(NOT TASKMON_PANDOC_EXE)
        message(FATAL_ERROR
            "taskmon: TASKMON_BUILD_MANPAGES is ON but pandoc is not installed: "
            "apt-get install pandoc, or configure with -DTASKMON_BUILD_MANPAGES=OFF")
    endif()
    set(_taskmon_man_out "${PROJECT_BINARY_DIR}/docs/taskmon.1")
    add_custom_command(
        OUTPUT "${_taskmon_man_out}"
        COMMAND "${CMAKE_COMMAND}" -E make_directory "${PROJECT_BINARY_DIR}/docs"
        COMMAND "${TASKMON_PANDOC_EXE}" --standalone --from markdown-smart --to man
            "${PROJECT_SOURCE_DIR}/docs/taskmon.1.md" -o "${_taskmon_man_out}"
        DEPENDS "${PROJECT_SOURCE_DIR}/docs/taskmon.1.md"
        COMMENT "Building the man page taskmon.1 (pandoc)" VERBATIM)
    add_custom_target(taskmon_manpages ALL DEPENDS "${_taskmon_man_out}")
    install(FILES "${_taskmon_man_out}" DESTINATION "${_taskmon_man1_dir}" COMPONENT Tools)
else()
    message(STATUS "taskmon: pandoc not found (apt-get install pandoc): taskmon.1 is not built")
endif()

install(FILES "${PROJECT_SOURCE_DIR}/docs/hello-ioctl.1" DESTINATION "${_taskmon_man1_dir}"
    COMPONENT Tools)
