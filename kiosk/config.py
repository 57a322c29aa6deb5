"""Settings from the environment, with the defaults a fresh checkout runs on.

Every setting has a default that works on a laptop or a kiosk with no
configuration at all; a bad value stops the start with a message that says
which variable is wrong, instead of failing later in the middle of a request.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
TIMEZONE = ZoneInfo("Asia/Almaty")

DEFAULTS = {
    "KIOSK_HOST": "127.0.0.1",
    "KIOSK_PORT": "8000",
    "KIOSK_THREADS": "8",
    "KIOSK_INSTANCE": str(ROOT / "instance"),
    "KIOSK_DATABASE": "",  # empty: <instance>/kiosk.sqlite3
    "KIOSK_OPENS": "2026-11-01T00:00",
    "KIOSK_CLOSES": "2027-06-30T23:59:59",
    "KIOSK_DRAFT_HOURS": "24",
    "KIOSK_TRUSTED_PROXY": "",  # address of an HTTPS reverse proxy whose X-Forwarded-Proto counts
    "KIOSK_NODE_ID": "",  # empty: made once and kept in <instance>/node_id
    "KIOSK_REGISTRY_URL": "http://127.0.0.1:8100",
    "KIOSK_REGISTRY_TOKEN": "",
    "KIOSK_REGISTRY_PUBLIC_KEY": "",  # X25519: what applications are encrypted to
    "KIOSK_REGISTRY_SIGNING_KEY": "",  # Ed25519: what the registry's receipts are signed with
    "KIOSK_REGISTRY_CA": "",  # PEM file of an authority to trust for the registry's HTTPS too
    "KIOSK_FORWARDER": "on",
    "KIOSK_BACKOFF_BASE": "30",
    "KIOSK_BACKOFF_CAP": "1800",
    "KIOSK_LEASE_SECONDS": "120",
    "KIOSK_SEND_TIMEOUT": "30",
    "KIOSK_KEEP_DAYS": "30",
    "KIOSK_MODE": "off",  # on: a public touch-screen kiosk in a social service centre
    "KIOSK_ID": "",
    "KIOSK_CENTRE": "",
    "KIOSK_REGION": "",  # ISO 3166-2:KZ code preselected on the region question
    "KIOSK_IDLE_SECONDS": "120",
    "KIOSK_GRACE_SECONDS": "60",
    "KIOSK_PUBLIC_URL": "",  # where applicants check their status from home (QR code)
    "KIOSK_HEALTH_MIN_FREE_MB": "200",  # /healthz fails below this much free disk
    "KIOSK_HEALTH_MAX_WAIT_HOURS": "24",  # /healthz fails when an application waits longer
    "KIOSK_LIMIT_DRAFTS": "20 per minute; 200 per hour",  # new applications per address
    "KIOSK_LIMIT_LOGIN": "30 per minute; 300 per hour",  # sign-ins per address (centre behind NAT)
    "KIOSK_LIMIT_STATUS": "20 per minute; 200 per hour",  # status look-ups per address
    "KIOSK_LIMIT_RESUME": "10 per 15 minutes",  # failed return codes per address
    "KIOSK_SAVED_DAYS": "30",  # how long a saved application is kept (at most until closing)
    "KIOSK_SMTP_HOST": "",  # empty: no "E-mail me the code"
    "KIOSK_SMTP_PORT": "25",
    "KIOSK_MAIL_FROM": "",  # the sender of that message, e.g. noreply@example.kz
    # on: the "Supporting documents" page on the web and in assisted mode (never on a
    # public kiosk); off: no such page anywhere
    "KIOSK_DOCUMENTS": "on",
    "KIOSK_METRICS_TOKEN": "",  # empty: GET /metrics from this host only (docs/metrics.md)
}

# http(s)://host[:port], nothing else: the start of every address printed on a receipt.
PUBLIC_URL = re.compile(
    r"https?://([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?"
)


class ConfigError(ValueError):
    """A setting in the environment has a value the app cannot use."""


def _int(name: str, value: str, minimum: int = 1) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {number}")
    return number


def _seconds(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {value!r}") from None
    if number <= 0:
        raise ConfigError(f"{name} must be more than 0 seconds")
    return number


def _region(name: str, value: str) -> str:
    """An ISO 3166-2:KZ code from regions.csv, or empty."""
    if not value:
        return ""
    from .competition import regions

    if value not in regions():
        raise ConfigError(f"{name} must be a region code such as KZ-75, not {value!r}")
    return value


def _public_url(env: dict[str, str]) -> str:
    """KIOSK_PUBLIC_URL as `http(s)://host[:port]`, required behind a proxy.

    Receipts print this address as the way to check a status from home. Behind a
    proxy the request's Host header is whatever the client sent, so a web node
    must be told its address; a kiosk or a laptop may leave it empty.
    """
    name, value = "KIOSK_PUBLIC_URL", env["KIOSK_PUBLIC_URL"].rstrip("/")
    if not value:
        if env["KIOSK_TRUSTED_PROXY"]:
            raise ConfigError(
                f"{name} must be set behind a proxy (KIOSK_TRUSTED_PROXY), "
                "for example https://apply.example.kz"
            )
        return ""
    if not PUBLIC_URL.fullmatch(value):
        raise ConfigError(f"{name} must be like https://apply.example.kz, not {value!r}")
    return value


def _switch(name: str, value: str) -> bool:
    if value.lower() in ("on", "1", "yes", "true"):
        return True
    if value.lower() in ("off", "0", "no", "false"):
        return False
    raise ConfigError(f"{name} must be on or off, not {value!r}")


def _datetime(name: str, value: str) -> datetime:
    """Parse an ISO date-time; one without an offset is Almaty time."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        message = f"{name} must be an ISO date-time like 2027-06-30T23:59, not {value!r}"
        raise ConfigError(message) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=TIMEZONE)
    return moment


def secret_key(instance: Path) -> str:
    """Return SECRET_KEY from the environment, else the one kept in the instance folder.

    The key is made once and kept so that sessions (and with them the link to a
    draft) survive a restart of the server.
    """
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(mode=0o700, parents=True, exist_ok=True)  # the node's files: owner only
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as file:
            file.write(secrets.token_hex(32))
    return path.read_text().strip()


def from_environment(environ: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from environment variables."""
    env = {**DEFAULTS, **{k: v for k, v in (environ or os.environ).items() if k in DEFAULTS}}
    instance = Path(env["KIOSK_INSTANCE"])
    opens = _datetime("KIOSK_OPENS", env["KIOSK_OPENS"])
    closes = _datetime("KIOSK_CLOSES", env["KIOSK_CLOSES"])
    if closes <= opens:
        raise ConfigError("KIOSK_CLOSES must be later than KIOSK_OPENS")
    return {
        "HOST": env["KIOSK_HOST"],
        "PORT": _int("KIOSK_PORT", env["KIOSK_PORT"]),
        "THREADS": _int("KIOSK_THREADS", env["KIOSK_THREADS"]),
        "INSTANCE": instance,
        "DATABASE": env["KIOSK_DATABASE"] or str(instance / "kiosk.sqlite3"),
        "OPENS": opens,
        "CLOSES": closes,
        "DRAFT_HOURS": _int("KIOSK_DRAFT_HOURS", env["KIOSK_DRAFT_HOURS"]),
        "TRUSTED_PROXY": env["KIOSK_TRUSTED_PROXY"],
        "NODE_ID": env["KIOSK_NODE_ID"],
        "REGISTRY_URL": env["KIOSK_REGISTRY_URL"].rstrip("/"),
        "REGISTRY_TOKEN": env["KIOSK_REGISTRY_TOKEN"],
        "REGISTRY_PUBLIC_KEY": env["KIOSK_REGISTRY_PUBLIC_KEY"],
        "REGISTRY_SIGNING_KEY": env["KIOSK_REGISTRY_SIGNING_KEY"],
        "REGISTRY_CA": env["KIOSK_REGISTRY_CA"],
        "FORWARDER": _switch("KIOSK_FORWARDER", env["KIOSK_FORWARDER"]),
        "BACKOFF_BASE": _seconds("KIOSK_BACKOFF_BASE", env["KIOSK_BACKOFF_BASE"]),
        "BACKOFF_CAP": _seconds("KIOSK_BACKOFF_CAP", env["KIOSK_BACKOFF_CAP"]),
        "LEASE_SECONDS": _seconds("KIOSK_LEASE_SECONDS", env["KIOSK_LEASE_SECONDS"]),
        "SEND_TIMEOUT": _seconds("KIOSK_SEND_TIMEOUT", env["KIOSK_SEND_TIMEOUT"]),
        "KEEP_DAYS": _int("KIOSK_KEEP_DAYS", env["KIOSK_KEEP_DAYS"]),
        "KIOSK_MODE": _switch("KIOSK_MODE", env["KIOSK_MODE"]),
        "KIOSK_ID": env["KIOSK_ID"],
        "KIOSK_CENTRE": env["KIOSK_CENTRE"],
        "KIOSK_REGION": _region("KIOSK_REGION", env["KIOSK_REGION"]),
        "IDLE_SECONDS": _int("KIOSK_IDLE_SECONDS", env["KIOSK_IDLE_SECONDS"], minimum=10),
        "GRACE_SECONDS": _int("KIOSK_GRACE_SECONDS", env["KIOSK_GRACE_SECONDS"], minimum=10),
        "PUBLIC_URL": _public_url(env),
        "HEALTH_MIN_FREE_MB": _int("KIOSK_HEALTH_MIN_FREE_MB", env["KIOSK_HEALTH_MIN_FREE_MB"], 0),
        "HEALTH_MAX_WAIT_HOURS": _int(
            "KIOSK_HEALTH_MAX_WAIT_HOURS", env["KIOSK_HEALTH_MAX_WAIT_HOURS"]
        ),
        "LIMIT_DRAFTS": env["KIOSK_LIMIT_DRAFTS"],
        "LIMIT_LOGIN": env["KIOSK_LIMIT_LOGIN"],
        "LIMIT_STATUS": env["KIOSK_LIMIT_STATUS"],
        "LIMIT_RESUME": env["KIOSK_LIMIT_RESUME"],
        "SAVED_DAYS": _int("KIOSK_SAVED_DAYS", env["KIOSK_SAVED_DAYS"]),
        "SMTP_HOST": env["KIOSK_SMTP_HOST"],
        "SMTP_PORT": _int("KIOSK_SMTP_PORT", env["KIOSK_SMTP_PORT"]),
        "MAIL_FROM": env["KIOSK_MAIL_FROM"],
        "DOCUMENTS": _switch("KIOSK_DOCUMENTS", env["KIOSK_DOCUMENTS"]),
        "METRICS_TOKEN": env["KIOSK_METRICS_TOKEN"],
    }
