"""The warehouse objects as SQL files shipped inside the package (`wattline/sql/`), and their templating.

Layout: `sql/schema/*.sql` (dataset, external table, tables) run first, then any other folder, then
`sql/views/*.sql`; inside a folder files run in name order (the number prefixes order view dependencies).
`sql/queries/` holds queries the CLI runs; they are not objects. One statement per file.

A file may start with a directive comment: `-- wattline: backends=bigquery` (run only on that backend; the
default is every backend) and `dialect=duckdb` (already DuckDB SQL: not transpiled). Everything else is written
once in BigQuery's dialect; the DuckDB adapter transpiles it with sqlglot.

Placeholders `{{name}}` are filled when the SQL runs, because views cannot take query parameters:
`project`, `dataset`, `location`, `bucket`, `timezone` (the site's IANA zone; local days and tariff hours) and
`tariff` (the site tariff that `daily_energy` and `monthly_energy` price with). Values are validated so a
placeholder can never close a quote or an identifier. An unknown placeholder is an error, never left in place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wattline import defaults
from wattline.errors import PermanentError

Backend = Literal["bigquery", "duckdb"]
BACKENDS: frozenset[str] = frozenset({"bigquery", "duckdb"})

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_DIRECTIVE = re.compile(r"^--\s*wattline:(?P<body>.*)$", re.MULTILINE)
_SAFE = {
    "project": re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$"),
    "dataset": re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$"),
    "location": re.compile(r"^[A-Za-z0-9-]{1,64}$"),
    "bucket": re.compile(r"^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$"),
    "tariff": re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"),
}


@dataclass(frozen=True)
class SqlObject:
    """One object definition: its path under `sql/`, template text and where it runs."""

    path: str
    template: str
    backends: frozenset[str]
    dialect: Backend

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1].removesuffix(".sql")


@dataclass(frozen=True)
class SchemaContext:
    """The values the SQL templates need. Build it from settings; every value is validated here."""

    project: str
    dataset: str = "wattline"
    timezone: str = defaults.TIMEZONE
    tariff: str = "ua-2zone"
    location: str = "EU"
    bucket: str | None = None

    def __post_init__(self) -> None:
        for name in ("project", "dataset", "location", "tariff"):
            _check(name, getattr(self, name))
        if self.bucket is not None:
            _check("bucket", self.bucket)
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise PermanentError(f"unknown time zone {self.timezone!r}: use an IANA name such as Europe/Kyiv") from exc

    def values(self) -> dict[str, str]:
        values = {
            "project": self.project,
            "dataset": self.dataset,
            "timezone": self.timezone,
            "tariff": self.tariff,
            "location": self.location,
        }
        if self.bucket is not None:
            values["bucket"] = self.bucket
        return values

    def table(self, name: str) -> str:
        """The BigQuery-dialect reference of one object: `project.dataset.name` in backticks."""
        _check("dataset", name)
        return f"`{self.project}.{self.dataset}.{name}`"


def _check(name: str, value: str) -> None:
    pattern = _SAFE[name]
    if not pattern.match(value):
        raise PermanentError(f"invalid {name} {value!r} for the warehouse (allowed: {pattern.pattern})")


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill `{{name}}` placeholders; a placeholder without a value raises PermanentError naming it."""

    def fill(match: re.Match[str]) -> str:
        key = match[1]
        if key not in values:
            raise PermanentError(
                f"SQL placeholder {{{{{key}}}}} has no value (known: {', '.join(sorted(values))}); "
                "for `bucket` set WATTLINE_BUCKET"
            )
        return values[key]

    return _PLACEHOLDER.sub(fill, template)


def placeholders(template: str) -> set[str]:
    return {match[1] for match in _PLACEHOLDER.finditer(template)}


def _parse_directives(text: str) -> tuple[frozenset[str], Backend]:
    backends: frozenset[str] = BACKENDS
    dialect: Backend = "bigquery"
    for match in _DIRECTIVE.finditer(text):
        for item in match["body"].split():
            key, _, value = item.partition("=")
            if key == "backends":
                backends = frozenset(value.split(","))
            elif key == "dialect" and value in BACKENDS:
                dialect = "duckdb" if value == "duckdb" else "bigquery"
    return backends, dialect


def _rank(path: str) -> tuple[int, str]:
    folder = path.split("/", 1)[0] if "/" in path else ""
    return ({"schema": 0, "views": 2}.get(folder, 1), path)


@cache
def _all_objects() -> tuple[SqlObject, ...]:
    root = resources.files("wattline").joinpath("sql")
    found: list[SqlObject] = []
    stack = [(root, "")]
    while stack:
        node, prefix = stack.pop()
        for child in node.iterdir():
            rel = f"{prefix}{child.name}"
            if child.is_dir():
                if rel != "queries":
                    stack.append((child, rel + "/"))
            elif child.name.endswith(".sql"):
                text = child.read_text(encoding="utf-8")
                backends, dialect = _parse_directives(text)
                found.append(SqlObject(rel, text, backends, dialect))
    return tuple(sorted(found, key=lambda obj: _rank(obj.path)))


def schema_objects(backend: Backend) -> list[SqlObject]:
    """Every object definition that runs on `backend`, in the order they must be applied."""
    return [obj for obj in _all_objects() if backend in obj.backends]


def query_text(name: str) -> str:
    """A named query template from `sql/queries/<name>.sql`."""
    path = resources.files("wattline").joinpath("sql", "queries", f"{name}.sql")
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PermanentError(f"no query named {name!r} in wattline/sql/queries") from exc


def strip_statement(sql: str) -> str:
    """The statement without leading comment lines and the trailing semicolon (one statement per file)."""
    return sql.strip().rstrip(";").strip()
