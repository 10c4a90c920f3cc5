"""The one CSV reader of directory imports: BOM, line numbers, header resolution.

The header is resolved to our columns by :mod:`syncd.directory.columns`
(our own names, known export headers, ``--map``); a header it cannot
resolve is one error on line 1 and no rows; a row with more cells than the
header is an error for that line and the others go on; blank lines are
skipped. Rows are streamed: memory does not grow with the file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

from syncd.directory.columns import ColumnError, Kind, Resolution, resolve
from syncd.errors import ImportRowError

#: one data row: (line number, values by our column, our columns given)
Row = tuple[int, dict[str, str], set[str]]


def read_header(path: Path) -> list[str]:
    """The file's header row (empty for an empty file)."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return next(csv.reader(handle), [])


def resolve_file(path: Path, kind: Kind, maps: Sequence[tuple[str, str]] = ()) -> Resolution:
    """The resolution of ``path``'s header; raises :class:`ColumnError`."""
    return resolve(kind, read_header(path), maps)


def read_rows(path: Path, kind: Kind, errors: list[ImportRowError],
              maps: Sequence[tuple[str, str]] = ()) -> Iterator[Row]:
    """(line number, row keyed by our column names, columns given) for each data row."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        try:
            resolution = resolve(kind, header, maps)
        except ColumnError as exc:
            errors.append(ImportRowError(1, str(exc)))
            return
        width = len(header)
        for cells in reader:
            line = reader.line_num
            if len(cells) > width:
                errors.append(ImportRowError(line, "more cells than header columns"))
                continue
            if not any(c.strip() for c in cells):
                continue  # blank line
            row, present = resolution.row(cells)
            yield line, row, set(present)
