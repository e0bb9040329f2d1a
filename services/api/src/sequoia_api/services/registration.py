"""Which keys may be registered (originals a pipeline put in the bucket itself).

A key is accepted only under a configured prefix (`REGISTER_PREFIXES`, `{voyage}` standing for the
voyage), never under Sequoia's own `originals/` or `derivatives/`, and only in normal form (no
leading `/`, no empty, `.` or `..` segment), so no spelling reaches another voyage's objects.
"""

from __future__ import annotations

from sequoia_core.errors import ErrorCode, PermanentError

_OWN_PREFIXES = ("originals/", "derivatives/")


def _invalid(message: str) -> PermanentError:
    return PermanentError(message, code=ErrorCode.INVALID_KEY)


def check_key(key: str, voyage_slug: str, prefix_templates: list[str]) -> None:
    """Refuse (`invalid_key`) a key that is not normal or not under an allowed prefix of this voyage."""
    if any(segment in ("", ".", "..") for segment in key.split("/")):
        raise _invalid("a key has no leading '/', no empty, '.' or '..' segment")
    if key.startswith(_OWN_PREFIXES):
        raise _invalid("Sequoia's own originals and derivatives cannot be registered")
    prefixes = [template.format(voyage=voyage_slug) for template in prefix_templates]
    if not any(key.startswith(prefix) and len(key) > len(prefix) for prefix in prefixes):
        raise _invalid(f"the key must be under {' or '.join(prefixes) or 'a configured prefix (none is)'}")

