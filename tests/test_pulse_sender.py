"""The pulse's sender over real UDP on loopback: each message reaches the listeners of its
topic only, never before it is due, in order; with a lookahead, in a bundle timetagged with
the moment its sound is heard."""

from __future__ import annotations

import socket
import time

import pytest
from conftest import timeout

from oscserver.adapters.pulse_sender import PulseSender
from oscserver.core.osc_codec import decode_packet
from oscserver.core.pulse import Beat, beat_message, onset_message, report_messages


@pytest.fixture
def receivers():
    made = []

    def make() -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.settimeout(timeout(2.0))
        made.append(s)
        return s

    yield make
    for s in made:
        s.close()


def receive(s: socket.socket, count: int) -> list[tuple[float, bytes]]:
    """``count`` datagrams, each with the time it was read (after it came)."""
    got = []
    for _ in range(count):
        data = s.recvfrom(65536)[0]
        got.append((time.monotonic(), data))
    return got


def test_messages_reach_their_topics_listeners_when_due_and_in_order(receivers):
    beats, analysis = receivers(), receivers()
    sender = PulseSender()
    sender.listen("beat", beats.getsockname())
    sender.listen("analysis", analysis.getsockname())
    sender.start()
    try:
        now = time.monotonic()
        heard = [now + 0.3, now + 0.1, now + 0.2]
        sender.add([beat_message(Beat(t, 1, k + 1, 120.0)) for k, t in enumerate(heard)])
        sender.add([onset_message(now + 0.15, 0.5)])
        got = receive(beats, 3)
        onset = receive(analysis, 1)
    finally:
        sender.close()
    messages = [decode_packet(data)[0] for _, data in got]
    assert [m.args for m in messages] == [(1, 2, 120.0), (1, 3, 120.0), (1, 1, 120.0)]
    assert [m.timetag for m in messages] == [None] * 3  # no lookahead: plain messages
    # Never before its sound (the arrival is taken after the datagram is read).
    assert all(at >= t for (at, _), t in zip(got, sorted(heard), strict=True))
    assert decode_packet(onset[0][1])[0].address == "/lyria/onset"
    assert onset[0][0] >= now + 0.15
    assert sender.sent == 4 and sender.dropped == 0


def test_with_a_lookahead_bundles_come_early_timetagged_with_the_sound(receivers):
    listener = receivers()
    sender = PulseSender(lookahead=0.5)
    sender.listen("beat", listener.getsockname())
    sender.start()
    try:
        now, wall = time.monotonic(), time.time()
        sender.add([beat_message(Beat(now + 0.8, 2, 1, 126.0))])
        ((arrived, data),) = receive(listener, 1)
    finally:
        sender.close()
    (message,) = decode_packet(data)
    assert data.startswith(b"#bundle\x00") and message.args == (2, 1, 126.0)
    assert message.timetag == pytest.approx(wall + 0.8, abs=0.002)
    assert arrived >= now + 0.3  # sent when due: 0.5 s before the sound


def test_nobody_listening_gets_nothing_and_an_ignored_listener_stops(receivers):
    listener = receivers()
    listener.settimeout(0.3)
    sender = PulseSender()
    addr = listener.getsockname()
    sender.listen("beat", addr)
    assert sender.wanted("beat") and not sender.wanted("analysis")
    assert sender.ignore("beat", addr) and not sender.ignore("beat", addr)
    sender.start()
    try:
        sender.add([beat_message(Beat(time.monotonic(), 1, 1, 120.0))])
        with pytest.raises(TimeoutError):
            listener.recvfrom(65536)
    finally:
        sender.close()
    assert sender.sent == 0


def test_messages_whose_sound_has_passed_are_dropped_not_sent_late(receivers):
    listener = receivers()
    sender = PulseSender()
    sender.listen("beat", listener.getsockname())
    sender.start()
    try:
        now = time.monotonic()
        sender.add(
            [beat_message(Beat(now - 1.0, 1, 1, 120.0)), beat_message(Beat(now, 1, 2, 120.0))]
        )
        ((_, data),) = receive(listener, 1)
    finally:
        sender.close()
    assert decode_packet(data)[0].args == (1, 2, 120.0)
    assert sender.dropped == 1


def test_a_stream_gets_the_addresses_it_asked_for_bundled_with_a_lookahead():
    got: list[bytes] = []
    sender = PulseSender(lookahead=0.2)
    sender.stream("analysis", "/lyria/onset", "ws-1", got.append)
    assert sender.wanted("analysis") and not sender.wanted("beat")
    sender.start()
    try:
        now, wall = time.monotonic(), time.time()
        sender.add(
            [
                onset_message(now + 0.3, 0.5),
                *report_messages(now + 0.3, 0.1, 0.2, (0.0,) * 8),  # (not asked for)
            ]
        )
        deadline = time.monotonic() + timeout(2.0)
        while not got and time.monotonic() < deadline:
            time.sleep(0.01)
        sender.unstream("ws-1", "/lyria/onset")
        assert not sender.wanted("analysis")
        sender.add([onset_message(time.monotonic() + 0.25, 0.9)])
        time.sleep(0.2)
    finally:
        sender.close()
    (packet,) = got
    (message,) = decode_packet(packet)
    assert packet.startswith(b"#bundle\x00") and message.address == "/lyria/onset"
    assert message.args == (0.5,) and message.timetag == pytest.approx(wall + 0.3, abs=0.002)
