"""The access table of docs/security.md, read from the doc itself.

The doc and test_access.py are the same data: the table between the
`<!-- access-table: begin -->` and `<!-- access-table: end -->` markers is
parsed here, and every cell says what one caller gets from one operation:
`ok`, an errno name (`EACCES`), or `-` where the caller cannot get as far
as the operation.  Anything else in the table is an error that names the
line, so a doc edit that breaks the format fails the tests clearly.
"""
import errno
import pathlib

DOC = pathlib.Path(__file__).resolve().parents[2] / "docs/security.md"
BEGIN = "<!-- access-table: begin -->"
END = "<!-- access-table: end -->"
OK = "ok"
UNREACHABLE = "-"


class TableError(Exception):
    """The doc's table is missing or not in the format the tests read."""


def _cells(line: str, lineno: int):
    line = line.strip()
    if not (line.startswith("|") and line.endswith("|")):
        raise TableError(f"{DOC}:{lineno}: not a table row: {line!r}")
    return [cell.strip() for cell in line[1:-1].split("|")]


def _check_cell(value: str, where: str) -> str:
    if value in (OK, UNREACHABLE) or (value.startswith("E") and hasattr(errno, value)):
        return value
    raise TableError(f"{where}: {value!r} is none of 'ok', '-' or an errno name")


def read(path: pathlib.Path = DOC, name: str = "access-table"):
    """(callers, {operation: {caller: cell}}), in the doc's order, of the
    table between `<!-- NAME: begin -->` and `<!-- NAME: end -->`."""
    lines = path.read_text().splitlines()
    begin_mark, end_mark = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
    try:
        begin, end = lines.index(begin_mark), lines.index(end_mark)
    except ValueError:
        raise TableError(f"{path}: no table between {begin_mark!r} and {end_mark!r}") from None
    rows = [(n + 1, line) for n, line in enumerate(lines[begin + 1:end], begin + 1)
            if line.strip()]
    if len(rows) < 3:
        raise TableError(f"{path}:{begin + 1}: the table has no rows")
    header = _cells(rows[0][1], rows[0][0])
    if header[0] != "operation":
        raise TableError(f"{path}:{rows[0][0]}: the first column is {header[0]!r}, not 'operation'")
    callers = header[1:]
    if len(set(callers)) != len(callers):
        raise TableError(f"{path}:{rows[0][0]}: a caller appears twice: {callers}")
    if not all(set(cell) <= set("-: ") for cell in _cells(rows[1][1], rows[1][0])):
        raise TableError(f"{path}:{rows[1][0]}: the header's separator line is missing")
    table = {}
    for lineno, line in rows[2:]:
        cells = _cells(line, lineno)
        if len(cells) != len(header):
            raise TableError(f"{path}:{lineno}: {len(cells)} cells, the header has {len(header)}")
        operation = cells[0]
        if operation in table:
            raise TableError(f"{path}:{lineno}: operation {operation!r} appears twice")
        table[operation] = {caller: _check_cell(value, f"{path}:{lineno} ({operation}, {caller})")
                            for caller, value in zip(callers, cells[1:])}
    return callers, table
