"""Input the database would refuse (a NUL, control characters) is the caller's 422, never a 500."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("params", [{"voyage": "a\x00b"}, {"cursor": "x\x1by"}, {"media_kind": "image\x00"}])
def test_control_characters_in_a_query_parameter_are_422(api, params):
    response = api.get("/api/async/async-tasks", params=params)

    assert response.status_code == 422 and response.json()["code"] == "invalid_request"


@pytest.mark.parametrize("field", ["voyage_slug", "error_code"])
def test_control_characters_in_a_retry_filter_are_422(api, field):
    response = api.post("/api/async/retry-failed-thumbnails", json={field: "a\x00b", "dry_run": True})

    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["body", field]
