"""Security headers on every answer: no MIME sniffing, no referrer, never framed.

Pages with their own Content-Security-Policy (the gallery: nonces for its one style and script)
keep it; every other answer gets a policy that forbids framing, `<base>` and plugins.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_CSP = "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
_ALWAYS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def page_csp(nonce: str, image_origins: set[str]) -> str:
    """The policy of a server-rendered page: its own nonced style and script, images from itself and S3,
    and `data:` images (the ThumbHash placeholders its script decodes)."""
    images = " ".join(["'self'", "data:", *sorted(image_origins)])
    return (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; img-src {images}; "
            f"connect-src 'self'; form-action 'self'; {DEFAULT_CSP}")


class SecurityHeaders:
    """Adds the headers to each response start, leaving a page's own CSP in place."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)
