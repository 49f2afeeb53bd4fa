"""What a user reads cites only what a user has: no design notes outside the repository, no
issue numbers of our tracker, and every linked or named document exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
READ = sorted(
    [REPO / "README.md", *REPO.glob("docs/*.md"), *REPO.glob("patches/*/README.md")]
    + [p for p in REPO.glob("oscserver/**/*.py")]
    + [p for p in REPO.glob("bench/*.py")]
)


@pytest.mark.parametrize("path", READ, ids=lambda p: str(p.relative_to(REPO)))
def test_it_cites_only_what_a_user_has(path):
    text = path.read_text()
    assert "shared/design" not in text and "lyria-protocol.md" not in text
    assert not re.search(r"\bissue #\d", text), "issue numbers mean nothing to a user"
    for name in re.findall(r"\bdocs/([a-z_-]+\.md)", text):
        assert (REPO / "docs" / name).exists(), name
    if path.suffix == ".md":
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", text):
            assert (path.parent / target).exists(), target
