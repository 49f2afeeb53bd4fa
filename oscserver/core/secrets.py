"""Keeping the API key out of logs: redaction of any text that may quote it.

>>> redact("bad key AIzaSECRET in wss://h/ws?key=AIzaSECRET", "AIzaSECRET")
'bad key *** in wss://h/ws?key=***'
"""

from __future__ import annotations

import re

__all__ = ["redact"]

_KEY_PARAM = re.compile(r"(?i)([?&](?:key|api_key|apikey)=)[^&\s'\"]+")


def redact(text: str, *secrets: str | None) -> str:
    """Return ``text`` with every secret, and any ``key=`` URL parameter, replaced by ``***``.

    Callers must pass every string that may contain a key (close reasons, exception messages,
    URLs) through this before logging or replying.
    """
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _KEY_PARAM.sub(r"\1***", text)
