"""The terminal status line: fitted to the terminal, most important fields first, and drawn
with nothing an old Windows console would print as text."""

from __future__ import annotations

import io

import pytest

from oscserver.cli import StatusLine
from oscserver.feedback import Status

RECONNECTING = (
    "reconnecting in 7.3 s: the service ended the session (close 1011: Session duration "
    "limit reached.; e.g. the 600 s cap); retrying"
)


def status(link: str = "connected", playback: str = "playing", output: str = "running"):
    return Status(link, playback, 2.13, 1, 4, 0.5, 12345, 7, output)


def test_the_whole_line_when_it_fits():
    assert status().line() == (
        "connected | playing | buffer 2.1 s | underruns 1 | xruns 4 | peak -6.0 dBFS | "
        "osc 12345 msgs, 7 refused"
    )
    assert status().line(200) == status().line()


@pytest.mark.parametrize("width", [20, 40, 60, 79, 100, 119])
@pytest.mark.parametrize("link", ["connected", RECONNECTING])
def test_a_narrow_terminal_gets_the_most_important_fields_and_never_more(width, link):
    line = status(link).line(width)
    assert len(line) <= width
    assert "playing" in line  # playback always stays
    assert line.startswith(link[:5])  # the connection comes first, shortened at worst


def test_fields_go_least_important_first():
    assert status().line(70) == (
        "connected | playing | buffer 2.1 s | underruns 1 | peak -6.0 dBFS"
    )  # osc and xruns went first
    assert status().line(60) == "connected | playing | buffer 2.1 s | peak -6.0 dBFS"
    assert status().line(40) == "connected | playing | buffer 2.1 s"
    long = status(RECONNECTING).line(79)
    assert long.startswith("reconnecting in 7.3 s: the service ended") and long.endswith("playing")
    assert "..." in long


def test_an_output_problem_is_shown_before_the_rest():
    line = status(output="JACK server gone").line(79)
    assert line.startswith("audio: JACK server gone | connected | playing")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_terminal_line_is_redrawn_in_place_without_escapes_and_never_wraps():
    out = Terminal()
    line = StatusLine(out, width=lambda: 80)
    line.show(status(RECONNECTING))
    line.show(status())
    line.clear()
    written = out.getvalue()
    assert "\x1b" not in written  # no ANSI escape: old Windows consoles print them as text
    assert "\n" not in written
    drawn = written.split("\r")
    assert all(len(piece) <= 79 for piece in drawn)  # one column spare: no wrap, no scroll
    # The shorter second line covers the first one entirely; clear() blanks it.
    assert len(drawn[2]) == len(drawn[1])
    assert drawn[3].strip() == "" and drawn[4] == ""
