"""Signed gallery links and session cookies, so no token ever travels in a URL or sits in a cookie.

A link (`/voyages/{voyage}?link=EXPIRY.SIG`) is read-only, expiring and names one voyage; opening it
sets a session cookie (`VOYAGE.ACCESS.EXPIRY.SIG`) and redirects to the bare URL. A write session
comes only from a write token posted in a form body. Every value is an HMAC-SHA256 under
`GALLERY_LINK_SECRET`; the retry form also carries a CSRF token derived from the session.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass

from sequoia_api.http.auth import Access
from sequoia_core.settings import Settings

log = logging.getLogger(__name__)

SESSION_COOKIE = "sequoia_session"
LINK_PARAM = "link"
SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class Session:
    """What a valid session cookie allows."""

    voyage: str
    access: Access
    expires_at: int


class Signer:
    """Makes and checks links, sessions and CSRF tokens with one server secret."""

    def __init__(self, secret: bytes, link_seconds: int) -> None:
        self._secret = secret
        self.link_seconds = link_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> Signer:
        """The configured secret, or a random one for this process (links then die with it)."""
        if settings.gallery_link_secret is None:
            log.warning("GALLERY_LINK_SECRET is not set: gallery links last only as long as this process")
            return cls(secrets.token_bytes(32), settings.gallery_link_seconds)
        return cls(settings.gallery_link_secret.get_secret_value().encode(), settings.gallery_link_seconds)

    def _sign(self, *parts: str) -> str:
        return hmac.new(self._secret, "|".join(parts).encode(), hashlib.sha256).hexdigest()

    def link(self, voyage: str, now: float | None = None) -> tuple[str, int]:
        """A read-only link value for `voyage` and when it expires."""
        expires_at = int(now or time.time()) + self.link_seconds
        return f"{expires_at}.{self._sign('link', voyage, str(expires_at))}", expires_at

    def check_link(self, voyage: str, value: str, now: float | None = None) -> int | None:
        """The link's expiry if it is genuine, for `voyage` and not expired; else None."""
        expiry, _, signature = value.partition(".")
        if not expiry.isdigit() or int(expiry) < (now or time.time()):
            return None
        return int(expiry) if hmac.compare_digest(signature, self._sign("link", voyage, expiry)) else None

    def session(self, voyage: str, access: Access, expires_at: int) -> str:
        """A session cookie value; it holds no token."""
        return f"{voyage}.{access.name.lower()}.{expires_at}.{self._sign('session', voyage, access.name, str(expires_at))}"

    def read_session(self, value: str | None, now: float | None = None) -> Session | None:
        """The session a cookie value proves, or None when it is forged, malformed or expired."""
        voyage, access_name, expiry, signature = ((value or "").split(".") + ["", "", "", ""])[:4]
        access = Access.__members__.get(access_name.upper())
        if access is None or not expiry.isdigit() or int(expiry) < (now or time.time()):
            return None
        if not hmac.compare_digest(signature, self._sign("session", voyage, access.name, expiry)):
            return None
        return Session(voyage, access, int(expiry))

    def csrf(self, session_value: str) -> str:
        """The CSRF token a form of this session must send back."""
        return self._sign("csrf", session_value)
