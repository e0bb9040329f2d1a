"""Bearer tokens and what each may do: read or write, on every voyage or on named ones only.

Tokens come from `SEQUOIA_API_TOKEN`, `SEQUOIA_API_TOKENS` (write) and `SEQUOIA_READ_TOKENS` (read);
an entry `TOKEN@voyage-a+voyage-b` is limited to those voyages. A voyage-limited token is honoured
only by calls that name their voyage in the path, since nothing else can be checked before the call
runs, and by deletes of one item, which check the item's voyage once they read it (`item_write_scope`).
A presented token is compared with every configured one in constant time.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from enum import IntEnum

from sequoia_core.errors import ErrorCode
from sequoia_core.settings import Settings


class Access(IntEnum):
    """What a call needs; a write grant also reads."""

    READ = 1
    WRITE = 2


@dataclass(frozen=True)
class Grant:
    """One configured token and what it allows."""

    token: bytes
    access: Access
    voyages: frozenset[str] | None = None  # None: every voyage

    def allows(self, access: Access, voyage: str | None) -> bool:
        """Whether this grant covers `access` on `voyage` (None: a call that names no voyage)."""
        return self.access >= access and (self.voyages is None or voyage in self.voyages)


@dataclass(frozen=True)
class Denial:
    """Why a request is refused, as the HTTP answer it gets."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)


def _grant(entry: str, access: Access) -> Grant:
    token, _, voyages = entry.partition("@")
    limited = frozenset(v for v in voyages.split("+") if v) if voyages else None
    return Grant(token.encode(), access, limited)


def grants_from(settings: Settings) -> tuple[Grant, ...]:
    """Every configured token with its access and voyages."""
    writers = [_grant(entry, Access.WRITE) for entry in settings.api_tokens]
    readers = [_grant(s.get_secret_value(), Access.READ) for s in settings.sequoia_read_tokens]
    return tuple(g for g in writers + readers if g.token)


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header."""
    scheme, _, token = (authorization or "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def find_grant(grants: tuple[Grant, ...], presented: str | None) -> Grant | None:
    """The grant of `presented`, comparing against every token so timing tells nothing."""
    if not presented:
        return None
    candidate, found = presented.encode(), None
    for grant in grants:
        if hmac.compare_digest(candidate, grant.token):
            found = grant
    return found


_UNAUTHENTICATED = Denial(401, ErrorCode.UNAUTHORIZED, "a valid bearer token is required",
                          {"WWW-Authenticate": "Bearer"})
_NO_TOKENS = Denial(401, ErrorCode.UNAUTHORIZED, "no API tokens are configured (SEQUOIA_API_TOKEN)")


def check(grants: tuple[Grant, ...], presented: str | None, access: Access, voyage: str | None) -> Denial | None:
    """None when `presented` may do `access` on `voyage`; else the refusal."""
    if not grants:
        return _NO_TOKENS
    grant = find_grant(grants, presented)
    if grant is None:
        return _UNAUTHENTICATED
    if not grant.allows(access, voyage):
        where = f"voyage {voyage!r}" if voyage else "calls that name no voyage"
        return Denial(403, ErrorCode.FORBIDDEN, f"this token may not {access.name.lower()} {where}")
    return None


def item_write_scope(grants: tuple[Grant, ...], presented: str | None) -> tuple[Denial | None, frozenset[str] | None]:
    """A write on one item, whose voyage the call learns only once it reads the item: the refusal (no
    write token), or the voyages `presented` may write (None: every one)."""
    denied = check(grants, presented, Access.WRITE, None)
    grant = find_grant(grants, presented) if denied is not None else None
    if grant is not None and grant.access >= Access.WRITE and grant.voyages is not None:
        return None, grant.voyages
    return denied, None
