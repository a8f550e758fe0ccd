"""Reading an official-list file staff import (``.csv`` or ``.xlsx``) into numbered rows.

The first row is the header: ``list, credit_code, since, until, source, note`` (English, as
:data:`workflow.listings.COLUMNS`) or the zh-CN headings of the same columns. Each data row
comes back with its line number in the file, so :meth:`workflow.listings.Listings.import_rows`
names a bad row by line and column; blank rows are skipped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from workflow.errors import InvalidInput
from workflow.listings import COLUMNS

ZH_HEADERS = {
    "名单": "list",
    "统一社会信用代码": "credit_code",
    "起始日期": "since",
    "截止日期": "until",
    "来源": "source",
    "备注": "note",
}
REQUIRED = ("list", "credit_code", "since", "source")


def read_list_file(name: str, content: bytes) -> list[tuple[int, dict[str, Any]]]:
    """``(line, {column: value})`` for each data row; :class:`InvalidInput` (field ``FILE``) for a bad file."""
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    if suffix == "xlsx":
        table = _xlsx(name, content)
    elif suffix == "csv":
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(f"{name} is not UTF-8 text", field="FILE") from None
        table = _csv(name, text)
    else:
        raise InvalidInput(f"{name}: give an .xlsx or .csv file", field="FILE")
    if not table:
        raise InvalidInput(f"{name} is empty", field="FILE")
    _storable(name, table)
    header = [_heading(cell) for cell in table[0]]
    twice = sorted({c for c in header if c in COLUMNS and header.count(c) > 1})
    if twice:  # which of the two would count is a guess: refuse, as a JSON body with a key twice is
        raise InvalidInput(f"{name}: the header row names {', '.join(twice)} more than once", field="FILE")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInput(
            f"{name}: the header row needs the columns {', '.join(COLUMNS)}; missing {', '.join(missing)}",
            field="FILE",
        )
    return [
        (line, {column: _cell(values, i) for i, column in enumerate(header) if column in COLUMNS})
        for line, values in enumerate(table[1:], start=2)
        if any(v not in (None, "") for v in values)
    ]


def _heading(cell: object) -> str:
    text = str(cell or "").strip()
    return ZH_HEADERS.get(text, text.lower())


def _cell(values: Sequence[object], column: int) -> object:
    value = values[column] if column < len(values) else None
    return value.strip() if isinstance(value, str) else value


def _xlsx(name: str, content: bytes) -> list[list[object]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a file that is not a workbook
        raise InvalidInput(f"{name} is not a readable .xlsx workbook: {exc}", field="FILE") from None
    try:
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


def _csv(name: str, text: str) -> list[list[object]]:
    """The rows of a CSV text; a file the reader refuses (a cell over its 128 KiB limit, a NUL) names the line."""
    reader = csv.reader(io.StringIO(text))
    rows: list[list[object]] = []
    try:
        for row in reader:
            rows.append(list(row))
    except csv.Error as exc:
        raise InvalidInput(f"{name}: line {reader.line_num} cannot be read as CSV: {exc}", field="FILE") from None
    return rows


def _storable(name: str, table: list[list[object]]) -> None:
    """No cell with a NUL or a lone surrogate: PostgreSQL refuses such text (a 500 on import), SQLite kept it."""
    for line, values in enumerate(table, start=1):
        if any(isinstance(value, str) and not _text_ok(value) for value in values):
            raise InvalidInput(f"{name}: line {line} holds a NUL or an unpaired surrogate character", field="FILE")


def _text_ok(value: str) -> bool:
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
