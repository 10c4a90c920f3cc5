"""The one CSV reader of directory imports: BOM, line numbers, header check.

Headers are matched case-insensitively and trimmed; a missing required
column is one error on line 1 and no rows; a row with more cells than the
header is an error for that line and the others go on; blank lines are
skipped.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from syncd.errors import ImportRowError


def read_rows(path: Path, required: tuple[str, ...],
              errors: list[ImportRowError]) -> Iterator[tuple[int, dict[str, str], set[str]]]:
    """(line number, row with lower-cased keys, columns present) for each data row."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip().lower() for h in (reader.fieldnames or []) if h is not None]
        missing = [c for c in required if c not in header]
        if missing:
            errors.append(ImportRowError(1, f"missing column(s) {', '.join(missing)}; "
                                            f"found {', '.join(header) or 'none'}"))
            return
        present = set(header)
        for raw in reader:
            line = reader.line_num
            if None in raw:
                errors.append(ImportRowError(line, "more cells than header columns"))
                continue
            row = {(k or "").strip().lower(): (v or "").strip() for k, v in raw.items()}
            if not any(row.values()):
                continue  # blank line
            yield line, row, present
