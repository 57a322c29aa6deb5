"""Reflow: at 320 CSS px wide, and with text at 200%, nothing scrolls sideways or overlaps.

WCAG 1.4.10 (a 1280 px screen zoomed to 400% is 320 CSS px wide) and 1.4.4 (text resized to
200%). Every page and error state is measured where the walk stands (conftest.py, Walks): the
viewport narrowed through device metrics, the text enlarged through the root font size. The
larger text theme (150%) is measured at 320 px too; high contrast changes only colours.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import LANGUAGES, REFLOW_CONDITIONS, SHORT, THEMES, measure_reflow

REFLOW_TABLE = (
    "reflow, every page × language, theme and condition (320 = 320 CSS px wide, 200% = text at"
    " 200%)\n  ok = no sideways scrolling, no text cut off or spilling out of its box, no overlap"
)


@pytest.mark.parametrize("kiosk", [False, True], ids=["web", "kiosk"])
@pytest.mark.parametrize("theme", [theme for theme in THEMES if REFLOW_CONDITIONS[theme]])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_reflows(walks, coverage, lang, theme, kiosk):
    failures = []
    for label, checks in walks(lang, theme, kiosk).items():
        for condition in REFLOW_CONDITIONS[theme]:
            problems = checks["reflow"][condition]
            column = f"{lang} {SHORT[theme]} {condition.removesuffix('px').removesuffix(' text')}"
            coverage.record(REFLOW_TABLE, label, column, "FAIL" if problems else "ok")
            if problems:
                failures.append(f"{label} at {condition}:\n  " + "\n  ".join(problems[:8]))
    assert not failures, "\n".join(failures)


def test_the_measure_finds_sideways_scrolling_and_overlap(live_server, browser):
    """The reflow measure itself: a page made to break must be reported as broken."""
    browser.delete_all_cookies()
    browser.get(live_server + "/apply/title?lang=en")
    assert measure_reflow(browser, "320px") == []
    browser.execute_script(
        "document.querySelector('.hint').style.whiteSpace = 'nowrap';"
        "Object.assign(document.querySelector('.button').style, {position: 'relative',"
        " top: '-4.5rem'});"
    )
    problems = measure_reflow(browser, "320px")
    assert any("scrolls sideways" in p for p in problems), problems
    assert any("hint" in p and "spills out of its box" in p for p in problems), problems
    assert any("overlaps" in p for p in problems), problems
