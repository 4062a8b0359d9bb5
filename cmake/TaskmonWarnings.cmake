# SPDX-License-Identifier: GPL-2.0-only
#
# taskmon_set_warnings(<target>): the warning set every taskmon C++ target
# builds with.  -Werror is controlled by TASKMON_WERROR (ON by default; a
# distribution build may turn it off so that a newer compiler's new warnings
# do not break the package).
function(taskmon_set_warnings target)
    target_compile_options(${target} PRIVATE
        -Wall -Wextra -Wpedantic
        -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
        -Woverloaded-virtual -Wconversion -Wsign-conversion
        -Wnull-dereference -Wdouble-promotion -Wformat=2
        -Wimplicit-fallthrough)
    if(TASKMON_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()
