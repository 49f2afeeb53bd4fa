"""The web console in a real headless browser (Debian's Chromium through its ChromeDriver, with
selenium; nothing downloaded): against oscserver playing the embedded engine, whose session
drops every few seconds (a reconnect), the page loads with no console errors and every control
of the address table; a weight slider dragged with the mouse sets the weight on the server
(asked over OSC); a weight sent over UDP moves the slider within 200 ms; the level meter moves
while the music plays, and the beat light flashes; a filtered prompt and a reconnect appear in
the timeline. Screenshots of it go to OSCSERVER_CONSOLE_SHOTS (``make console-shots``: the ones
in docs/console/), else to a temporary folder.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import timeout
from oscbytes import f32, message, pad, parse_reply

from oscserver.adapters.audio.null_sink import NullSink
from oscserver.app import App, Options
from oscserver.core.addresses import TABLE, Effect
from oscserver.dsp import beats
from oscserver.engine.faults import parse_fault
from oscserver.engine.server import EngineOptions, EngineServer

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)),
    reason="Debian's chromium and chromium-driver (make system-deps-dev)",
)
#: The engine drops the connection (no close frame) this long after each session starts.
DROP_AFTER = 8


class Running:
    """oscserver and its engine on an event loop in a thread of their own (the browser is
    driven from the test's thread)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.call(self._start())

    def call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout(30))

    async def _start(self) -> None:
        self.engine = EngineServer(EngineOptions(faults=(parse_fault(f"reset:{DROP_AFTER}"),)))
        host, port = await self.engine.start()
        self.app = App(
            Options(osc_port=0, oscquery_port=0, engine=f"ws://{host}:{port}", rotate_after=0),
            NullSink(preroll_seconds=0.3),
        )
        await self.app.start()

    async def _stop(self) -> None:
        await self.app.stop()
        self.app.sink.close()
        await self.engine.close()

    def stop(self) -> None:
        self.call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Osc:
    """A patch's UDP socket: sends to oscserver, reads its replies."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(timeout(5))

    def send(self, datagram: bytes) -> None:
        self.sock.sendto(datagram, self.target)

    def ask(self, address: str) -> list[object]:
        """The reply to a getter (``/lyria/get/...``), skipping anything else."""
        self.send(message(address, ""))
        wanted = address.replace("/get", "", 1)
        while True:
            got, args = parse_reply(self.sock.recv(65536))
            if got == wanted:
                return args


@pytest.fixture(scope="module")
def server() -> Iterator[Running]:
    for name in ("GEMINI_API_KEY", "GOOGLE_API_KEY"):
        os.environ.pop(name, None)
    running = Running()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def osc(server) -> Iterator[Osc]:
    patch = Osc(server.app.osc_address)
    patch.send(message("/lyria/play", ""))
    yield patch
    patch.sock.close()


@pytest.fixture(scope="module")
def page(server, osc):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="oscserver-chromium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1400,1100",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    os.environ["SE_OFFLINE"] = "true"  # (selenium's manager downloads nothing)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(DRIVER))
    host, port = server.app.oscquery.address
    driver.get(f"http://{host}:{port}/console/")
    wait(driver, lambda d: "console connected" in d.find_element(By.ID, "socket").text)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def wait(driver, condition, seconds: float = 10.0):
    return WebDriverWait(driver, timeout(seconds), poll_frequency=0.05).until(condition)


def shots() -> Path:
    folder = Path(os.environ.get("OSCSERVER_CONSOLE_SHOTS") or tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def control(driver, path: str):
    return driver.find_element(By.CSS_SELECTOR, f'[data-path="{path}"]')


def test_the_page_loads_every_control_with_no_console_errors(page):
    paths = {
        e.get_attribute("data-path") for e in page.find_elements(By.CSS_SELECTOR, "[data-path]")
    }
    expected = {e.path for e in TABLE if e.effect in (Effect.CONFIG, Effect.LOCAL, Effect.PLAYBACK)}
    expected |= {f"/lyria/prompt/{n}/{what}" for n in range(1, 9) for what in ("text", "weight")}
    expected |= {f"/lyria/scene/{n}/recall" for n in range(1, 17)}
    assert paths == expected
    assert control(page, "/lyria/prompt/1/text").get_attribute("value") == "minimal techno"
    assert page.find_element(By.CSS_SELECTOR, '[data-auto="/lyria/density"]').is_selected()
    errors = [e for e in page.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_dragging_a_weight_slider_sets_the_weight_on_the_server(page, osc):
    weight = control(page, "/lyria/prompt/1/weight")
    ActionChains(page).click_and_hold(weight).move_by_offset(-30, 0).release().perform()
    shown = float(weight.get_attribute("value"))
    assert shown < 0.8  # (moved from 1.0)
    deadline = time.monotonic() + timeout(5)
    while True:
        (on_server,) = osc.ask("/lyria/get/prompt/1/weight")
        if on_server == pytest.approx(shown, abs=1e-6) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert on_server == pytest.approx(shown, abs=1e-6)


def test_a_weight_sent_over_udp_moves_the_slider_within_200_ms(page, osc):
    page.execute_script(
        """
        const [path, target] = arguments;
        const input = document.querySelector(`[data-path="${path}"]`);
        window.seenAt = null;
        const look = setInterval(() => {
          if (Math.abs(Number(input.value) - target) < 1e-6) {
            window.seenAt = Date.now();
            clearInterval(look);
          }
        }, 2);
        """,
        "/lyria/prompt/2/weight",
        -0.75,
    )
    sent = time.time()
    osc.send(message("/lyria/prompt/2/weight", "f", f32(-0.75)))
    seen = wait(page, lambda d: d.execute_script("return window.seenAt"), 5)
    latency = seen / 1000 - sent
    print(f"slider moved {latency * 1e3:.0f} ms after the UDP message")
    assert latency < 0.2


def test_a_scene_is_stored_and_recalled_from_the_page(page, osc, server):
    page.find_element(By.ID, "scene-store").click()
    control(page, "/lyria/scene/2/recall").click()  # (store ticked: keeps scene 2)
    wait(page, lambda d: 2 in server.app.scenes)
    kept = server.app.scenes[2]
    osc.send(message("/lyria/prompt/1/text", "s", pad(b"dub techno")))
    wait(page, lambda d: control(d, "/lyria/prompt/1/text").get_attribute("value") == "dub techno")
    seconds = page.find_element(By.ID, "scene-seconds")
    seconds.clear()
    seconds.send_keys("0")
    control(page, "/lyria/scene/2/recall").click()  # (back at once)
    wait(
        page,
        lambda d: control(d, "/lyria/prompt/1/text").get_attribute("value") == "minimal techno",
    )
    assert kept.prompts[0].text == "minimal techno"


def test_the_level_meter_moves_while_playing_and_the_beat_flashes(page):
    levels = []
    for _ in range(40):
        levels.append(float(page.find_element(By.ID, "level").get_attribute("value")))
        time.sleep(0.05)
    assert max(levels) > 0.05 and len(set(levels)) > 5, levels
    if beats.available():  # (the beat from the output's tracker: a few seconds of music)
        wait(page, lambda d: int(d.find_element(By.ID, "beat").get_attribute("data-beats")) > 2, 20)


def test_a_filtered_prompt_and_a_reconnect_appear_in_the_timeline(page, osc):
    osc.send(message("/lyria/prompt/2/text", "s", pad(b"gore")))
    filtered = wait(
        page, lambda d: d.find_elements(By.CSS_SELECTOR, '#timeline li[data-kind="filtered"]')
    )
    assert "gore" in filtered[0].text and "filtered" in filtered[0].text
    reconnect = wait(
        page,
        lambda d: d.find_elements(By.CSS_SELECTOR, '#timeline li[data-kind="reconnect"]'),
        DROP_AFTER + 10,
    )
    assert "reconnecting" in reconnect[0].text
    first = page.find_elements(By.CSS_SELECTOR, "#timeline li")[0]
    assert first.get_attribute("data-kind") in ("reconnect", "connect")  # (newest first)
    folder = shots()
    page.find_element(By.ID, "story").screenshot(str(folder / "timeline.png"))
    page.save_screenshot(str(folder / "console.png"))
    for name, width in (("timeline.png", 300), ("console.png", 1000)):
        png = (folder / name).read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">I", png[16:20])[0] >= width
