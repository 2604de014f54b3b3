"""One settings object, read from the environment (and, for the dashboard, Streamlit secrets).

Each setting is documented in `SETTINGS` and in the README; a test checks that the two agree.
SQL sources are set by the operator only (environment or secrets), never typed into a widget,
because a SQLAlchemy URL can reach any database the server can.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from data.errors import LogError

__all__ = ["AUTH_MODES", "SETTINGS", "Settings"]

AUTH_MODES = ("local", "oidc", "header")

# name -> (environment variable, default shown in docs, description)
SETTINGS: dict[str, tuple[str, str, str]] = {
    "home": (
        "PARCOURS_HOME",
        "~/.parcours",
        "Folder for stored logs (Parquet + DuckDB layouts) and the SQLite database.",
    ),
    "database_url": (
        "PARCOURS_DATABASE_URL",
        "sqlite:///$PARCOURS_HOME/parcours.db",
        "SQLAlchemy URL of the metadata database (SQLite by default, PostgreSQL e.g. `postgresql+psycopg://user@host/db`).",
    ),
    "engine": (
        "PARCOURS_ENGINE",
        "duckdb",
        "Engine that builds each imported log's layout: `duckdb`, or `spark` (batch, the same layout; see Two scales).",
    ),
    "spark_master": (
        "PARCOURS_SPARK_MASTER",
        "local[*]",
        "Spark master: `local[N]`, a standalone cluster `spark://host:7077` or Spark Connect `sc://host:15002`.",
    ),
    "spark_driver_memory": (
        "PARCOURS_SPARK_DRIVER_MEMORY",
        "2g",
        "Memory of the Spark driver in local mode, which holds the whole job (e.g. `8g` for 10M events).",
    ),
    "timezone": ("PARCOURS_TIMEZONE", "UTC", "Time zone assumed for timestamps that carry none."),
    "owner": (
        "PARCOURS_USER",
        "local",
        "The user the command lines act as (`--as` overrides it), and the one local user of the dashboard.",
    ),
    "auth": (
        "PARCOURS_AUTH",
        "local",
        "Who uses the dashboard: `local` (one admin, no sign-in), `oidc` (sign-in through `st.login`, `[auth]` in "
        "`.streamlit/secrets.toml`) or `header` (a user named by a trusted reverse proxy's header).",
    ),
    "admins": (
        "PARCOURS_ADMINS",
        "(none)",
        "Comma-separated users (as signed in: e-mail, else subject) who administer the Default workspace and may "
        "create workspaces, when `PARCOURS_AUTH` is `oidc` or `header`.",
    ),
    "trusted_header": (
        "PARCOURS_TRUSTED_HEADER",
        "X-Forwarded-Email",
        "With `PARCOURS_AUTH=header`: the request header that names the signed-in user.",
    ),
    "trusted_proxies": (
        "PARCOURS_TRUSTED_PROXIES",
        "127.0.0.1",
        "With `PARCOURS_AUTH=header`: comma-separated addresses of the proxies whose header is believed; a request "
        "from anywhere else is refused.",
    ),
    "max_upload_mb": ("PARCOURS_MAX_UPLOAD_MB", "500", "Largest file accepted, in MB (compressed size)."),
    "max_uncompressed_mb": (
        "PARCOURS_MAX_UNCOMPRESSED_MB",
        "4096",
        "Largest size a compressed file may expand to, in MB (stops decompression bombs).",
    ),
    "max_events": (
        "PARCOURS_MAX_EVENTS",
        "50000000",
        "Most events (rows) accepted in one log; counted while the file streams, before it is parsed.",
    ),
    "max_columns": ("PARCOURS_MAX_COLUMNS", "1000", "Most columns (XES: distinct attribute keys) accepted in one log."),
    "max_field_bytes": (
        "PARCOURS_MAX_FIELD_BYTES",
        "131072",
        "Largest value accepted in one cell, in bytes of UTF-8 text (Excel's 32,767 characters fit).",
    ),
    "whole_upload_rows": (
        "PARCOURS_WHOLE_UPLOAD_ROWS",
        "100000",
        "Most rows of an upload the Import page reads whole and checks before it is stored; a larger one (of text, "
        "numbers, booleans and times) is previewed from its first rows, then checked while a child process stores "
        "it, never held by the server.",
    ),
    "worker_memory_mb": (
        "PARCOURS_WORKER_MEMORY_MB",
        "8192",
        "Memory (resident, in MB) of the child process that reads and checks an upload or a CLI import; "
        "past it the child is stopped and the user told which limit.",
    ),
    "worker_cpu_seconds": (
        "PARCOURS_WORKER_CPU_SECONDS",
        "900",
        "CPU seconds that child process may use; it is also stopped after twice as many wall-clock seconds.",
    ),
    "duckdb_memory_limit": ("PARCOURS_DUCKDB_MEMORY_LIMIT", "4GB", "DuckDB memory limit; larger work spills to disk."),
    "import_memory_mb": (
        "PARCOURS_IMPORT_MEMORY_MB",
        "1024",
        "DuckDB memory limit of an import (the journey layout and its quality report), in MB; past it DuckDB spills "
        "to `PARCOURS_DUCKDB_TEMP_DIR`, so an import's peak stays near this plus Parcours' own 0.3 GB.",
    ),
    "duckdb_threads": ("PARCOURS_DUCKDB_THREADS", "number of cores", "DuckDB worker threads."),
    "duckdb_temp_dir": ("PARCOURS_DUCKDB_TEMP_DIR", "$PARCOURS_HOME/tmp", "Where DuckDB spills when out of memory."),
    "sql_sources": (
        "PARCOURS_SQL_SOURCES",
        "{}",
        'JSON object naming the SQL databases users may import from, e.g. `{"crm": "postgresql+psycopg://…"}`.',
    ),
    "max_sql_result_mb": (
        "PARCOURS_MAX_SQL_RESULT_MB",
        "512",
        "Most memory the rows read from a SQL source may take, in MB; the query is stopped as soon as it passes.",
    ),
    "sql_timeout_seconds": (
        "PARCOURS_SQL_TIMEOUT_SECONDS",
        "60",
        "Longest a SQL source's query may run, in seconds (PostgreSQL `statement_timeout`; SQLite and others: "
        "stopped by Parcours).",
    ),
    "report_company": ("PARCOURS_REPORT_COMPANY", "(none)", "Company name printed at the top of every report."),
    "report_logo": (
        "PARCOURS_REPORT_LOGO",
        "(none)",
        "Logo file of the reports (PNG, JPEG, GIF, WebP or SVG, at most 256 KB), inlined in each report; an SVG with "
        "scripts, event handlers or links out is refused.",
    ),
    "report_primary_color": (
        "PARCOURS_REPORT_PRIMARY_COLOR",
        "#1f4e79",
        "Main colour of the reports (headings, bars), as #RRGGBB.",
    ),
    "report_accent_color": (
        "PARCOURS_REPORT_ACCENT_COLOR",
        "#e07a1f",
        "Accent colour of the reports (rules, highlights), as #RRGGBB.",
    ),
}


# A colour goes into the report's style sheet: only #RRGGBB, so that no setting can end a CSS rule.
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_POSITIVE_INTEGERS = (
    "max_upload_mb",
    "max_uncompressed_mb",
    "max_events",
    "max_columns",
    "max_field_bytes",
    "whole_upload_rows",
    "worker_memory_mb",
    "worker_cpu_seconds",
    "import_memory_mb",
    "duckdb_threads",
    "max_sql_result_mb",
    "sql_timeout_seconds",
)


@dataclass(frozen=True)
class Settings:
    """Limits, paths and engine choices, in one immutable value."""

    home: Path = field(default_factory=lambda: Path("~/.parcours").expanduser())
    database_url: str = ""
    engine: str = "duckdb"
    spark_master: str = "local[*]"
    spark_driver_memory: str = "2g"
    timezone: str = "UTC"
    owner: str = "local"
    auth: str = "local"
    admins: tuple[str, ...] = ()
    trusted_header: str = "X-Forwarded-Email"
    trusted_proxies: tuple[str, ...] = ("127.0.0.1",)
    max_upload_mb: int = 500
    max_uncompressed_mb: int = 4096
    max_events: int = 50_000_000
    max_columns: int = 1000
    max_field_bytes: int = 131_072
    whole_upload_rows: int = 100_000
    worker_memory_mb: int = 8192
    worker_cpu_seconds: int = 900
    duckdb_memory_limit: str = "4GB"
    import_memory_mb: int = 1024
    duckdb_threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    duckdb_temp_dir: Path | None = None
    sql_sources: Mapping[str, str] = field(default_factory=dict)
    max_sql_result_mb: int = 512
    sql_timeout_seconds: int = 60
    report_company: str = ""
    report_logo: Path | None = None
    report_primary_color: str = "#1f4e79"
    report_accent_color: str = "#e07a1f"

    def __post_init__(self) -> None:
        object.__setattr__(self, "home", Path(self.home).expanduser())
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.home / 'parcours.db'}")
        if self.duckdb_temp_dir is None:
            object.__setattr__(self, "duckdb_temp_dir", self.home / "tmp")
        if self.engine not in ("duckdb", "spark"):
            raise LogError(f"PARCOURS_ENGINE must be 'duckdb' or 'spark', not {self.engine!r}.")
        if self.auth not in AUTH_MODES:
            raise LogError(f"PARCOURS_AUTH must be one of {', '.join(AUTH_MODES)}, not {self.auth!r}.")
        for name in ("admins", "trusted_proxies"):
            object.__setattr__(self, name, _names(getattr(self, name)))
        if self.report_logo is not None:
            object.__setattr__(self, "report_logo", Path(self.report_logo).expanduser())
        for name in ("report_primary_color", "report_accent_color"):
            if not _HEX_COLOUR.fullmatch(getattr(self, name)):
                raise LogError(f"{SETTINGS[name][0]} must be a colour such as #1f4e79, not {getattr(self, name)!r}.")

    @property
    def datasets_dir(self) -> Path:
        """Where each stored dataset gets a folder named by its content hash."""
        return self.home / "datasets"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, secrets: Mapping[str, object] | None = None) -> Settings:
        """Build settings from environment variables, then secrets (secrets win for SQL sources)."""
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for name, (variable, _default, _doc) in SETTINGS.items():
            if variable in env and env[variable] != "":
                values[name] = env[variable]
        sources = dict(_parse_sources(values.pop("sql_sources", "{}")))
        if secrets and "sql_sources" in secrets:
            sources.update({str(k): str(v) for k, v in dict(secrets["sql_sources"]).items()})
        for name in _POSITIVE_INTEGERS:
            if name in values:
                values[name] = _positive_int(SETTINGS[name][0], values[name])
        return cls(**values, sql_sources=sources)


def _names(value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Read a comma-separated setting (or a sequence) as its non-empty names."""
    items = value.split(",") if isinstance(value, str) else value
    return tuple(name.strip() for name in items if name.strip())


def _positive_int(variable: str, raw: object) -> int:
    try:
        number = int(str(raw))
    except ValueError:
        number = 0
    if number <= 0:
        raise LogError(f"{variable} must be a positive whole number, not {raw!r}.")
    return number


def _parse_sources(raw: object) -> dict[str, str]:
    try:
        sources = json.loads(str(raw))
    except json.JSONDecodeError as error:
        raise LogError(f"PARCOURS_SQL_SOURCES is not valid JSON ({error.msg}).") from None
    if not isinstance(sources, dict):
        raise LogError('PARCOURS_SQL_SOURCES must be a JSON object such as {"crm": "sqlite:///crm.db"}.')
    return {str(k): str(v) for k, v in sources.items()}
