"""The settings object: seed defaults and the limits that keep delivery at-least-once."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sequoia_core.settings import Settings


def make(**env: str) -> Settings:
    return Settings(_env_file=None, **env)


def test_seed_defaults(monkeypatch):
    for name in ("ASYNC_THUMBNAILS", "WORKER_CONCURRENCY", "TASK_TIME_LIMIT_SECONDS"):
        monkeypatch.delenv(name, raising=False)
    settings = make()

    assert settings.async_thumbnails is True
    assert settings.worker_concurrency == 2
    assert settings.task_time_limit_seconds == 1800


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("ASYNC_THUMBNAILS", "false")
    monkeypatch.setenv("WORKER_CONCURRENCY", "4")

    settings = make()

    assert settings.async_thumbnails is False and settings.worker_concurrency == 4


def test_visibility_timeout_is_above_the_hard_limit_by_default():
    settings = make(task_time_limit_seconds=600)

    assert settings.visibility_timeout > settings.task_time_limit_seconds
    assert settings.soft_time_limit < settings.task_time_limit_seconds


def test_a_visibility_timeout_below_the_hard_limit_is_refused():
    with pytest.raises(ValidationError, match="VISIBILITY_TIMEOUT_SECONDS"):
        make(task_time_limit_seconds=600, visibility_timeout_seconds=300)


def test_the_visibility_timeout_leaves_a_margin_above_the_longest_retry_wait():
    settings = make()

    assert settings.visibility_timeout - 300 >= settings.task_time_limit_seconds + settings.task_retry_backoff_max_seconds
    with pytest.raises(ValidationError, match="TASK_RETRY_BACKOFF_MAX_SECONDS"):
        make(task_time_limit_seconds=600, task_retry_backoff_max_seconds=600, visibility_timeout_seconds=1100)


def test_a_worker_is_declared_lost_only_after_several_heartbeats():
    with pytest.raises(ValidationError, match="WORKER_LOST_AFTER_SECONDS"):
        make(worker_liveness_seconds=10, worker_lost_after_seconds=15)


def test_a_retry_publish_waits_less_than_recovery_takes_a_message_for_lost():
    assert make().task_retry_publish_patience_seconds < make().worker_lost_after_seconds
    with pytest.raises(ValidationError, match="TASK_RETRY_PUBLISH_PATIENCE_SECONDS"):
        make(task_retry_publish_patience_seconds=30, worker_lost_after_seconds=30)


def test_tokens_come_from_a_list_and_a_single_token(monkeypatch):
    monkeypatch.setenv("SEQUOIA_API_TOKENS", "one, two")
    monkeypatch.setenv("SEQUOIA_API_TOKEN", "three")

    assert make().api_tokens == ["one", "two", "three"]


def test_no_token_means_no_token(monkeypatch):
    monkeypatch.delenv("SEQUOIA_API_TOKENS", raising=False)
    monkeypatch.delenv("SEQUOIA_API_TOKEN", raising=False)

    assert make().api_tokens == []
