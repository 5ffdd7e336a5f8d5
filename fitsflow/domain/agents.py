"""A browser's User-Agent in a few words a person recognises ("Firefox on Linux")."""

from __future__ import annotations

import re

# The first that matches names it: Edge and Opera also say Chrome, Chrome also says Safari.
_BROWSERS = (("Edge", r"\bEdg(e|A|iOS)?/"), ("Opera", r"\bOPR/"), ("Samsung Internet", r"SamsungBrowser/"),
             ("Firefox", r"\b(Firefox|FxiOS)/"), ("Chrome", r"\b(Chrome|CriOS|Chromium)/"),
             ("Safari", r"\bSafari/"))
_SYSTEMS = (("iPhone", r"iPhone"), ("iPad", r"iPad"), ("Android", r"Android"), ("Windows", r"Windows"),
            ("ChromeOS", r"CrOS"), ("macOS", r"Mac OS X|Macintosh"), ("Linux", r"Linux"))


def describe(agent: str) -> str:
    """"Browser on system", or as much of it as the User-Agent tells."""
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, agent or "")), "")
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, agent or "")), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "A browser"
