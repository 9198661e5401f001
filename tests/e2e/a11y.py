"""``assert_accessible(page)``: axe-core (bundled by axe-playwright-python, no CDN) finds no violation, and at a
phone's width (≤ 400 px) the page does not scroll sideways. On failure a full-page screenshot and the HTML are
saved under a temporary directory named in the message."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

MOBILE_WIDTH = 390
_AXE: Any = None


def _axe() -> Any:
    global _AXE
    if _AXE is None:
        from axe_playwright_python.sync_playwright import Axe

        _AXE = Axe()
    return _AXE


def _save(page: Any, label: str) -> Path:
    target = Path(tempfile.mkdtemp(prefix="a11y-"))
    stem = target / (re.sub(r"[^A-Za-z0-9_.-]+", "_", label).strip("_")[:100] or "page")
    page.screenshot(path=str(stem.with_suffix(".png")), full_page=True)
    stem.with_suffix(".html").write_text(f"<!-- {page.url} -->\n" + page.content(), encoding="utf-8")
    return stem


def problems(page: Any) -> list[str]:
    """What is wrong with the page as loaded: each axe violation (rule, impact, the first elements), and a
    sideways scroll on a phone."""
    found = []
    results = _axe().run(page)
    for violation in results.response["violations"]:
        targets = ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        found.append(f"axe {violation['id']} ({violation['impact']}): {violation['help']} – {targets}")
    width = page.viewport_size["width"] if page.viewport_size else None
    if width is not None and width <= 400:
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            wide = page.evaluate("""(w) => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > w + 1 && getComputedStyle(e).position !== 'fixed')
                .filter(e => !e.closest('[role=region]'))
                .slice(0, 3).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                                      + (e.className && typeof e.className === 'string' ? '.' + e.className : ''))""",
                                 width)
            found.append(f"scrolls sideways at {width} px: {scroll} px wide ({', '.join(wide)})")
    return found


def assert_accessible(page: Any, label: str = "") -> None:
    found = problems(page)
    if found:
        where = _save(page, label or page.url)
        raise AssertionError(f"{label or page.url}: " + "; ".join(found) + f" (screenshot: {where}.png)")
