"""Bearer tokens and roles of the control API.

Tokens come from the environment only: ``AGENTOPS_TOKENS`` holds entries
``name:role:secret`` separated by commas or whitespace, for example::

    AGENTOPS_TOKENS="ci:viewer:3f9c...  alice:operator:a81e...  ops:admin:77d0..."

The name is what the audit log records for every change the token makes; the secret
never appears in a log, an error or a trace. Secrets are kept as SHA-256 digests and
compared in constant time against every configured token (no early exit).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from agentops.runtime.errors import ConfigError

__all__ = [
    "ROLES",
    "TOKENS_ENV",
    "Principal",
    "TokenSet",
    "is_loopback",
    "local_token_file",
    "make_local_token",
    "read_local_token",
    "role_allows",
]

TOKENS_ENV = "AGENTOPS_TOKENS"
ROLES = ("viewer", "operator", "admin")
"""Each role may do what the ones before it may."""
MIN_SECRET = 16
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def local_token_file(store_path: Path) -> Path:
    """Where ``agentops serve`` keeps the admin token it makes when none is configured."""
    return store_path.parent / "api-token"


def role_allows(role: str, needed: str) -> bool:
    """Whether ``role`` includes ``needed``."""
    return ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class Principal:
    """Who made a request: the token's name and role."""

    name: str
    role: str


class TokenSet:
    """The configured tokens (possibly none)."""

    def __init__(self, tokens: list[tuple[str, str, str]]) -> None:
        """Args: tokens: (name, role, secret) triples."""
        self._digests = [(Principal(n, r), hashlib.sha256(s.encode()).digest()) for n, r, s in tokens]

    def __len__(self) -> int:
        return len(self._digests)

    @classmethod
    def parse(cls, text: str, source: str = TOKENS_ENV) -> TokenSet:
        """Parse ``name:role:secret`` entries.

        Raises:
            ConfigError: naming the entry by position and name (never its secret).
        """
        out: list[tuple[str, str, str]] = []
        names: set[str] = set()
        for i, entry in enumerate(e for e in re.split(r"[,\s]+", text.strip()) if e):
            parts = entry.split(":", 2)
            if len(parts) != 3:
                raise ConfigError(f"{source}: entry {i + 1} is not name:role:secret")
            name, role, secret = parts
            if not _NAME.match(name):
                raise ConfigError(f"{source}: entry {i + 1}: name must be 1-64 of A-Z a-z 0-9 _ . @ -")
            if role not in ROLES:
                raise ConfigError(f"{source}: token {name!r}: role {role!r} is not one of {', '.join(ROLES)}")
            if len(secret) < MIN_SECRET:
                raise ConfigError(f"{source}: token {name!r}: the secret is shorter than {MIN_SECRET} characters")
            if name in names:
                raise ConfigError(f"{source}: token name {name!r} appears twice")
            names.add(name)
            out.append((name, role, secret))
        return cls(out)

    @classmethod
    def from_env(cls) -> TokenSet:
        """The tokens of ``$AGENTOPS_TOKENS`` (none if unset)."""
        return cls.parse(os.environ.get(TOKENS_ENV, ""))

    def authenticate(self, secret: str) -> Principal | None:
        """The principal whose secret this is, or None."""
        digest = hashlib.sha256(secret.encode()).digest()
        found: Principal | None = None
        for principal, expected in self._digests:
            if hmac.compare_digest(digest, expected):
                found = principal
        return found


def make_local_token(path: Path, url: str) -> str:
    """Write a fresh local admin token for the server at ``url`` (this user only, mode 600).

    The file holds the token and the URL it is for; a client uses it only for that URL.
    It is written to a new file (never through a symlink) and renamed into place.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(f"{token}\n{url}\n")
    os.replace(tmp, path)
    return token


def read_local_token(path: Path, url: str) -> str | None:
    """The local admin token if the file is ours, private, and for ``url``; else None."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    lines = path.read_text(encoding="utf-8").split()
    if len(lines) != 2 or lines[1].rstrip("/") != url.rstrip("/"):
        return None
    return lines[0]
