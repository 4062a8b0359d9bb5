#!/usr/bin/python3
"""The uapi structures have one layout on i386 and x86_64, without implicit padding.

    tests/abi/check-layout.py [--cc CC] [--header PATH]

/dev/taskmonitor passes 32-bit callers through compat_ptr_ioctl(), which
hands the argument over unchanged: that is only right if every structure
of include/uapi/linux/taskmon.h has the same size and field offsets for
-m32 and -m64.  This script reads every `struct NAME { ... };` of the
header, compiles and runs a -m64 program printing sizeof and offsetof of
each field, then compiles (-fsyntax-only, so no 32-bit C library is
needed) a -m32 file of _Static_asserts that those figures hold there too,
as do the request codes (which hold the argument's size).  It also fails
on any hole between fields or after the last one, and checks that
TM_STATS_SIZE_VER0, TM_LIST_SIZE_VER0 and TM_PROC_SIZE_VER0 are the
sizes of their structs.

Output is TAP-like; exit status 0 when everything holds.
"""
import argparse
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEADER = ROOT / "include/uapi/linux/taskmon.h"
# The kernel's uapi asm headers (asm/types.h, asm/posix_types.h...) are
# written for both x86 ABIs and chosen by __i386__/__x86_64__; Debian puts
# them in the multiarch folder only, which -m32 does not search by itself.
ASM_DIRS = ["/usr/include/x86_64-linux-gnu"]
# The first published size of each extensible struct, and the struct.
VER0 = {"TM_STATS_SIZE_VER0": "taskmon_stats", "TM_LIST_SIZE_VER0": "taskmon_list",
        "TM_PROC_SIZE_VER0": "taskmon_proc"}


def structs(text: str):
    """{name: [field, ...]} of every struct defined in the header."""
    found = {}
    for m in re.finditer(r"^struct\s+(\w+)\s*\{(.*?)^\};", text, re.S | re.M):
        body = re.sub(r"/\*.*?\*/", "", m[2], flags=re.S)
        fields = []
        for decl in body.split(";"):
            decl = decl.strip()
            if not decl:
                continue
            field = re.match(r".*?(\w+)\s*(\[[^\]]*\])?$", decl, re.S)
            fields.append(field[1])
        found[m[1]] = fields
    return found


def requests(text: str):
    return re.findall(r"^#define\s+(\w+)\s+_IO\w*\(TASKMON_IOC_TYPE", text, re.M)


def compile_args(cc: str, header: pathlib.Path, bits: int):
    args = [cc, f"-m{bits}", "-std=c11", "-Wall", "-Wextra", "-Werror",
            "-Wpadded", "-I", str(header.parents[1])]
    for d in ASM_DIRS:
        args += ["-idirafter", d]
    return args


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cc", default="gcc")
    parser.add_argument("--header", type=pathlib.Path, default=HEADER)
    args = parser.parse_args()
    text = args.header.read_text()
    layout = structs(text)
    codes = requests(text)
    if "taskmon_stats" not in layout or not codes:
        print(f"Bail out! no structures or requests found in {args.header}")
        return 1

    include = f"#include <linux/{args.header.name}>\n"
    printer = ["#include <stddef.h>", "#include <stdio.h>", include, "int main(void)", "{"]
    for name, fields in layout.items():
        printer.append(f'\tprintf("sizeof {name} %zu\\n", sizeof(struct {name}));')
        for field in fields:
            printer.append(f'\tprintf("offsetof {name} {field} %zu %zu\\n", '
                           f'offsetof(struct {name}, {field}), '
                           f'sizeof(((struct {name} *)0)->{field}));')
    for code in codes:
        printer.append(f'\tprintf("request {code} %lu\\n", (unsigned long){code});')
    printer += ["\treturn 0;", "}"]

    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        (tmp / "print.c").write_text("\n".join(printer) + "\n")
        # -Wpadded is for the structures only, not for the C library's.
        cmd = [a for a in compile_args(args.cc, args.header, 64) if a != "-Wpadded"]
        subprocess.run(cmd + ["-o", str(tmp / "print"), str(tmp / "print.c")], check=True)
        out = subprocess.run([str(tmp / "print")], check=True, capture_output=True,
                             text=True).stdout.splitlines()

        sizes, offsets, values = {}, {}, {}
        for line in out:
            kind, *rest = line.split()
            if kind == "sizeof":
                sizes[rest[0]] = int(rest[1])
            elif kind == "offsetof":
                offsets.setdefault(rest[0], []).append((rest[1], int(rest[2]), int(rest[3])))
            else:
                values[rest[0]] = int(rest[1])

        # No hole between fields, none at the end, on x86_64.
        for name, fields in offsets.items():
            end = 0
            for field, offset, size in fields:
                if offset != end:
                    failures.append(f"struct {name}: {offset - end} bytes of padding "
                                    f"before {field}")
                end = offset + size
            if end != sizes[name]:
                failures.append(f"struct {name}: {sizes[name] - end} bytes of padding at the end")
        # Each extensible struct's first published size is its size.
        for macro, name in VER0.items():
            ver0 = re.search(rf"#define\s+{macro}\s+(\d+)", text)
            if name in sizes and (not ver0 or int(ver0[1]) != sizes[name]):
                failures.append(f"{macro} is not sizeof(struct {name}) ({sizes[name]})")

        # The same figures on i386: checked by the compiler itself.
        asserts = ["#include <stddef.h>", include]
        for name, size in sizes.items():
            asserts.append(f'_Static_assert(sizeof(struct {name}) == {size}, '
                           f'"sizeof(struct {name}) differs on i386");')
            for field, offset, fsize in offsets[name]:
                asserts.append(f'_Static_assert(offsetof(struct {name}, {field}) == {offset}, '
                               f'"offsetof(struct {name}, {field}) differs on i386");')
                asserts.append(f'_Static_assert(sizeof(((struct {name} *)0)->{field}) == {fsize}, '
                               f'"size of {name}.{field} differs on i386");')
        for code, value in values.items():
            asserts.append(f'_Static_assert({code} == {value}U, "{code} differs on i386");')
        (tmp / "i386.c").write_text("\n".join(asserts) + "\n")
        proc = subprocess.run(compile_args(args.cc, args.header, 32) +
                              ["-fsyntax-only", str(tmp / "i386.c")],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            failures += [line for line in proc.stderr.splitlines() if "error" in line] or \
                [proc.stderr.strip() or "the -m32 compilation failed"]

    def about(name, line):
        return re.search(rf"struct {name}\b|\b{name}\.", line)

    n = 0
    for name in sizes:
        n += 1
        mine = [f for f in failures if about(name, f)]
        print(f"{'not ok' if mine else 'ok'} {n} struct {name}: {sizes[name]} bytes, "
              f"{len(offsets[name])} fields: same layout on i386 and x86_64, no padding")
        for line in mine:
            print(f"# {line}")
    n += 1
    other = [f for f in failures if not any(about(s, f) for s in sizes)]
    print(f"{'not ok' if other else 'ok'} {n} {len(values)} request codes and "
          f"the *_SIZE_VER0 sizes the same on i386 and x86_64")
    for line in other:
        print(f"# {line}")
    print(f"1..{n}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
