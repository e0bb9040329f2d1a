"""One error hierarchy: a transient error carries only a transient code and the other way round, every
code is one of `ErrorCode`, errors survive Celery's pickling, and vendor errors become ours at the
broker's boundary."""

from __future__ import annotations

import pickle
import re
from pathlib import Path

import pytest
from kombu.exceptions import OperationalError
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from sequoia_core import broker, liveness
from sequoia_core.errors import (TRANSIENT_CODES, BrokerUnavailable, ErrorCode, NotFound, PermanentError,
                                 SequoiaError, TransientError, error_for, is_transient)

SERVICES = Path(__file__).resolve().parents[2] / "services"


@pytest.mark.parametrize("code", list(ErrorCode))
def test_a_code_picks_its_class_and_no_class_takes_the_other_kind(code):
    error = error_for(code, "x")

    assert isinstance(error, TransientError) == (code in TRANSIENT_CODES) == is_transient(code)
    wrong = PermanentError if is_transient(code) else TransientError
    with pytest.raises(ValueError):
        wrong("x", code=code)


def test_a_transient_error_needs_a_transient_code():
    with pytest.raises(ValueError):
        TransientError("no code")
    assert BrokerUnavailable("away").code == ErrorCode.BROKER_UNAVAILABLE


def test_a_code_outside_the_enum_is_refused():
    with pytest.raises(ValueError):
        SequoiaError("x", code="made_up")


@pytest.mark.parametrize("error", [TransientError("s3 away", code=ErrorCode.STORAGE_UNAVAILABLE),
                                   BrokerUnavailable("away"), PermanentError("bad", code=ErrorCode.CORRUPT_FILE),
                                   NotFound("gone")])
def test_errors_survive_pickling_with_their_code(error):
    copy = pickle.loads(pickle.dumps(error))

    assert (type(copy), copy.code, copy.message) == (type(error), error.code, error.message)


@pytest.mark.parametrize("vendor", [RedisConnectionError("refused"), OperationalError("down"), TimeoutError()])
def test_broker_failures_become_broker_unavailable(vendor):
    with pytest.raises(BrokerUnavailable) as caught, broker.translated_errors():
        raise vendor
    assert caught.value.__cause__ is vendor


def test_no_code_is_a_bare_string_outside_the_enum():
    bare = re.compile(r"""code=["'][a-z_]+["']|(?:ApiError|Denial)\([^,]+, ["'][a-z_]+["']""")
    found = [f"{path.relative_to(SERVICES)}: {match}" for path in SERVICES.rglob("*.py")
             for match in bare.findall(path.read_text())]
    assert found == []


def test_a_broker_read_of_a_redis_that_does_not_answer_is_broker_unavailable():
    nobody = Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)  # nothing listens on port 1

    with pytest.raises(BrokerUnavailable):
        broker.queue_depths(nobody)
    with pytest.raises(BrokerUnavailable):
        broker.queue_depth(nobody, "thumbnails")
    with pytest.raises(BrokerUnavailable):
        liveness.read(nobody, ["worker@host"])
