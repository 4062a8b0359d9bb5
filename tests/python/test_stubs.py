# SPDX-License-Identifier: GPL-2.0-only
"""The type information matches the code: _ext.pyi against the extension
(mypy's stubtest, and pybind11's own signatures), the package's inline
annotations under mypy --strict, and a typed program using the API."""
import ast
import importlib.util
import inspect
import pathlib
import re
import subprocess
import sys
import textwrap

import pytest

import taskmon
import taskmon_testlib as lib
import required

HERE = pathlib.Path(__file__).parent
STUB = pathlib.Path(taskmon.__file__).parent / "_ext.pyi"
HAVE_MYPY = importlib.util.find_spec("mypy") is not None


def needs_mypy():
    """mypy must be there: a skip by hand, a failure under scripts/test
    (tests/pylib/required.py)."""
    required.tool(HAVE_MYPY, "mypy is not installed (apt-get install python3-mypy)")


# mypy gives the same answer everywhere, and takes minutes in the emulated VM.
host_only = pytest.mark.skipif(lib.IN_VM, reason="a static check: run on the host only")


def _mypy(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          timeout=300, env=lib.child_env(), cwd=cwd)


@host_only
def test_stubtest(tmp_path):
    needs_mypy()
    out = _mypy("mypy.stubtest", "--allowlist", str(HERE / "stubtest-allowlist.txt"),
                "taskmon", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr


@host_only
def test_package_passes_mypy_strict(tmp_path):
    needs_mypy()
    out = _mypy("mypy", "--strict", "--no-incremental", "-p", "taskmon", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr


@host_only
def test_typed_client_program(tmp_path):
    """A user's program type-checks against the installed package (py.typed),
    and mistakes in it are caught."""
    needs_mypy()
    good = tmp_path / "good.py"
    good.write_text(textwrap.dedent("""
        import errno
        from typing import Optional
        import taskmon

        def cpu_seconds(pid: int) -> Optional[float]:
            try:
                with taskmon.Monitor(steer=True) as m:
                    m.set_target(pid)
                    current: int = m.target()
                    steering: bool = m.steer
                    s: taskmon.Sample = m.sample()
                    user_ns, system_ns = s
                    line: str = m.sample_text()
                    fd: int = m.fileno()
                    m.start()
                    m.stop()
                    pct: float = taskmon.cpu_percent(s, s + s, 1.0)
                    ns: int = user_ns + system_ns + (s - taskmon.Sample(0, 0)).total_ns
                    return (s.total + pct + ns * 0 + 0 * len(line) * fd * current
                            * int(steering))
            except ProcessLookupError as e:
                assert isinstance(e, taskmon.NoSuchProcessError)
                print(e.pid, e.errno == errno.ESRCH)
                return None
            except taskmon.Error as e:
                op: Optional[str] = e.operation
                who: Optional[int] = e.pid
                print(e.errno, e.filename, e.device, op, who, str(e))
                return None

        with taskmon.Hello("/dev/hello") as h:
            greeting: str = h.message()
        version: str = taskmon.__version__ + taskmon.library_version()
    """))
    out = _mypy("mypy", "--strict", "--no-incremental", str(good), cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr

    bad = tmp_path / "bad.py"
    bad.write_text(textwrap.dedent("""
        import taskmon
        m = taskmon.Monitor()
        m.set_target("1234")
        total: str = m.sample().total
        m.sample().user_ns = 5
    """))
    out = _mypy("mypy", "--strict", "--no-incremental", str(bad), cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout.count("error:") == 3, out.stdout


# ---- without mypy: the stub's names and signatures against pybind11's -------------

_PYBIND_TO_STUB = {
    "Tuple[int, int]": "tuple[int, int]",
    "dict": "Dict[str, object]",  # the keyword arguments of taskmon.Stats
    "os.PathLike": "_Path",
    "float": "float",
    "int": "int",
    "str": "str",
    "bool": "bool",
    "None": "None",
    "pathlib.Path": "pathlib.Path",
}


def _stub_signatures():
    """{'Monitor.sample': ('(self)', 'tuple[int, int]'), ...} from _ext.pyi."""
    tree = ast.parse(STUB.read_text())
    found = {}

    def visit(nodes, prefix):
        for node in nodes:
            if isinstance(node, ast.ClassDef):
                found[prefix + node.name] = ("class", None)
                visit(node.body, prefix + node.name + ".")
            elif isinstance(node, ast.FunctionDef):
                args = [a.arg if a.annotation is None else f"{a.arg}: {ast.unparse(a.annotation)}"
                        for a in node.args.args]
                found[prefix + node.name] = (", ".join(args), ast.unparse(node.returns))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                found[prefix + node.target.id] = ("attr", ast.unparse(node.annotation))
    visit(tree.body, "")
    return found


def _runtime_signature(qualname, obj):
    """('self, pid: int', 'None') from pybind11's docstring signature line."""
    doc = (obj.__doc__ or "").splitlines()
    name = qualname.rsplit(".", 1)[-1]
    # "name(self: ..., pid: int) -> None"; a property getter's has no name.
    match = re.match(rf"(?:{re.escape(name)})?\((.*)\) -> (.*)$", doc[0] if doc else "")
    assert match, f"{qualname}: no pybind11 signature in {doc[:1]}"
    params = []
    for i, param in enumerate(filter(None, (p.strip() for p in match.group(1).split(",")))):
        pname, _, ptype = param.partition(": ")
        # pybind11 calls a property getter's self "arg0".
        if pname == "self" or (i == 0 and ptype.startswith("taskmon._ext.")):
            params.append("self")
        else:
            params.append(f"{pname}: {_PYBIND_TO_STUB.get(ptype, ptype)}")
    return ", ".join(params), _PYBIND_TO_STUB.get(match.group(2), match.group(2))


def test_stub_matches_the_extension_signature_by_signature():
    ext = taskmon._ext
    stub = _stub_signatures()
    runtime = {}
    for name, value in vars(ext).items():
        if name.startswith("__") or inspect.ismodule(value):
            continue
        if inspect.isclass(value):
            runtime[name] = ("class", None)
            for member, attr in vars(value).items():
                if member.startswith("__") and member != "__init__":
                    continue
                qual = f"{name}.{member}"
                if isinstance(attr, property):
                    runtime[qual] = _runtime_signature(qual, attr.fget)
                    # properties are written as decorated methods in the stub
                else:
                    runtime[qual] = _runtime_signature(qual, attr)
        elif callable(value):
            runtime[name] = _runtime_signature(name, value)
        else:
            runtime[name] = ("attr", type(value).__name__)
    assert stub.pop("__version__") == ("attr", "str")
    assert isinstance(ext.__version__, str)
    assert sorted(stub) == sorted(runtime)
    for name, (params, returns) in runtime.items():
        assert stub[name] == (params, returns), name
