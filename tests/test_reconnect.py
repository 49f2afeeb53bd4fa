"""Close codes and reconnect delays (the sans-I/O part; tests/test_lyria_ws.py has the wire)."""

from __future__ import annotations

import itertools
import random

from oscserver.core.reconnect import (
    QUOTA_BACKOFF,
    RETRY_BACKOFF,
    Backoff,
    backoff,
    describe_close,
)


def test_close_codes_map_to_messages_and_retry_decisions():
    key = describe_close(1007, "API key not valid")
    assert key.message == (
        "the service rejected the API key (close 1007: API key not valid); check GEMINI_API_KEY"
    )
    assert key.retry is False
    assert describe_close(1007, "API_KEY_INVALID").retry is False
    # Google's Live APIs close with 1007 for invalid requests too: the key is not to blame.
    invalid = describe_close(1007, "Request contains an invalid argument.")
    assert invalid.message == (
        "the service refused a request as invalid "
        "(close 1007: Request contains an invalid argument.); retrying"
    )
    assert invalid.retry
    assert "key" not in describe_close(1007, "").message and describe_close(1007, "").retry
    # No key went to it (a ws:// engine): do not send the user to GEMINI_API_KEY.
    keyless = describe_close(1007, "API key not valid", key_sent=False)
    assert "GEMINI_API_KEY" not in keyless.message and "none is sent" in keyless.message
    assert keyless.retry is False
    refused = describe_close(1008, "Request refused by policy.")
    assert refused.retry is False and "Request refused by policy." in refused.message
    quota = describe_close(1011, "Resource has been exhausted (e.g. check quota).")
    assert quota.message.startswith("the API quota is exhausted") and quota.retry
    assert quota.schedule == QUOTA_BACKOFF and quota.schedule.initial >= 60
    cap = describe_close(1011, "Session duration limit reached.")
    assert cap.retry and cap.schedule == RETRY_BACKOFF and "600 s cap" in cap.message
    assert describe_close(1013, "").retry and "busy" in describe_close(1013, "").message
    assert describe_close(None, "").message == "the connection dropped (close 1006); retrying"
    dropped = describe_close(1006, "[Errno 111] Connect call failed")
    assert (
        dropped.message
        == "the connection dropped (close 1006: [Errno 111] Connect call failed); retrying"
    )
    assert describe_close(1006, "").retry


def test_backoff_doubles_and_is_capped():
    delays = list(itertools.islice(backoff(Backoff(0.5, 2.0, 4.0)), 6))
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_spreads_each_delay_over_its_upper_half():
    rng = random.Random(1)
    exact = list(itertools.islice(backoff(RETRY_BACKOFF), 12))
    jittered = list(itertools.islice(backoff(RETRY_BACKOFF, rng.random), 12))
    assert all(d / 2 <= j <= d for d, j in zip(exact, jittered, strict=True))
    assert len({round(j / d, 6) for d, j in zip(exact, jittered, strict=True)}) > 6
    assert max(jittered) <= RETRY_BACKOFF.cap
