"""hellosysfs: /sys/kernel/hello."""
import errno
import os
import pathlib
import threading

import pytest

import kmod

HELLO = pathlib.Path("/sys/kernel/hello")
NAME_MAX = 64


def write(data: bytes) -> None:
    fd = os.open(HELLO, os.O_WRONLY)
    try:
        assert os.write(fd, data) == len(data)
    finally:
        os.close(fd)


@pytest.fixture(autouse=True)
def hellosysfs(load):
    load("hellosysfs")


def test_reads_hello_sysfs():
    assert HELLO.read_text() == "Hello sysfs!\n"


@pytest.mark.parametrize("data", [b"dude", b"dude\n"], ids=["echo-n", "echo"])
def test_write_sets_the_name(data):
    write(data)
    assert HELLO.read_text() == "Hello dude!\n"


def test_longest_name_accepted():
    write(b"x" * NAME_MAX + b"\n")
    assert HELLO.read_text() == f"Hello {'x' * NAME_MAX}!\n"


@pytest.mark.parametrize("data", [b"y" * (NAME_MAX + 1), b"\n", b"a\0b"],
                         ids=["too-long", "newline-only", "nul"])
def test_bad_write_is_refused_and_keeps_the_name(data):
    write(b"dude")
    with pytest.raises(OSError) as exc:
        write(data)
    assert exc.value.errno == errno.EINVAL
    assert HELLO.read_text() == "Hello dude!\n"


def test_empty_write_changes_nothing():
    """The VFS never passes a zero-length write to sysfs: it is a no-op."""
    write(b"dude")
    fd = os.open(HELLO, os.O_WRONLY)
    try:
        assert os.write(fd, b"") == 0
    finally:
        os.close(fd)
    assert HELLO.read_text() == "Hello dude!\n"


def test_readers_never_see_a_torn_name():
    names = [b"a" * NAME_MAX, b"b" * NAME_MAX]
    expected = {f"Hello {n.decode()}!\n" for n in names} | {"Hello sysfs!\n"}
    stop = threading.Event()
    seen, writes = set(), [0]

    def writer():
        while not stop.is_set():
            write(names[writes[0] % 2])
            writes[0] += 1

    def reader():
        while not stop.is_set():
            seen.add(HELLO.read_text())

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader)
                                                  for _ in range(3)]
    for t in threads:
        t.start()
    stop.wait(3)
    stop.set()
    for t in threads:
        t.join(10)
    assert writes[0] > 100
    assert seen <= expected, f"torn values read: {seen - expected}"
    assert len(seen & expected) >= 2


def test_file_goes_with_the_module(load):
    write(b"dude")
    kmod.unload("hellosysfs")
    assert not HELLO.exists()
    load("hellosysfs")
    assert HELLO.read_text() == "Hello sysfs!\n"


def test_file_holds_no_text_only_a_page_sized_promise():
    """sysfs gives every attribute the size of a page, whatever show() prints."""
    assert HELLO.stat().st_size == 4096
    assert len(HELLO.read_bytes()) == len("Hello sysfs!\n")


def test_mode_is_root_writable_world_readable():
    assert HELLO.stat().st_mode & 0o777 == 0o644
