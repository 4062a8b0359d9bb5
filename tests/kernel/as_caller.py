"""Running a function as one of docs/security.md's callers, in a child process.

The test (root, in the VM's initial namespaces) forks; the child becomes
the caller and runs the function, sends its result back and stays alive
until the test has looked at the module's state (a target set to the
caller's own pid must still name a live process when root reads it back).
A fork, not an exec: no Python start-up per call, which under TCG costs
seconds, and the function may be any closure.

Callers:
  root         the test's own credentials;
  group        uid and gid UID/GID (numeric: the guest's root file system is
               the host's, read-only, so no useradd), supplementary group
               GROUP, which the test gives the device as the udev rule gives
               it `taskmon`; no capability (setresuid from 0 drops them);
  user         the same without GROUP;
  userns-root  root in a new user namespace, uid and gid 0 mapped to 0
               (what `unshare --user --map-root-user` does);
  pidns-root   root in a new pid namespace and mount namespace with that
               namespace's /proc (`unshare --pid --fork --mount-proc`): the
               function runs as the namespace's pid 1.

With hidepid=True the caller runs in a new mount namespace whose /proc is
a fresh proc mounted with hidepid=2 (and gid=HIDEPID_GID, a group nobody
is in: without gid= the exempt group is 0, which root in a user namespace
still has).  It is mounted before the caller drops root, as an
administrator would have mounted it.
"""
import ctypes
import json
import os
import select
import signal
import traceback

CALLERS = ("root", "group", "user", "userns-root", "pidns-root")

UID = 64000
GID = 64000
GROUP = 64001
HIDEPID_GID = 64002

_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_MS_NOSUID, _MS_NODEV, _MS_NOEXEC = 0x2, 0x4, 0x8
_MS_REC, _MS_PRIVATE = 0x4000, 1 << 18
_PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p,
                        ctypes.c_ulong, ctypes.c_char_p]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong, ctypes.c_ulong]


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags: int) -> None:
    _check(_libc.unshare(flags), f"unshare({flags:#x})")


def _mount_proc(hidepid: bool) -> None:
    """A fresh proc on /proc, for this process's pid namespace, seen only
    in this (new) mount namespace."""
    _check(_libc.mount(None, b"/", None, _MS_REC | _MS_PRIVATE, None), "mount --make-rprivate /")
    options = f"hidepid=2,gid={HIDEPID_GID}".encode() if hidepid else None
    _check(_libc.mount(b"proc", b"/proc", b"proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC, options),
           f"mount -t proc -o {options} proc /proc")


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _become(caller: str) -> None:
    if caller == "root" or caller == "pidns-root":
        return
    if caller == "userns-root":
        _unshare(_CLONE_NEWUSER)
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", "0 0 1")
        _write("/proc/self/gid_map", "0 0 1")
        return
    os.setgroups([GROUP] if caller == "group" else [])
    os.setresgid(GID, GID, GID)
    os.setresuid(UID, UID, UID)


def _send(fd: int, message: dict) -> None:
    # One write of less than PIPE_BUF: atomic, even with two writers.
    os.write(fd, (json.dumps(message) + "\n").encode())


def _child(caller, fn, hidepid, res_w, go_r):
    try:
        if caller == "pidns-root":
            _unshare(_CLONE_NEWPID | _CLONE_NEWNS)
            pid = os.fork()
            if pid:
                # In the initial pid namespace: tell the test the pid that
                # its namespace's pid 1 has there, and wait for it.
                _send(res_w, {"hostpid": pid})
                os.waitpid(pid, 0)
                return
            _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            _mount_proc(hidepid)
        else:
            if hidepid:
                _unshare(_CLONE_NEWNS)
                _mount_proc(True)
            _send(res_w, {"hostpid": os.getpid()})
        _become(caller)
        _send(res_w, {"result": fn()})
    except BaseException:  # noqa: B902 - the child must never return into pytest
        _send(res_w, {"error": traceback.format_exc()[-2000:]})
    # Stay until the test lets go (closes its end), or dies.
    while os.read(go_r, 64):
        pass


class Run:
    """`with Run(caller, fn) as run:` runs fn() as caller; inside the block
    the child is alive, run.result is what fn returned and run.hostpid the
    child's pid in the test's (initial) pid namespace."""

    def __init__(self, caller: str, fn, hidepid: bool = False, timeout: float = 60.0):
        if caller not in CALLERS:
            raise ValueError(f"unknown caller {caller!r}")
        self.caller, self.fn, self.hidepid, self.timeout = caller, fn, hidepid, timeout
        self.result = self.hostpid = None

    def __enter__(self):
        res_r, res_w = os.pipe()
        go_r, self._go_w = os.pipe()
        self._pid = os.fork()
        if self._pid == 0:
            status = 1
            try:
                os.close(res_r)
                os.close(self._go_w)
                _child(self.caller, self.fn, self.hidepid, res_w, go_r)
                status = 0
            finally:
                os._exit(status)
        os.close(res_w)
        os.close(go_r)
        try:
            self._collect(res_r)
        except BaseException:
            os.kill(self._pid, signal.SIGKILL)  # a hung or failed child
            self._release()
            raise
        finally:
            os.close(res_r)
        return self

    def _collect(self, fd: int) -> None:
        buf = b""
        while True:
            ready, _, _ = select.select([fd], [], [], self.timeout)
            if not ready:
                raise TimeoutError(
                    f"no answer from the {self.caller} child within {self.timeout} s")
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
            messages = [json.loads(line) for line in buf.decode().splitlines()
                        if line.endswith("}")]
            merged = {k: v for m in messages for k, v in m.items()}
            if "error" in merged:
                raise AssertionError(f"the {self.caller} child failed:\n{merged['error']}")
            if "result" in merged and "hostpid" in merged:
                self.result, self.hostpid = merged["result"], merged["hostpid"]
                return
        raise AssertionError(f"the {self.caller} child ended without an answer: {buf!r}")

    def _release(self) -> int:
        os.close(self._go_w)
        return os.waitpid(self._pid, 0)[1]

    def __exit__(self, exc_type, *exc):
        status = self._release()
        if exc_type is None:
            assert os.waitstatus_to_exitcode(status) == 0, \
                f"the {self.caller} child exited with status {status:#x}"


def run(caller: str, fn, hidepid: bool = False):
    """fn()'s result, as caller (the child is gone when this returns)."""
    with Run(caller, fn, hidepid) as r:
        return r.result
