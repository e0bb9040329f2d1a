"""LOG_LEVEL: validated, case-insensitive, and applied to the API's root logger."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from sequoia_core.logs import configure_api_logging
from sequoia_core.settings import Settings


def test_log_level_is_optional_case_insensitive_and_checked(monkeypatch):
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    assert Settings(_env_file=None).log_level is None
    assert Settings(_env_file=None, log_level="WARNING").log_level == "warning"
    with pytest.raises(ValidationError):
        Settings(_env_file=None, log_level="loud")


def test_the_api_logs_at_its_level_through_a_handler_of_its_own(monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    configure_api_logging("debug")
    assert root.level == logging.DEBUG and len(root.handlers) == 1
    configure_api_logging(None)  # unset: info, and no second handler
    assert root.level == logging.INFO and len(root.handlers) == 1
