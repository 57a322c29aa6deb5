"""What a voice says for counts, reference numbers, the IIN and the phone number.

eSpeak NG (NVDA's default voice, and the kiosk's read aloud) is asked for its phonemes
(`espeak-ng -q -x`): a count must sound like the plain number, a reference like its
characters one by one, an IIN like its digits.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from babel.numbers import format_decimal

from kiosk import spoken
from tests.helpers import VALID_IIN, answer_all, post_step, submit

LANGUAGES = ["kk", "ru", "en"]


def phonemes(lang: str, text: str) -> str:
    result = subprocess.run(
        ["espeak-ng", "-v", lang, "-q", "-x", text], capture_output=True, text=True, check=True
    )
    return " ".join(result.stdout.split())


def heard(html: str) -> str:
    """The text a screen reader reads: aria-hidden parts left out, visually hidden kept."""
    html = re.sub(r'<(\w+) aria-hidden="true"[^>]*>.*?</\1>', " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def seen(html: str) -> str:
    """The text on the screen: visually hidden parts left out."""
    html = re.sub(r'<span class="visually-hidden">.*?</span>', " ", html, flags=re.S)
    return re.sub(r"[ \t\n]+", " ", re.sub(r"<[^>]+>", " ", html)).strip()  # keeps no-break spaces


def _client(app, lang: str):
    client = app.test_client()
    client.get(f"/?lang={lang}")
    return client


# Counts and limits ----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_character_limit_is_written_without_a_group_separator(app, lang):
    page = _client(app, lang).get("/apply/problem").text
    info = re.search(r'id="problem-info"[^>]*>(.*?)</div>', page, re.S).group(1)
    assert "2000" in info, info
    assert not re.search(r"2[\s\u00a0\u202f,.]000", info), info


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_count_sounds_like_the_number(app, lang):
    """What the page says is heard as two thousand, not "two zero zero zero"."""
    page = _client(app, lang).get("/apply/problem").text
    info = heard(re.search(r'id="problem-info"[^>]*>(.*?)</div>', page, re.S).group(1))
    number = phonemes(lang, "2000")
    assert number in phonemes(lang, info)
    if lang != "en":  # the old, grouped form really was misread
        assert number not in phonemes(lang, format_decimal(2000, locale=lang))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_large_counts_are_seen_grouped_and_heard_plain(app, lang):
    client = _client(app, lang)
    answer_all(client)
    page = post_step(client, "/apply/people", {"helped_last_year": "99999999999"}).text
    message = re.search(r'id="helped_last_year-error"[^>]*>(.*?)</p>', page, re.S).group(1)
    assert format_decimal(10_000_000, locale=lang) in seen(message)
    assert "10000000" in heard(message)
    assert phonemes(lang, "10000000") in phonemes(lang, heard(message))
    assert "10000000" not in seen(message)


def test_counts_below_ten_thousand_are_plain_and_larger_ones_seen_and_heard():
    assert spoken.count(1999, "1 999") == "1999"
    assert spoken.count(-20, "-20") == "-20"
    assert str(spoken.count(12500, "12\u00a0500")) == (
        '<span aria-hidden="true">12\u00a0500</span><span class="visually-hidden">12500</span>'
    )


# Reference numbers ----------------------------------------------------------------------------


def test_a_reference_is_spoken_character_by_character():
    assert spoken.characters("7K3M-9QXT-W") == "7, K, 3, M, 9, Q, X, T, W"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_character_of_a_reference_is_said_as_a_letter_or_a_digit(lang):
    """Alone, each character has its name; the spoken form says exactly those names.

    Without the commas eSpeak reads "A 3" as the word "a", and "9QXT" as one word.
    """
    said = phonemes(lang, spoken.characters("AQXT-9A3W-A"))
    alone = [phonemes(lang, char) for char in "AQXT9A3WA"]
    # (a letter's name may carry the voice's switch to English: "(en)k'eI(kk)")
    names = [re.sub(r"\(\w+\)", "", name) for name in alone]
    assert re.sub(r"\(\w+\)", "", said).split() == names
    assert phonemes(lang, "AQXT-9A3W-A") != said


@pytest.mark.parametrize("lang", LANGUAGES)
def test_reference_numbers_have_a_spoken_form_on_every_page_that_shows_one(app, lang):
    client = _client(app, lang)
    answer_all(client)
    submit(client)
    for path in ["/apply/confirmation", "/apply/receipt"]:
        page = client.get(path).text
        reference = re.search(r'class="reference">([0-9A-Z-]+)<', page).group(1)
        assert heard(page).count(spoken.characters(reference)) == 1, path
        assert reference not in heard(page).replace(f"reference={reference}", ""), path
        assert reference in seen(page), path
    hint = re.search(r'id="reference-hint"[^>]*>(.*?)</div>', client.get("/status").text, re.S)
    assert "7, K, 3, M, 9, Q, X, T, W" in heard(hint.group(1))
    assert "7K3M-9QXT-W" in seen(hint.group(1)) and "7K3M" not in heard(hint.group(1))


# The IIN and the phone number on the check page ------------------------------------------------


def _check_row(page: str, key_contains: str) -> str:
    for key, value in re.findall(
        r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>",
        page,
        re.S,
    ):
        if key_contains in key:
            return value
    raise AssertionError(key_contains)


def test_the_iin_is_seen_whole_and_heard_digit_by_digit(app):
    client = _client(app, "ru")
    answer_all(client, "individual")
    value = _check_row(client.get("/apply/check").text, "ИИН")
    assert seen(value) == VALID_IIN
    assert heard(value) == "8 8 0 2 1 5, 3 0 0 1 2 " + VALID_IIN[-1]
    said = phonemes("ru", heard(value)).replace(";", "").split()
    assert said == phonemes("ru", " ".join(VALID_IIN)).replace(";", "").split()
    assert said != phonemes("ru", VALID_IIN).split()  # not "eight hundred and eighty billion …"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_phone_number_is_grouped_as_its_hint_shows_it(app, lang):
    client = _client(app, lang)
    answer_all(client)
    page = client.get("/apply/contact").text
    assert "+7 701 234 56 78" in page  # the hint
    value = _check_row(
        client.get("/apply/check").text, {"kk": "Телефон", "ru": "телефон"}.get(lang, "Phone")
    )
    assert value == "+7 701 234 56 78"
    # Read in the same groups: seven hundred and one, ... fifty-six, seventy-eight.
    groups = [phonemes(lang, group) for group in ["701", "234", "56", "78"]]
    said = phonemes(lang, value)
    assert all(group in said for group in groups), said
