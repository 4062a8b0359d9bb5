"""Loading and unloading modules through the system calls themselves.

finit_module(2) and delete_module(2) are called directly (not insmod/rmmod)
so that tests can assert the exact errno a failed load returns.
"""
import ctypes
import errno
import os
import pathlib

_libc = ctypes.CDLL(None, use_errno=True)
_SYS_finit_module = 313  # x86_64
_SYS_delete_module = 176  # x86_64
O_NONBLOCK = os.O_NONBLOCK


def load(path: pathlib.Path, params: str = "") -> None:
    """Load the module at path; raise OSError with the kernel's errno."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.syscall(_SYS_finit_module, fd, params.encode(), 0) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"loading {path.name} {params}: {os.strerror(err)}")
    finally:
        os.close(fd)


def unload(name: str) -> None:
    """Unload a module; raise OSError (EBUSY while in use, ENOENT if absent)."""
    if _libc.syscall(_SYS_delete_module, name.encode(), O_NONBLOCK) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unloading {name}: {os.strerror(err)}")


def is_loaded(name: str) -> bool:
    return pathlib.Path("/sys/module", name).is_dir()


def unload_if_loaded(name: str) -> None:
    try:
        unload(name)
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise
