"""Kazakh, Russian and English: complete, switchable at any step, nothing left in English."""

from __future__ import annotations

import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from kiosk.journey import steps
from tests.helpers import answer_all, answers_for, every_page, post_step, queued_payload, submit

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = {
    code: ROOT / f"translations/{code}/LC_MESSAGES/messages.po" for code in ("kk", "ru", "en")
}


def _catalog(code: str):
    with CATALOGS[code].open("rb") as file:
        return read_po(file, locale=code)


def _lang_client(app, accept: str | None = None):
    client = app.test_client()
    if accept:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept
    return client


def _html_lang(page: str) -> str:
    return re.search(r'<html lang="([a-z]+)"', page).group(1)


# Choosing the language -----------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "kk"),
        ("de-DE,fr;q=0.8", "kk"),
        ("ru-RU,ru;q=0.9,en;q=0.8", "ru"),
        ("en-GB,en;q=0.9", "en"),
        ("kk-KZ,ru;q=0.5", "kk"),
        ("fr,en;q=0.3,ru;q=0.7", "ru"),
    ],
)
def test_new_visitor_gets_best_match_else_kazakh(app, accept, expected):
    assert _html_lang(_lang_client(app, accept).get("/").text) == expected


def test_lang_parameter_switches_and_the_choice_lasts_the_session(app):
    client = _lang_client(app, "en")
    assert _html_lang(client.get("/?lang=ru").text) == "ru"
    assert _html_lang(client.get("/apply/region").text) == "ru"
    assert _html_lang(client.get("/?lang=xx").text) == "ru"  # unknown codes are ignored


def _switch_links(page: str) -> list[tuple[str | None, str, str, bool]]:
    """(href, lang, name, current) per language; the current one is text, not a link."""
    nav = page[page.index('class="language-switch"') : page.index("</nav>")]
    return [
        (href or None, link_lang or text_lang, link_name or text_name, bool(text_lang))
        for href, link_lang, link_name, text_lang, text_name in re.findall(
            r'<a href="([^"]+)" lang="(\w+)" hreflang="\w+">([^<]+)</a>'
            r'|<span lang="(\w+)" aria-current="true">([^<]+)</span>',
            nav,
        )
    ]


@pytest.mark.parametrize("code", ["kk", "ru", "en"])
def test_every_page_has_the_language_switch_and_its_own_lang(app, code):
    client = _lang_client(app)
    client.get(f"/?lang={code}")
    for name, page in every_page(client).items():
        if not page.lstrip().startswith("<!doctype html>"):
            continue  # a redirect
        assert _html_lang(page) == code, name
        links = _switch_links(page)
        assert [(lang, label) for _href, lang, label, _ in links] == [
            ("kk", "Қазақша"),
            ("ru", "Русский"),
            ("en", "English"),
        ], name
        assert [lang for _href, lang, _label, current in links if current] == [code], name
        assert all(href for href, _lang, _label, current in links if not current), name


def test_switching_language_mid_journey_keeps_every_answer(app):
    client = _lang_client(app, "kk")
    for slug, data in answers_for("ngo")[:6]:
        post_step(client, f"/apply/{slug}", data)
    page = client.get("/apply/contact").text
    russian = dict((lang, href) for href, lang, _n, _c in _switch_links(page))["ru"]
    assert russian == "/apply/contact?lang=ru"
    switched = client.get(russian).text
    assert _html_lang(switched) == "ru"
    for value in ["Айгерім Серікова", "+77012345678", "info@qamqor.kz"]:
        assert f'value="{value}"' in switched
    for slug, data in answers_for("ngo")[6:]:
        post_step(client, f"/apply/{slug}", data)
    check = client.get("/apply/check?lang=en").text
    for value in ["«Қамқор» қоғамдық қоры", "Онлайн сурдоаударма", "Саңыраулар", "1200"]:
        assert value in check


def test_switch_link_keeps_the_change_parameter(app):
    client = _lang_client(app)
    answer_all(client)
    page = client.get("/apply/title?change=1").text
    hrefs = [href for href, *_rest in _switch_links(page) if href]
    assert len(hrefs) == 2 and all("change=1" in href for href in hrefs)


# Catalogs -------------------------------------------------------------------


@pytest.mark.parametrize("code", ["kk", "ru", "en"])
def test_catalog_has_no_untranslated_or_fuzzy_entry(code):
    catalog = _catalog(code)
    assert not catalog.fuzzy, "the catalog header is marked fuzzy"
    for message in catalog:
        if not message.id:
            continue
        assert "fuzzy" not in message.flags, message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(s.strip() for s in strings), f"untranslated in {code}: {message.id!r}"


def test_plural_forms_kazakh_one_russian_three():
    assert _catalog("kk").num_plurals == 1
    assert _catalog("ru").num_plurals == 3
    for message in _catalog("ru"):
        if message.pluralizable:
            assert len(message.string) == 3 and all(message.string), message.id
    for message in _catalog("kk"):
        if message.pluralizable:
            assert len(message.string) == 1 and message.string[0], message.id


@pytest.mark.parametrize("code", ["kk", "ru", "en"])
def test_placeholders_survive_translation(code):
    for message in _catalog(code):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(re.findall(r"%\(\w+\)s", ids[-1]))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            assert set(re.findall(r"%\(\w+\)s", text)) <= wanted | {"%(num)s"}, message.id
            if code != "kk" or not message.pluralizable:
                assert wanted - {"%(num)s"} <= set(re.findall(r"%\(\w+\)s", text)), message.id


def test_every_marked_string_is_in_the_catalogs(tmp_path):
    """Extract afresh, as `make translations` does, and compare with the catalogs."""
    pot = tmp_path / "fresh.pot"
    # The same keywords as `make translations`, read from the Makefile so they cannot drift.
    keywords = re.findall(r"-k (\S+)", (ROOT / "Makefile").read_text())
    assert "plural:1,2" in keywords
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg"]
        + [arg for keyword in keywords for arg in ("-k", keyword)]
        + ["--no-location", "-o", str(pot), "."],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as file:
        fresh = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(file) if m.id}
    for code in CATALOGS:
        known = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalog(code) if m.id}
        assert not fresh - known, f"not in {code} catalog: {sorted(fresh - known)[:5]}"
        assert not known - fresh, f"stale in {code} catalog: {sorted(known - fresh)[:5]}"


JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)


class _TextNodes(HTMLParser):
    """Collects text nodes and user-facing attributes of a template with Jinja removed."""

    ATTRIBUTES = {"aria-label", "title", "alt", "placeholder"}

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        self.found += [v for k, v in attrs if k in self.ATTRIBUTES and v and v.strip()]

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip and re.search(r"[^\W\d_]", data):
            self.found.append(data.strip())


@pytest.mark.parametrize(
    "template", sorted((ROOT / "templates").rglob("*.html")), ids=lambda p: p.name
)
def test_templates_have_no_text_outside_translation_calls(template):
    parser = _TextNodes()
    parser.feed(JINJA.sub("", template.read_text(encoding="utf-8")))
    allowed = {"–"}  # the separator in <title>
    assert [text for text in parser.found if text not in allowed] == []


# Pages in Kazakh and Russian carry no English ---------------------------------


class _VisibleText(HTMLParser):
    """The text a person can read or hear: text nodes and labelling attributes."""

    ATTRIBUTES = {"aria-label", "title", "alt", "placeholder"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        for key, value in attrs:
            if value and (
                key in self.ATTRIBUTES or key.startswith("data-left") or key.startswith("data-over")
            ):
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


# Reference numbers (7K3M-9QXT-W) and return codes (R7K3-M9QX-TW4P-J5): letters, not words.
REFERENCE = re.compile(r"\b[0-9A-Z]{4}-[0-9A-Z]{4}-([0-9A-Z]{4}-[0-9A-Z]{2}|[0-9A-Z])\b")


def _english_words() -> set[str]:
    words = set()
    for message in _catalog("en"):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for text in ids:
            text = REFERENCE.sub(" ", re.sub(r"%\(\w+\)s|\{n\}", " ", text or ""))
            words |= {w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)}
    return words


@pytest.mark.parametrize("code", ["kk", "ru"])
def test_pages_in_kazakh_and_russian_contain_no_english_words(app, code):
    # The name of the language in the switch, the standard's own names (WCAG 2.2, AAA), and
    # the names of file formats and of the programs that open them (as written on the files).
    formats = {"pdf", "jpeg", "png", "heic", "docx", "xlsx", "word", "excel"}
    english = _english_words() - {"english", "wcag", "aaa"} - formats
    client = _lang_client(app)
    client.get(f"/?lang={code}")
    for name, page in every_page(client).items():
        if not page.lstrip().startswith("<!doctype html>"):
            continue  # a redirect: the browser never shows its body
        parser = _VisibleText()
        parser.feed(page)
        text = " ".join(parser.parts)
        text = re.sub(r"\S+@\S+", " ", text)  # e-mail addresses, e.g. in a hint
        text = re.sub(r"https?://\S+", " ", text)  # web addresses, e.g. on the receipt
        text = REFERENCE.sub(" ", text)  # reference numbers such as the example 7K3M-9QXT-W
        found = {w for w in re.findall(r"[A-Za-z]{3,}", text) if w.lower() in english}
        assert not found, f"{code} page {name!r} has English: {sorted(found)}"


# Language-bound content --------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "deadline", "region"),
    [
        ("kk", "2027 жылғы 30 маусым", "Ақмола облысы"),
        ("ru", "30 июня 2027 года", "Акмолинская область"),
        ("en", "30 June 2027", "Akmola Region"),
    ],
)
def test_dates_and_regions_in_each_language(app, code, deadline, region):
    client = _lang_client(app)
    assert deadline in client.get(f"/?lang={code}").text
    assert region in client.get(f"/apply/region?lang={code}").text


def test_russian_counts_use_three_forms_and_kazakh_one(app):
    client = _lang_client(app)
    post_step(client, "/apply/applicant-type?lang=ru", {"applicant_type": "ngo"})
    shown = {}
    for digits in ("1", "123", "12345"):
        page = post_step(client, "/apply/organisation", {"organisation_name": "Қ", "bin": digits})
        shown[digits] = re.search(r'id="bin-error"[^>]*>.*?</span>(.*?)</p>', page.text, re.S)[1]
    assert len(set(re.sub(r"\d+", "N", s) for s in shown.values())) == 3, shown
    client.get("/?lang=kk")
    forms = set()
    for digits in ("1", "12345"):
        page = post_step(client, "/apply/organisation", {"organisation_name": "Қ", "bin": digits})
        text = re.search(r'id="bin-error"[^>]*>.*?</span>(.*?)</p>', page.text, re.S)[1]
        forms.add(re.sub(r"\d+", "N", text))
    assert len(forms) == 1


def test_submission_records_its_language_and_confirms_in_it(app, db):
    client = _lang_client(app)
    client.get("/?lang=ru")
    answer_all(client)
    submit(client)
    assert next(iter(db["submissions"].rows))["locale"] == "ru"
    assert queued_payload(next(iter(db["outbox"].rows)))["locale"] == "ru"
    client.get("/?lang=en")  # the applicant switches language afterwards
    for path in ("/apply/confirmation", "/apply/receipt"):
        page = client.get(path).text
        assert _html_lang(page) == "ru" and "Регистрационный номер" in page or "номер" in page


def test_step_titles_are_translated_lazily(app):
    with app.test_request_context("/?lang=ru"):
        assert str(steps.STEPS[0].title) != "Who is applying?"
