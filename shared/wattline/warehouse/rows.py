"""Row helpers both warehouse adapters share: key checks, de-duplication, JSON-safe values, result values."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Final

from wattline.errors import PermanentError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,299}$")


def identifier(name: str) -> str:
    """A table or column name, checked so it can be put into SQL text safely."""
    if not _IDENTIFIER.match(name):
        raise PermanentError(f"invalid table or column name {name!r}")
    return name


def dedupe(rows: Sequence[Mapping[str, Any]], key: Sequence[str]) -> list[Mapping[str, Any]]:
    """One row per key, the last one winning (MERGE needs at most one source row per target row)."""
    if not key:
        raise PermanentError("merge_rows needs a non-empty key")
    by_key: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for row in rows:
        try:
            by_key[tuple(_key_value(row[column]) for column in key)] = row
        except KeyError as exc:
            raise PermanentError(f"row without key column {exc.args[0]!r}: {dict(row)!r}") from exc
    return list(by_key.values())


def _key_value(value: Any) -> Any:
    """Equal instants compare equal whatever their form (aware datetime, `…Z` or `…+02:00` ISO text)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value
    if isinstance(value, str) and len(value) >= 16 and value[4:5] == "-":
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return parsed.astimezone(UTC) if parsed.tzinfo else value
    return value


def check_columns(table: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Every field of every row must be a column of the table (a typo must not vanish silently)."""
    known = set(columns)
    for row in rows:
        unknown = set(row) - known
        if unknown:
            raise PermanentError(f"table {table} has no column(s) {sorted(unknown)}; columns: {list(columns)}")


def json_value(value: Any) -> Any:
    """A value as NDJSON for a BigQuery load job: timestamps in UTC ISO 8601, dates ISO."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise PermanentError(f"naive datetime {value!r}: the warehouse stores UTC instants only")
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


_PLAIN: Final = frozenset({int, float, str, bool, type(None)})


def result_value(value: Any) -> Any:
    """Query results in plain Python: Decimal → float, nested structs → dicts, arrays → lists, UTC datetimes."""
    if value.__class__ in _PLAIN:  # nearly every cell
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC)
    if isinstance(value, Mapping):
        return {str(k): result_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [result_value(v) for v in value]
    return value


def filled_column(name: str, values: Any) -> Any:
    """A fetched column as a plain array: masked (NULL) floats become NaN; NULLs elsewhere are refused."""
    import numpy as np

    if isinstance(values, np.ma.MaskedArray):
        if values.dtype.kind == "f":
            return values.filled(np.nan)
        if np.ma.getmaskarray(values).any():
            raise PermanentError(f"column {name} holds NULL: the query must give it a value")
        values = values.data
    array = np.asarray(values)
    return array.astype(np.str_) if array.dtype.kind == "O" else array  # strings come as Python objects


_ARRAY_TYPES: Final = {
    "FLOAT": "float64",
    "FLOAT64": "float64",
    "INTEGER": "int64",
    "INT64": "int64",
    "BOOLEAN": "bool",
    "BOOL": "bool",
    "STRING": "str",
}


def row_column(name: str, field_type: str, values: Sequence[Any]) -> Any:
    """One column of result rows as an array of its type (BigQuery's field type names; NULL floats → NaN)."""
    import numpy as np

    dtype = _ARRAY_TYPES.get(field_type.upper())
    if dtype is None:
        raise PermanentError(f"column {name} has type {field_type}, which query_columns does not return")
    if dtype != "float64" and any(value is None for value in values):
        raise PermanentError(f"column {name} holds NULL: the query must give it a value")
    return np.array(values, dtype=dtype)
