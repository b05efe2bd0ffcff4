"""BigQuery SQL → DuckDB SQL with sqlglot: the view SQL is written once, in BigQuery's dialect.

BigQuery-only DDL clauses (PARTITION BY, CLUSTER BY, OPTIONS) have no DuckDB meaning and are dropped silently;
`@name` query parameters become DuckDB's `$name`; backtick `project.dataset.table` becomes
"catalog"."schema"."table" (the DuckDB adapter uses its own catalog name as the project).

Translations are kept in a file per sqlglot version under the user's cache folder (`WATTLINE_CACHE_DIR`, else
`$XDG_CACHE_HOME/wattline`, else `~/.cache/wattline`), keyed by the SQL's SHA-256: importing sqlglot and
translating a warehouse's ~20 statements costs a command ~0.3 s of CPU every time. The cache is only ever a
shortcut: unreadable, unwritable or missing, the SQL is translated again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path

from wattline.errors import PermanentError

_CACHE_FORMAT = 1  # bump when the translation's options change


@lru_cache(maxsize=512)
def to_duckdb(sql: str) -> str:
    """Transpile one or more BigQuery statements; raises PermanentError when sqlglot cannot parse them."""
    key = hashlib.sha256(sql.encode("utf-8")).hexdigest()
    known = _translations()
    found = known.get(key)
    if found is None:
        found = known[key] = _transpile(sql)
        _save(known)
    return found


def _transpile(sql: str) -> str:
    import sqlglot
    from sqlglot.errors import ErrorLevel, SqlglotError

    try:
        statements = sqlglot.transpile(sql, read="bigquery", write="duckdb", unsupported_level=ErrorLevel.IGNORE)
    except SqlglotError as exc:
        raise PermanentError(f"cannot translate BigQuery SQL to DuckDB: {exc}") from exc
    return ";\n".join(statements)


@cache
def cache_file() -> Path:
    """Where this sqlglot version's translations are kept (decided once per process, as they are read once)."""
    folder = os.environ.get("WATTLINE_CACHE_DIR") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "wattline"
    )
    return Path(folder) / f"duckdb-sql-{_CACHE_FORMAT}-sqlglot-{metadata.version('sqlglot')}.json"


@cache
def _translations() -> dict[str, str]:
    """The cached translations (read once per process)."""
    try:
        found = json.loads(cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {key: value for key, value in found.items() if isinstance(value, str)}


def _save(translations: dict[str, str]) -> None:
    """Write the translations whole, atomically (another process may be reading or writing the same file)."""
    path = cache_file()
    temporary: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as out:
            temporary = Path(out.name)
            json.dump(translations, out, sort_keys=True)
        os.replace(temporary, path)
    except OSError:  # a read-only home, a full disk: translate again next time
        if temporary is not None:
            with contextlib.suppress(OSError):
                temporary.unlink()
