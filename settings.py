"""Sherwood's configuration: the environment variables of the contract, read in one place."""

import secrets
import socket
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ROOT = Path(__file__).resolve().parent
DATA_DIR = ROOT / "data"


class ConfigError(Exception):
    """Configuration that cannot work; the message is one sentence for the operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", env_ignore_empty=True)

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    database_url: str = f"sqlite:///{DATA_DIR / 'sherwood.db'}"
    redis_url: str | None = None
    market_feed: Literal["simulator", "none"] = "simulator"
    market_hours: Literal["always", "nyse"] = "always"
    market_feed_rate: int = Field(200, ge=1, le=100_000)  # quote updates per second across all symbols
    market_seed: int | None = None  # fixes the simulated market's random walk (tests, demos)
    starting_cash: Decimal = Field(Decimal("100000"), ge=0, le=Decimal("1000000000000"), decimal_places=2)
    order_rate_limit: int = Field(600, ge=0)
    api_rate_limit: int = Field(1200, ge=0)  # /api calls per user (per address when anonymous) per minute; 0: off
    # Browser origins besides the app's own that may open /ws and NiceGUI's socket (comma-separated).
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = ()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Seconds since the feed last confirmed the quotes (a tick or heartbeat) after which they are flagged stale
    # and a market order is refused with NO_QUOTE.
    quote_max_age: float = Field(5.0, gt=0, le=3600)
    storage_secret: str | None = None
    instance_name: str | None = None  # how /api/health names this process; host:port when unset
    # Proxies whose X-Forwarded-For/-Proto are believed (addresses or CIDR networks, comma-separated, or *).
    forwarded_allow_ips: str = "127.0.0.1,::1"
    access_log: bool = True  # a log line per HTTP request

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL") from None
        if url.get_backend_name() == "postgresql":
            # psycopg 3 is the one PostgreSQL driver we ship; accept the bare scheme too.
            return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        if url.get_backend_name() == "sqlite":
            return value
        raise ValueError("must be a postgresql:// or sqlite:// URL")

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else value
        origins = []
        for item in (i.strip().rstrip("/").lower() for i in items):
            parts = urlsplit(item)
            if not item:
                continue
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query:
                raise ValueError(f"{item!r} is not an origin like https://example.com")
            origins.append(item)
        return tuple(origins)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: str) -> str:
        return value.upper() if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _supported_redis(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def redis_namespace(self) -> str:
        """Key prefix shared by every instance of one site: instances agree because they share the database."""
        url = make_url(self.database_url)
        name = Path(url.database or "memory").stem if self.is_sqlite else url.database
        return f"sherwood:{name}:"

    def instance(self) -> str:
        return self.instance_name or f"{socket.gethostname()}:{self.port}"

    def browser_storage_secret(self) -> str:
        """The configured secret, or one generated once and kept under ./data/ so sessions survive restarts."""
        if self.storage_secret:
            return self.storage_secret
        path = DATA_DIR / "storage_secret"
        if not path.exists():
            DATA_DIR.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()


def load_settings(**overrides) -> Settings:
    """Read the environment (plus explicit overrides, for tests); bad values raise ConfigError."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'_'.join(str(p) for p in err['loc']).upper()} {err['msg'].removeprefix('Value error, ')}"
            for err in exc.errors()
        )
        raise ConfigError(f"Invalid configuration: {problems}.") from None
