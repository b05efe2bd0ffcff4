"""BigQuery SQL → DuckDB SQL with sqlglot: the view SQL is written once, in BigQuery's dialect.

BigQuery-only DDL clauses (PARTITION BY, CLUSTER BY, OPTIONS) have no DuckDB meaning and are dropped silently;
`@name` query parameters become DuckDB's `$name`; backtick `project.dataset.table` becomes
"catalog"."schema"."table" (the DuckDB adapter uses its own catalog name as the project).
"""

from __future__ import annotations

from functools import lru_cache

from wattline.errors import PermanentError


@lru_cache(maxsize=512)
def to_duckdb(sql: str) -> str:
    """Transpile one or more BigQuery statements; raises PermanentError when sqlglot cannot parse them."""
    import sqlglot
    from sqlglot.errors import ErrorLevel, SqlglotError

    try:
        statements = sqlglot.transpile(sql, read="bigquery", write="duckdb", unsupported_level=ErrorLevel.IGNORE)
    except SqlglotError as exc:
        raise PermanentError(f"cannot translate BigQuery SQL to DuckDB: {exc}") from exc
    return ";\n".join(statements)
