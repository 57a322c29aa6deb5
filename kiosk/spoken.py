"""What a screen reader, or the kiosk's read aloud, says for text a voice would misread.

A reference number such as 7K3M-9QXT-W is read as one English word, an IIN as one number in
the hundreds of billions, and «2 000» (with a no-break space) as "two zero zero zero". Where
the text on screen should stay as it is, `seen_and_heard` shows it, hidden from screen
readers, next to a spoken form that is never shown. static/js/speech.js reads the same way
(it skips aria-hidden text and reads visually hidden text), so read aloud hears it too.
"""

from __future__ import annotations

from markupsafe import Markup

from .identifiers import ALPHABET

# Counts from this size up are grouped on screen (12 000, 12,000); below it, no separator.
GROUPED_FROM = 10_000


SEEN_AND_HEARD = Markup('<span aria-hidden="true">{}</span><span class="visually-hidden">{}</span>')


def seen_and_heard(seen: str, heard: str) -> Markup:
    """`seen` on the screen and hidden from screen readers; `heard` read instead, never shown."""
    return SEEN_AND_HEARD.format(seen, heard)


def characters(text: str) -> str:
    """A reference's characters one by one: 7K3M-9QXT-W -> "7, K, 3, M, 9, Q, X, T, W".

    The comma after each keeps a letter a letter in every voice: eSpeak NG reads "A 3" as the
    word "a", and "9QXT" as a word. Screen readers name the Latin letters themselves.
    """
    return ", ".join(char for char in text.upper() if char in ALPHABET)


def digit_groups(number: str, sizes: tuple[int, ...]) -> str:
    """Digits one by one, a comma between groups: 880215300124, (6, 6) -> "8 8 0 2 1 5, 3 ..."."""
    groups, start = [], 0
    for size in sizes:
        groups.append(" ".join(number[start : start + size]))
        start += size
    if number[start:]:
        groups.append(" ".join(number[start:]))
    return ", ".join(group for group in groups if group)


def count(n: int, grouped: str) -> str | Markup:
    """A count or a limit: plain digits below GROUPED_FROM (2000), which every voice reads as
    a number; from there the `grouped` form is seen (12 000) and the plain number heard."""
    if abs(n) < GROUPED_FROM:
        return str(n)
    return seen_and_heard(grouped, str(n))
