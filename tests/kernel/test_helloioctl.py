"""helloioctl: the character device "hello" and its HELLO request."""
import errno
import fcntl
import os
import pathlib
import stat

import pytest

import kmod
import uapi

DEV = pathlib.Path("/dev/hello")


def proc_devices_major(name: str):
    """The major /proc/devices lists for a character device, or None."""
    text = pathlib.Path("/proc/devices").read_text()
    chars = text.split("Block devices:")[0]
    for line in chars.splitlines()[1:]:
        fields = line.split()
        if len(fields) == 2 and fields[1] == name:
            return int(fields[0])
    return None


def hello(path=DEV) -> bytes:
    buf = bytearray(uapi.HELLO_MSG_LEN)
    fd = os.open(path, os.O_RDONLY)
    try:
        assert fcntl.ioctl(fd, uapi.HELLO, buf) == 0
    finally:
        os.close(fd)
    return bytes(buf)


@pytest.fixture(autouse=True)
def helloioctl(load, kmsg):
    load("helloioctl")
    return kmsg


def test_major_is_listed_and_logged(helloioctl):
    major = proc_devices_major("hello")
    assert major is not None and major > 0
    helloioctl.wait_for(rf"helloioctl: registered /dev/hello with major {major}$")


def test_device_node_appears_by_itself():
    major = proc_devices_major("hello")
    st = DEV.stat()
    assert stat.S_ISCHR(st.st_mode)
    assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (major, 0)


def test_hello_returns_the_greeting():
    assert hello().rstrip(b"\0") == b"Hello ioctl!"


def test_mknod_node_works_too(tmp_path):
    node = tmp_path / "hello"
    os.mknod(node, 0o600 | stat.S_IFCHR, os.makedev(proc_devices_major("hello"), 0))
    assert hello(node).rstrip(b"\0") == b"Hello ioctl!"


@pytest.mark.parametrize("request_code", [
    uapi.request("_IO", 0x01),              # HELLO's number, wrong direction/size
    uapi.request("_IOR", 0x02, uapi.HELLO_MSG_LEN),
    uapi.TM_GET,                            # a taskmonitor request
    0x5401,                                 # TCGETS: not a tty
    0xdeadbeef & 0xffffffff,
], ids=["hello-no-size", "next-nr", "tm-get", "tcgets", "garbage"])
def test_other_requests_give_enotty(request_code):
    fd = os.open(DEV, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as exc:
            fcntl.ioctl(fd, request_code, bytearray(uapi.HELLO_MSG_LEN))
        assert exc.value.errno == errno.ENOTTY
    finally:
        os.close(fd)


@pytest.mark.parametrize("address", [0, 1, 0xffffffffff600000, 0xffff888000000000],
                         ids=["null", "low", "vsyscall", "kernel"])
def test_bad_pointer_gives_efault(address):
    fd = os.open(DEV, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as exc:
            uapi.raw_ioctl(fd, uapi.HELLO, address)
        assert exc.value.errno == errno.EFAULT
    finally:
        os.close(fd)


def test_device_goes_with_the_module(load):
    kmod.unload("helloioctl")
    assert not DEV.exists()
    assert proc_devices_major("hello") is None
    load("helloioctl")
    assert hello().rstrip(b"\0") == b"Hello ioctl!"


def test_unload_refused_while_open():
    fd = os.open(DEV, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as exc:
            kmod.unload("helloioctl")
        assert exc.value.errno == errno.EWOULDBLOCK
    finally:
        os.close(fd)
    kmod.unload("helloioctl")
