"""The CLI installs without sequoia_core, so it keeps copies of the item states and media kinds: they
must be the lifecycle's and the media types' own, in the same order."""

from __future__ import annotations

from sequoia_client import cli, retries
from sequoia_core.errors import ErrorCode
from sequoia_core.lifecycle import Status
from sequoia_core.mediatypes import MediaKind


def test_the_cli_lists_every_state_in_lifecycle_order():
    assert cli.STATES == tuple(s.value for s in Status)


def test_the_cli_offers_every_media_kind():
    assert cli.KINDS == tuple(k.value for k in MediaKind)


def test_the_client_retries_on_the_servers_in_flight_code():
    assert retries.IN_FLIGHT == ErrorCode.IDEMPOTENCY_KEY_IN_FLIGHT
