"""Token grants: who may read or write which voyage."""

from __future__ import annotations

from sequoia_api.http.auth import Access, check, grants_from, item_write_scope
from sequoia_core.settings import Settings


def grants(**env: str):
    return grants_from(Settings(_env_file=None, **env))


def test_write_tokens_write_and_read_every_voyage():
    book = grants(sequoia_api_token="w1", sequoia_api_tokens="w2")

    assert check(book, "w1", Access.WRITE, "any") is None
    assert check(book, "w2", Access.READ, None) is None


def test_a_read_token_cannot_write():
    denied = check(grants(sequoia_api_token="w", sequoia_read_tokens="r"), "r", Access.WRITE, "v")

    assert denied is not None and denied.status == 403 and denied.code == "forbidden"


def test_a_voyage_limited_token_covers_only_its_voyages():
    book = grants(sequoia_api_tokens="w@alpha+beta", sequoia_read_tokens="r@alpha")

    assert check(book, "w", Access.WRITE, "beta") is None
    assert check(book, "r", Access.READ, "alpha") is None
    assert check(book, "w", Access.WRITE, "gamma").status == 403
    assert check(book, "r", Access.READ, None).status == 403  # a call that names no voyage


def test_unknown_missing_and_unconfigured_tokens_are_401():
    book = grants(sequoia_api_token="w")

    assert check(book, "nope", Access.READ, None).status == 401
    assert check(book, None, Access.READ, None).headers == {"WWW-Authenticate": "Bearer"}
    assert check(grants(), "w", Access.READ, None).status == 401



def test_an_item_delete_learns_which_voyages_a_writer_may_touch():
    book = grants(sequoia_api_token="all", sequoia_api_tokens="w@alpha+beta", sequoia_read_tokens="r")

    assert item_write_scope(book, "all") == (None, None)
    assert item_write_scope(book, "w") == (None, frozenset({"alpha", "beta"}))
    assert item_write_scope(book, "r")[0].status == 403
    assert item_write_scope(book, "nope")[0].status == 401
