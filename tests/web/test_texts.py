"""What the pages say, after the language review of December 2026 (shared/reviews).

Headings that match the text under them, dates as each language writes and reads them,
one word for one thing in every catalog, and hidden screen-reader text each language
can put in its own order.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from markupsafe import Markup

from kiosk import competition, speech
from kiosk.i18n import format_day, format_month
from tests.conftest import english_client
from tests.helpers import answer_all, post_step, submit, token

ROOT = Path(__file__).resolve().parents[2]
KAZAKH_ONLY = re.compile("[әіңғүұқөһӘІҢҒҮҰҚӨҺ]")


def _catalog(code: str):
    with (ROOT / f"translations/{code}/LC_MESSAGES/messages.po").open("rb") as file:
        return read_po(file, locale=code)


def _entries(code: str) -> dict[str, str]:
    """msgid -> msgstr, plurals by their first form."""
    found = {}
    for message in _catalog(code):
        if message.id:
            key = message.id if isinstance(message.id, str) else message.id[0]
            text = message.string if isinstance(message.string, str) else message.string[0]
            found[key] = text
    return found


def _client(app, code: str):
    client = english_client(app)
    client.get(f"/?lang={code}")
    return client


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


# The closed page ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "heading"),
    [
        ("kk", "Өтінім қабылдау әлі басталған жоқ"),
        ("ru", "Приём заявок ещё не начался"),
        ("en", "Applications are not open yet"),
    ],
)
def test_before_opening_the_closed_page_has_its_own_heading(app, code, heading):
    client = _client(app, code)
    form = client.get("/apply/applicant-type").text
    now = datetime.now(UTC)
    app.config["OPENS"], app.config["CLOSES"] = now + timedelta(days=3), now + timedelta(days=60)
    page = client.post("/apply/applicant-type", data={"csrf_token": token(form)}).text
    assert _text(re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)[1]) == heading
    assert re.search(r"<title>\s*" + re.escape(heading), page)
    body = _text(page[page.index("</h1>") :])
    assert not body.startswith(heading), "the text under the heading repeats it"


# Dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "day", "month"),
    [
        ("kk", "2027 жылғы 30 маусым", "2021 жылғы наурыз"),
        ("ru", "30 июня 2027 года", "март 2021 года"),
        ("en", "30 June 2027", "March 2021"),
    ],
)
def test_dates_are_written_in_full_as_each_language_writes_them(app, code, day, month):
    with app.test_request_context(f"/?lang={code}"):
        assert format_day(date(2027, 6, 30)) == day
        assert format_month(date(2021, 3, 1)) == month


def test_kazakh_sentences_read_naturally_with_the_date(app):
    page = _client(app, "kk").get("/").text
    assert "Өтінім қабылдау 2027 жылғы 30 маусым күні аяқталады." in page
    russian = _client(app, "ru").get("/").text
    assert "Заявки принимаются до 30 июня 2027 года включительно." in russian


@pytest.mark.parametrize(("code", "month"), [("kk", "2021 жылғы наурыз"), ("ru", "март 2021")])
def test_the_check_page_gives_the_start_month_in_the_same_form(app, code, month):
    client = _client(app, code)
    answer_all(client)
    assert month in client.get("/apply/check").text


# The confirmation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "heading", "submitted", "not_said"),
    [
        ("kk", "Өтінім берілді", "Берілген уақыты: ", ("қабылданды", "Жіберілген уақыты")),
        ("ru", "Заявка подана", "Дата подачи: ", ("принята", "Дата отправки")),
        ("en", "Application submitted", "Submitted on ", ("complete", "Sent on")),
    ],
)
def test_the_confirmation_says_submitted_not_accepted_or_sent(
    app, code, heading, submitted, not_said
):
    client = _client(app, code)
    answer_all(client)
    submit(client)
    page = client.get("/apply/confirmation").text
    assert _text(re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S)[1]) == heading
    assert submitted in page
    for words in not_said:
        assert words not in page
    receipt = client.get("/apply/receipt").text
    assert not_said[1] not in receipt


# One word for one thing --------------------------------------------------------------------


def test_could_not_be_sent_is_said_one_way_in_every_language():
    english, kazakh, russian = _entries("en"), _entries("kk"), _entries("ru")
    for msgid in english:
        assert not re.search(r"\bfailed\b|problem sending", msgid), msgid
        if re.search(r"could not be sent", msgid, re.I):
            assert re.search(r"жіберілме(ді|ген)", kazakh[msgid].lower()), kazakh[msgid]
            assert "не удалось отправить" in russian[msgid].lower(), russian[msgid]
    assert "жіберу кезінде ақау" not in " ".join(kazakh.values()).lower()
    assert not re.search(r"проблем\w* (с|при) отправк", " ".join(russian.values()).lower())


def test_the_central_registry_is_named_in_full_everywhere():
    kazakh, russian = _entries("kk"), _entries("ru")
    for msgid in _entries("en"):
        if "registry" in msgid:
            assert "орталық тізілім" in kazakh[msgid].lower(), kazakh[msgid]
            assert re.search(r"центральн\w+ реестр", russian[msgid].lower()), russian[msgid]
    for text in kazakh.values():
        assert not re.search(r"(?<!орталық )тізілім", text.lower()), text
    for text in russian.values():
        assert not re.search(r"(?<!центральный )(?<!центральном )(?<!центральном)реестр", text), (
            text
        )


def test_the_consent_is_two_sentences_with_the_verb_early():
    msgid = next(m for m in _entries("en") if m.startswith("you agree that the Ministry"))
    for code, verb in (("kk", "келісесіз"), ("ru", "согласны")):
        text = _entries(code)[msgid]
        sentences = [s for s in re.split(r"(?<=\.) ", text) if s]
        assert len(sentences) == 2, text
        assert verb in sentences[0] and len(sentences[0].split()) <= 15, sentences[0]


def test_the_kazakh_check_digit_error_says_error_once(app):
    client = _client(app, "kk")
    post_step(client, "/apply/applicant-type", {"applicant_type": "individual"})
    page = post_step(client, "/apply/person", {"full_name": "Әлия", "iin": "880215300120"}).text
    message = _text(re.search(r'<p id="iin-error"[^>]*>(.*?)</p>', page, re.S)[1])
    assert message.startswith("Қате:")
    assert message.lower().count("қате") == 1, message


def test_no_kazakh_error_message_says_error_again():
    """Every field message is read after «Қате:», so none may say «қате» itself."""
    kazakh = _entries("kk")
    for msgid in (
        "This IIN is not valid: the last digit does not match. Check for a typing mistake",
        "This BIN is not valid: the last digit does not match. Check for a typing mistake",
        "This phone number is not complete or not valid. Check the digits",
        "The user name or password is not right",
    ):
        assert "қате" not in kazakh[msgid].lower(), kazakh[msgid]


# Regions and read aloud -----------------------------------------------------------------------


def test_russian_region_names_use_russian_letters(app):
    with app.app_context():
        regions = competition.regions()
    assert regions["KZ-62"].names["ru"] == "область Улытау"
    assert regions["KZ-33"].names["ru"] == "область Жетысу"
    for region in regions.values():
        assert not KAZAKH_ONLY.search(region.names["ru"] + region.names["en"]), region


@pytest.fixture
def spoken(monkeypatch):
    """The text each espeak-ng run is given on its standard input."""
    heard = []
    real = speech.subprocess.run

    def listening(*args, **kwargs):
        heard.append(kwargs["input"].decode())
        return real(*args, **kwargs)

    monkeypatch.setattr(speech.subprocess, "run", listening)
    return heard


def test_the_russian_voice_hears_russian_letters_for_kazakh_ones(client, spoken):
    response = client.get(
        "/speech", query_string={"lang": "ru", "text": "Ұлытау, Қостанай, Өскемен"}
    )
    assert response.status_code == 200
    assert spoken == ["Улытау, Костанай, Оскемен"]


def test_the_kazakh_voice_hears_every_kazakh_letter(client, spoken):
    client.get("/speech", query_string={"lang": "kk", "text": "Ұлытау облысы"})
    assert spoken == ["Ұлытау облысы"]


# Hidden text for screen readers ----------------------------------------------------------------


def _change_links(page: str) -> list[str]:
    return re.findall(r"</dd><dd><a [^>]*>(.*?)</a>", page, re.S)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("kk", '<span class="visually-hidden">Өтінімді кім береді? — </span>Өзгерту'),
        ("ru", 'Изменить<span class="visually-hidden">: Кто подаёт заявку?</span>'),
        ("en", 'Change<span class="visually-hidden">: Who is applying?</span>'),
    ],
)
def test_change_links_put_the_question_where_the_language_does(app, code, expected):
    client = _client(app, code)
    answer_all(client)
    assert _change_links(client.get("/apply/check").text)[0] == expected


def test_hidden_text_is_one_message_with_its_markup_kept_in_every_language():
    for code in ("kk", "ru"):
        for msgid, text in _entries(code).items():
            if "<" in msgid:
                assert re.findall(r"<[^>]+>", text) == re.findall(r"<[^>]+>", msgid), text


def test_a_placeholder_in_hidden_text_is_escaped(app):
    with app.test_request_context("/?lang=kk"):
        template = app.jinja_env.from_string(
            '{% from "components/summary_list.html" import change_label %}'
            "{{ change_label(question) }}"
        )
        html = template.render(question="<b>Жоба</b>")
    assert "&lt;b&gt;Жоба&lt;/b&gt;" in html and "<b>" not in html
    assert isinstance(Markup(html), Markup)


# Answers left empty and one date message --------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "shown"), [("kk", "Көрсетілмеген"), ("ru", "Не указано"), ("en", "Not given")]
)
def test_an_optional_answer_left_empty_says_not_given(app, code, shown):
    client = _client(app, code)
    answer_all(client, "individual")  # individuals may leave the e-mail address empty
    page = client.get("/apply/check").text
    values = re.findall(r"</dt><dd>(.*?)</dd>", page, re.S)
    assert "" not in values
    assert shown in values


def _errors(page: str) -> tuple[list[str], list[str]]:
    start = page.index('class="error-summary"')
    summary = page[start : page.index("</ul>", start)]
    return re.findall(r'<a href="(#[^"]+)"', summary), re.findall(r'id="([\w-]+-error)"', page)


def test_an_empty_date_is_one_error_that_links_to_the_month(client):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    page = post_step(client, "/apply/start-date", {"start_month": "", "start_year": ""}).text
    links, messages = _errors(page)
    assert links == ["#start_month"] and messages == ["start_month-error"]
    assert "Enter the month and year the project started" in page
    assert page.count('aria-invalid="true"') == 2  # both boxes are marked


@pytest.mark.parametrize(
    ("data", "link", "message"),
    [
        ({"start_month": "", "start_year": "2020"}, "#start_month", "Enter the month the project"),
        ({"start_month": "3", "start_year": ""}, "#start_year", "Enter the year the project"),
    ],
)
def test_one_empty_part_of_the_date_is_named(client, data, link, message):
    post_step(client, "/apply/applicant-type", {"applicant_type": "ngo"})
    page = post_step(client, "/apply/start-date", data).text
    links, messages = _errors(page)
    assert links == [link] and len(messages) == 1
    assert message in page
