"""Settings read from environment variables, with safe defaults for the embedded SQLite setup."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# MARKETPLACE_ROOT: where templates/, migrations/ and seed/ live; the checkout itself by default
# (src/marketplace/settings.py -> ../../), set by the container image, which installs the package.
PROJECT_ROOT = Path(os.environ.get("MARKETPLACE_ROOT") or Path(__file__).resolve().parents[2])


def _var_dir() -> Path:
    return Path(os.environ.get("MARKETPLACE_VAR_DIR", PROJECT_ROOT / "var"))


def _default_database_url() -> str:
    return f"sqlite:///{_var_dir() / 'marketplace.sqlite3'}"


def _secret_key() -> str:
    """MARKETPLACE_SECRET_KEY, else a random key generated once and kept under var/."""
    key = os.environ.get("MARKETPLACE_SECRET_KEY")
    if key:
        return key
    path = _var_dir() / "secret_key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Written with owner-only permissions: the key signs sessions.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    return key


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class DatabaseSettings:
    # DATABASE_URL: sqlite:///path/to/file.sqlite3 (default under var/) or postgresql://user@host:port/db
    url: str = field(
        default_factory=lambda: os.environ.get("DATABASE_URL") or _default_database_url()
    )
    # DATABASE_POOL_SIZE: PostgreSQL connection pool size per process
    pool_size: int = field(default_factory=lambda: int(os.environ.get("DATABASE_POOL_SIZE", "10")))

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith(("postgres://", "postgresql://"))


@dataclass(frozen=True)
class AppSettings:
    # MARKETPLACE_SECRET_KEY: signs sessions and tokens; generated and kept under var/ when unset
    secret_key: str = field(default_factory=_secret_key)
    # MARKETPLACE_BASE_URL: absolute links in e-mails and calendar feeds
    base_url: str = field(
        default_factory=lambda: os.environ.get(
            "MARKETPLACE_BASE_URL", "http://127.0.0.1:8000"
        ).rstrip("/")
    )
    # MARKETPLACE_SECURE_COOKIES: mark session cookies Secure (set to true behind TLS)
    secure_cookies: bool = field(default_factory=lambda: _bool("MARKETPLACE_SECURE_COOKIES", False))
    # MARKETPLACE_DEBUG: tracebacks in error pages; never in production
    debug: bool = field(default_factory=lambda: _bool("MARKETPLACE_DEBUG", False))
    # MARKETPLACE_LOG_FORMAT (`json` or `console`; unset: `console` under MARKETPLACE_DEBUG or
    # `marketplace demo`, else `json`) and MARKETPLACE_LOG_LEVEL (default INFO) are read by
    # core/logs.py, since logging is set up before any Settings exist (the server's parent).
    # MARKETPLACE_MAX_BODY_BYTES: largest request body accepted (uploads included)
    max_body_bytes: int = field(
        default_factory=lambda: int(
            os.environ.get("MARKETPLACE_MAX_BODY_BYTES", str(10 * 1024 * 1024))
        )
    )
    # MARKETPLACE_SESSION_DAYS: how long a login session and an API token stay valid
    session_days: int = field(
        default_factory=lambda: int(os.environ.get("MARKETPLACE_SESSION_DAYS", "14"))
    )
    # How long a process may reuse directory facet counts and the ranking prior (0: never).
    directory_cache_seconds: float = field(
        default_factory=lambda: float(os.environ.get("MARKETPLACE_DIRECTORY_CACHE_SECONDS", "30"))
    )


@dataclass(frozen=True)
class StripeSettings:
    # STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY, STRIPE_WEBHOOK_SECRET: online payment
    secret_key: str = field(default_factory=lambda: os.environ.get("STRIPE_SECRET_KEY", ""))
    publishable_key: str = field(
        default_factory=lambda: os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
    )
    webhook_secret: str = field(default_factory=lambda: os.environ.get("STRIPE_WEBHOOK_SECRET", ""))
    # STRIPE_API_BASE: another Stripe API address, for an emulator such as localstripe
    api_base: str = field(default_factory=lambda: os.environ.get("STRIPE_API_BASE", ""))

    @property
    def configured(self) -> bool:
        return bool(self.secret_key)


@dataclass(frozen=True)
class MailSettings:
    # SMTP_URL: smtp://host:port or smtps://user:pass@host:port; without it e-mails are only logged
    smtp_url: str = field(default_factory=lambda: os.environ.get("SMTP_URL", ""))
    # MARKETPLACE_MAIL_FROM: sender address of the platform's e-mails
    mail_from: str = field(
        default_factory=lambda: os.environ.get(
            "MARKETPLACE_MAIL_FROM", "no-reply@marketplace.local"
        )
    )


@dataclass(frozen=True)
class WorkerSettings:
    # MARKETPLACE_INPROCESS_WORKER: run the outbox worker inside `marketplace serve` (the embedded
    # default); set to 0 in production, where `marketplace worker` runs as its own process
    inprocess: bool = field(default_factory=lambda: _bool("MARKETPLACE_INPROCESS_WORKER", True))
    # MARKETPLACE_WORKER_POLL_SECONDS: how often an idle worker looks for due messages and sweeps
    poll_seconds: float = field(
        default_factory=lambda: float(os.environ.get("MARKETPLACE_WORKER_POLL_SECONDS", "5"))
    )
    # MARKETPLACE_WORKER_LEASE_SECONDS: how long a claimed message is reserved for one worker;
    # longer than any send may take, after it another worker may take the message over
    lease_seconds: float = field(
        default_factory=lambda: float(os.environ.get("MARKETPLACE_WORKER_LEASE_SECONDS", "300"))
    )
    # MARKETPLACE_WORKER_MAX_ATTEMPTS: tries before a message is marked failed
    max_attempts: int = field(
        default_factory=lambda: int(os.environ.get("MARKETPLACE_WORKER_MAX_ATTEMPTS", "8"))
    )
    # MARKETPLACE_WORKER_BACKOFF_SECONDS: wait after the first failure; doubles on each retry
    backoff_seconds: float = field(
        default_factory=lambda: float(os.environ.get("MARKETPLACE_WORKER_BACKOFF_SECONDS", "60"))
    )
    # MARKETPLACE_SMTP_TIMEOUT_SECONDS: one SMTP conversation may take this long (keep below the lease)
    smtp_timeout_seconds: float = field(
        default_factory=lambda: float(os.environ.get("MARKETPLACE_SMTP_TIMEOUT_SECONDS", "30"))
    )
    # MARKETPLACE_WORKER_HEARTBEAT: a file the worker touches on every cycle, send and sweep;
    # `marketplace worker-alive` checks its age (a liveness probe for a process with no HTTP port)
    heartbeat_path: str = field(
        default_factory=lambda: os.environ.get("MARKETPLACE_WORKER_HEARTBEAT", "")
    )
    # MARKETPLACE_WORKER_RENEW_SECONDS: after this long `marketplace worker` finishes its cycle
    # and starts itself afresh in the same process id (exec), which bounds its memory the way
    # MARKETPLACE_MAX_REQUESTS bounds the app's: it creeps up by about 5 MiB an hour through
    # allocator fragmentation (bench/results/heap_soak.md). 0, the default: never.
    renew_seconds: float = field(
        default_factory=lambda: float(os.environ.get("MARKETPLACE_WORKER_RENEW_SECONDS", "0"))
    )


def _trusted_proxies() -> tuple[str, ...]:
    """MARKETPLACE_TRUSTED_PROXIES as checked addresses and networks (a typo fails at start-up)."""
    raw = os.environ.get("MARKETPLACE_TRUSTED_PROXIES", "")
    items = tuple(item.strip() for item in raw.split(",") if item.strip())
    for item in items:
        ipaddress.ip_network(item, strict=False)
    return items


def _optional_int(name: str) -> int | None:
    value = os.environ.get(name)
    return int(value) if value is not None else None


@dataclass(frozen=True)
class ServerSettings:
    # MARKETPLACE_MAX_REQUESTS: an app process serves this many requests, then finishes the ones
    # in flight and is replaced by a fresh one (0, the default: never). It bounds each process's
    # memory whatever the cause: under the soak pymalloc's arenas fragment and a process grows
    # about 1 MiB a minute with no live objects accumulating (bench/results/heap_soak.md).
    max_requests: int = field(
        default_factory=lambda: int(os.environ.get("MARKETPLACE_MAX_REQUESTS", "0"))
    )
    # MARKETPLACE_MAX_REQUESTS_JITTER: up to this many more, drawn per process, so that processes
    # started together are not all replaced at once (unset: a tenth of the limit in force)
    max_requests_jitter: int | None = field(
        default_factory=lambda: _optional_int("MARKETPLACE_MAX_REQUESTS_JITTER")
    )

    # MARKETPLACE_TRUSTED_PROXIES: comma-separated addresses or CIDR networks of the reverse
    # proxies in front of the app. Only when the TCP peer is one of them does the server take the
    # client's address (sign-in throttling per address) from X-Forwarded-For, and the scheme from
    # X-Forwarded-Proto; unset, the default, trusts no one and the peer is the client.
    trusted_proxies: tuple[str, ...] = field(default_factory=_trusted_proxies)

    def jitter_for(self, max_requests: int) -> int:
        """The jitter for a limit (the environment's, or a tenth of the limit)."""
        return max_requests // 10 if self.max_requests_jitter is None else self.max_requests_jitter


@dataclass(frozen=True)
class Settings:
    db: DatabaseSettings = field(default_factory=DatabaseSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    app: AppSettings = field(default_factory=AppSettings)
    stripe: StripeSettings = field(default_factory=StripeSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)

    @classmethod
    def from_env(cls) -> Settings:
        return cls()


def settings_of(request: Any) -> Settings:
    """The settings the running application was created with (kept in app.state)."""
    settings: Settings = request.app.state.settings
    return settings
