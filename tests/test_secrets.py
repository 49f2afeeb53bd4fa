"""The API key never leaves the x-goog-api-key header: oscserver runs as a process with a fake
key against an engine that requires it (and that echoes it in a close reason, as a careless
service might), at debug log level; everything it prints and every OSC reply is searched."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

from conftest import free_udp_port, timeout, until
from oscbytes import message, parse_reply

from oscserver.adapters.lyria_ws import engine_url
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions, EngineServer

KEY = "AIzaSyFAKE-0123456789abcdefghijklmnopq"


class Replies(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.got: list[tuple[str, list[object]]] = []

    def datagram_received(self, data: bytes, addr) -> None:
        self.got.append(parse_reply(data))


async def test_the_key_appears_in_no_output_log_or_reply(tmp_path):
    engine = EngineServer(
        EngineOptions(
            chunk_seconds=0.5,
            lead_seconds=0.2,
            api_key=KEY,  # only this key is accepted: a session proves the key was sent
            faults=(parse_fault(f"close:1.5:1011:invalid request from key={KEY}"),),
            faulty_sessions=1,
        )
    )
    host, port = await engine.start()
    osc_port = free_udp_port()
    env = {k: v for k, v in os.environ.items() if k not in ("GEMINI_API_KEY", "GOOGLE_API_KEY")}
    env["GEMINI_API_KEY"] = KEY
    log_path = tmp_path / "output.log"
    with open(log_path, "wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "oscserver",
            "--engine",
            "google",
            "--google-url",
            engine_url(host, port),
            "--output",
            "null",
            "--osc-port",
            str(osc_port),
            "--log-level",
            "debug",
            "--record",
            str(tmp_path / "take.wav"),
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
    loop = asyncio.get_running_loop()
    udp, replies = await loop.create_datagram_endpoint(Replies, remote_addr=("127.0.0.1", osc_port))
    try:
        await until(lambda: b"press Ctrl-C to stop" in log_path.read_bytes(), 30, "no start")
        udp.sendto(message("/lyria/play", ""))
        udp.sendto(message("/lyria/bpm", "i", (300).to_bytes(4, "big")))  # a refused value
        # The first session is closed with the key in its reason; oscserver reconnects.
        await until(lambda: engine.sessions >= 2, 20, "no reconnect")
        await until(lambda: engine.received["PlaybackControl"] >= 2, 10, "no replay")
        await asyncio.sleep(1.0)  # audio of the second session
    finally:
        udp.close()
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            await asyncio.wait_for(proc.wait(), timeout(15))
        await engine.close()
    output = log_path.read_text(errors="replace")
    replied = repr(replies.got)
    assert proc.returncode == 0, output
    assert "close 1011" in output and "key=***" in output  # the reason was logged, redacted
    assert any(address == "/lyria/error" for address, _ in replies.got)
    assert any("key=***" in str(args) for _, args in replies.got), replied
    for text in (output, replied, str(tmp_path / "take.wav")):
        assert KEY not in text
        assert KEY[8:] not in text  # not even a part of it
    assert KEY.encode() not in (tmp_path / "take.wav").read_bytes()
