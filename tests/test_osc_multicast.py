"""One sender, several oscservers: ``--osc-multicast`` (docs/network.md).

The servers and the sender run in a private network namespace (tests/multicast_peers.py):
multicast routed to its loopback, so no packet leaves the machine.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import in_private_network, timeout

from oscserver.adapters.osc_udp import OscUdpEndpoint
from oscserver.cli import parse_multicast


def test_one_sender_plays_every_server_in_the_group_and_each_replies_to_it():
    done = in_private_network(
        [sys.executable, str(Path(__file__).with_name("multicast_peers.py"))], seconds=120
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    a, b, c = (seen["ports"][name] for name in "abc")
    logs = seen["logs"]

    def replies(key: str) -> dict[int, list[object]]:
        return {port: [address, *args] for port, address, args in seen[key]}

    # Both servers took the group's /lyria/bpm 124 and answered the sender from their OSC port.
    assert replies("bpm") == {a: ["/lyria/bpm", 124], b: ["/lyria/bpm", 124]}, logs
    assert len(seen["bpm"]) == 2  # once each: the group's datagram was not taken twice
    # A mistake sent to the group is explained by each, to the sender.
    errors = replies("errors")
    assert sorted(errors) == [a, b]
    assert all(e[0] == "/lyria/error" and "bpm must be int" in e[1] for e in errors.values())
    # A unicast message still reaches one server alone.
    assert replies("after_unicast") == {a: ["/lyria/bpm", 90], b: ["/lyria/bpm", 124]}
    # The server on every address took its group's message on its OSC port's socket.
    assert seen["c"] == [[c, "/lyria/bpm", [100]]]
    assert "also OSC sent to multicast group udp://239.255.0.9:9100 (on 127.0.0.1)" in logs["a"]
    assert "udp://239.255.0.9:9200 (on the network's interface)" in logs["c"]
    for log in logs.values():
        assert "Traceback" not in log


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("10.0.0.7", "'10.0.0.7' is not an IPv4 multicast group (224.0.0.0 to 239.255.255.255"),
        ("ff02::1", "'ff02::1' is an IPv6 group; oscserver joins IPv4 groups"),
        ("239.1.2.3:http", "'http' is not a UDP port (1 to 65535)"),
        ("239.1.2.3:70000", "'70000' is not a UDP port"),
    ],
)
def test_a_group_that_is_not_one_is_named(text, said):
    with pytest.raises(RuntimeError, match="--osc-multicast: ") as caught:
        parse_multicast(text)
    assert said in str(caught.value)


def test_a_group_and_its_port_are_read():
    assert parse_multicast("239.255.0.9") == ("239.255.0.9", None)
    assert parse_multicast(" 239.255.0.9:9100") == ("239.255.0.9", 9100)


def test_the_command_line_refuses_a_bad_group_before_anything_starts():
    result = subprocess.run(
        [sys.executable, "-m", "oscserver", "--output", "null", "--osc-multicast", "10.1.1.1"],
        capture_output=True,
        text=True,
        timeout=timeout(60),
    )
    assert result.returncode == 2
    assert "--osc-multicast: '10.1.1.1' is not an IPv4 multicast group" in result.stderr
    assert "Traceback" not in result.stderr


async def test_a_group_cannot_be_joined_on_an_ipv6_host_and_says_so():
    endpoint = OscUdpEndpoint(lambda batch: None)
    try:
        await endpoint.start("::1", 0)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    try:
        with pytest.raises(OSError, match=re.escape("must be IPv4 (0.0.0.0 for the network's")):
            await endpoint.join("239.255.0.9", 9100)
    finally:
        endpoint.close()
