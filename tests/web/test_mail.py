""" "E-mail me the code" (kiosk/mail.py), sent to a real SMTP server (tests/smtp.py).

What arrives is read back as a mail client would: headers decoded, body decoded. The
message says in the applicant's language what they need to come back (the code, the date
it is kept until, the link) and nothing else; a failure is NotSent, logged by type only.
"""

from __future__ import annotations

import email
import email.policy
import logging
import socket
import time
from datetime import UTC, datetime
from email.header import decode_header, make_header

import pytest

from kiosk import mail
from tests.nginx import LOCALHOST, free_port
from tests.smtp import smtp_server

TO = "aliya.sarsenova@mail.example.kz"
CODE = "R7K3-M9QX-TW4P-J5"
LINK = "https://apply.example.kz/saved/continue"
SENDER = "noreply@konkurs.example.kz"
# 23:59:59 in Almaty on 30 June 2027, the competition's last moment, written in UTC.
UNTIL = datetime(2027, 6, 30, 18, 59, 59, tzinfo=UTC)
KAZAKH_LETTERS = set("әғқңөұүі")

SUBJECTS = {
    "kk": "«Үздік әлеуметтік жобалар»: өтінімді жалғастыру коды",
    "ru": "«Лучшие социальные проекты»: код для продолжения заявки",
    "en": "Best Social Projects: your code to continue your application",
}
# A sentence of each language's text, with the date as the site writes it in that language.
KEPT_UNTIL = {
    "kk": "Жауаптарыңыз мына күнге дейін сақталады: 2027 жылғы 30 маусым.",
    "ru": "Ваши ответы хранятся до 30 июня 2027 года.",
    "en": "Your answers are kept until 30 June 2027.",
}
OPENING = {
    "kk": "Сіз «Қазақстанда іске асырылып жатқан үздік әлеуметтік жобалар» байқауына "
    "өтініміңізді сақтадыңыз.",
    "ru": "Вы сохранили заявку на конкурс «Лучшие социальные проекты, реализуемые в Казахстане».",
    "en": "You saved your application to the competition "
    "“Best Social Projects Implemented in Kazakhstan”.",
}
ENGLISH_BODY = f"""\
You saved your application to the competition “Best Social Projects Implemented in Kazakhstan”.

Your code to continue the application:

    {CODE}

Your answers are kept until 30 June 2027. After that they are deleted.

To continue, open this link and enter the code:
{LINK}

Do not share the code: anyone who has it can open your application.

If you did not ask for this e-mail, you can ignore it.

This e-mail was sent automatically. Please do not reply to it.
"""


@pytest.fixture
def mail_app(make_app, smtp_sink):
    """A web node whose mail goes to the test's SMTP sink."""
    return make_app(SMTP_HOST=smtp_sink.host, SMTP_PORT=smtp_sink.port, MAIL_FROM=SENDER)


def send(app, to: str = TO, locale: str = "kk", page_language: str = "en", **kwargs) -> None:
    """send_code as a route calls it: inside a request for a page in `page_language`."""
    with app.test_request_context("/", headers={"Accept-Language": page_language}):
        mail.send_code(to, kwargs.get("code", CODE), kwargs.get("until", UNTIL), LINK, locale)


def received_text(message) -> str:
    """The body as a mail client shows it (lines travel with CRLF)."""
    return message.get_content().replace("\r\n", "\n")


def decoded_header(raw: bytes, name: str) -> str:
    """A header of the raw message decoded by RFC 2047 alone.

    The standard library's parser puts a space between adjacent encoded words in a
    display name (CPython 3.12), where RFC 2047 and mail clients join them.
    """
    value = email.message_from_bytes(raw, policy=email.policy.compat32)[name]
    return str(make_header(decode_header(value)))


@pytest.mark.parametrize("locale", ["kk", "ru", "en"])
def test_the_code_arrives_in_the_applicants_language(mail_app, smtp_sink, locale):
    send(mail_app, locale=locale, page_language="en" if locale != "en" else "ru")
    [message] = smtp_sink.messages
    assert message["Subject"] == SUBJECTS[locale]
    assert message["From"] == SENDER and message["To"] == TO
    assert smtp_sink.envelopes == [(SENDER, [TO])]
    assert message["Content-Language"] == locale
    body = received_text(message)
    assert OPENING[locale] in body and KEPT_UNTIL[locale] in body
    assert f"\n    {CODE}\n" in body and f"\n{LINK}\n" in body


def test_the_english_message_says_only_what_is_needed_to_come_back(mail_app, smtp_sink):
    """Word for word: the code, the date, the link and how to use them; no name, no answers."""
    send(mail_app, locale="en")
    [message] = smtp_sink.messages
    assert received_text(message) == ENGLISH_BODY
    assert sorted(message.keys()) == sorted(
        [
            "Subject",
            "From",
            "To",
            "Date",
            "Message-ID",
            "Content-Language",
            "Auto-Submitted",
            "Content-Type",
            "Content-Transfer-Encoding",
            "MIME-Version",
        ]
    )
    assert not message.is_multipart()


def test_kazakh_text_has_the_same_paragraphs_and_nothing_more(mail_app, smtp_sink):
    send(mail_app, locale="kk")
    send(mail_app, locale="en")
    kazakh, english = (received_text(message) for message in smtp_sink.messages)
    assert kazakh.count("\n\n") == english.count("\n\n")
    assert [line for line in kazakh.splitlines() if "R7K3" in line or "https:" in line] == [
        f"    {CODE}",
        LINK,
    ]
    assert set(kazakh) >= KAZAKH_LETTERS and not KAZAKH_LETTERS & set(english)


def test_kazakh_letters_survive_any_relay(make_app, smtp_sink):
    """The raw message is 7-bit (a relay without 8BITMIME passes it), and decodes back to
    the very letters sent, in the headers too."""
    sender = f"Үздік әлеуметтік жобалар <{SENDER}>"
    app = make_app(SMTP_HOST=smtp_sink.host, SMTP_PORT=smtp_sink.port, MAIL_FROM=sender)
    send(app, locale="kk")
    [message] = smtp_sink.messages
    raw = message.as_bytes()
    assert raw.isascii()
    assert message.get_content_charset() == "utf-8"
    assert decoded_header(smtp_sink.raw[0], "From") == sender
    assert smtp_sink.envelopes == [(SENDER, [TO])]
    text = message["Subject"] + received_text(message)
    assert set(text) >= KAZAKH_LETTERS
    assert "Бұл хатты сіз сұрамаған болсаңыз, оған назар аудармаңыз." in text


def test_the_date_is_the_day_in_almaty(mail_app, smtp_sink):
    """21:30 UTC on 1 March is already 2 March in Almaty, as the site would say."""
    send(mail_app, locale="en", until=datetime(2027, 3, 1, 21, 30, tzinfo=UTC))
    assert "kept until 2 March 2027." in received_text(smtp_sink.messages[0])


def test_another_locale_gets_kazakh(mail_app, smtp_sink):
    send(mail_app, locale="de")
    assert smtp_sink.messages[0]["Subject"] == SUBJECTS["kk"]


def _assert_nothing_personal_logged(caplog, reason: str) -> None:
    kept = [r for r in caplog.records if r.name == "kiosk.mail"]
    assert [r.levelno for r in kept] == [logging.WARNING]
    assert reason in kept[0].getMessage()
    assert TO not in caplog.text and CODE not in caplog.text
    assert "aliya" not in caplog.text.lower() and "R7K3" not in caplog.text


@pytest.mark.parametrize(
    ("stage", "reply", "reason"),
    [
        (
            "RCPT",
            "550 5.1.1 <aliya.sarsenova@mail.example.kz>: no such mailbox",
            "SMTPRecipientsRefused",
        ),
        ("RCPT", "421 4.3.2 Service shutting down", "SMTPRecipientsRefused"),
        ("MAIL", "451 4.3.0 Try again later", "SMTPSenderRefused"),
        ("DATA", "554 5.6.0 Message refused", "SMTPDataError"),
    ],
)
def test_a_refusing_server_is_not_sent_and_the_log_names_only_the_error(
    mail_app, smtp_sink, caplog, stage, reply, reason
):
    caplog.set_level(logging.DEBUG)
    smtp_sink.refuse(reply, at=stage)
    with pytest.raises(mail.NotSent) as raised:
        send(mail_app)
    assert smtp_sink.messages == []
    assert reason in str(raised.value) and TO not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    _assert_nothing_personal_logged(caplog, reason)


def test_a_server_that_is_down_is_not_sent(make_app, caplog):
    caplog.set_level(logging.DEBUG)
    app = make_app(SMTP_HOST=LOCALHOST, SMTP_PORT=free_port(), MAIL_FROM=SENDER)
    with pytest.raises(mail.NotSent, match="ConnectionRefusedError"):
        send(app)
    _assert_nothing_personal_logged(caplog, "ConnectionRefusedError")


def test_a_server_that_never_answers_is_not_sent_after_the_timeout(make_app, caplog, monkeypatch):
    """It accepts the connection and never greets: the timeout ends the wait (smtplib reports
    a timeout while reading a reply as SMTPServerDisconnected)."""
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(mail, "TIMEOUT", 0.5)
    with socket.create_server((LOCALHOST, 0)) as silent:
        app = make_app(SMTP_HOST=LOCALHOST, SMTP_PORT=silent.getsockname()[1], MAIL_FROM=SENDER)
        started = time.monotonic()
        with pytest.raises(mail.NotSent, match="SMTPServerDisconnected"):
            send(app)
        assert 0.5 <= time.monotonic() - started < 5
    _assert_nothing_personal_logged(caplog, "SMTPServerDisconnected")


def test_starttls_is_used_when_the_server_offers_it(make_app, monkeypatch):
    """The sink refuses mail before STARTTLS, so a message that arrives was encrypted."""
    with smtp_server(tls=True) as sink:
        monkeypatch.setenv("SSL_CERT_FILE", str(sink.cert))  # trust the test certificate
        app = make_app(SMTP_HOST=sink.host, SMTP_PORT=sink.port, MAIL_FROM=SENDER)
        send(app, locale="en")
        assert sink.over_tls == [True]
        assert received_text(sink.messages[0]) == ENGLISH_BODY


def test_a_certificate_that_does_not_verify_is_not_sent_in_clear(make_app, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    with smtp_server(tls=True) as sink:
        monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent")  # nothing trusted
        monkeypatch.setenv("SSL_CERT_DIR", "/nonexistent")
        app = make_app(SMTP_HOST=sink.host, SMTP_PORT=sink.port, MAIL_FROM=SENDER)
        with pytest.raises(mail.NotSent, match="SSLCertVerificationError"):
            send(app)
        assert sink.messages == []
    _assert_nothing_personal_logged(caplog, "SSLCertVerificationError")


@pytest.mark.parametrize(
    "to",
    [
        f"{TO}\r\nBcc: someone@example.kz",
        f"{TO}\nBcc: someone@example.kz",
        f"{TO}\r",
        f"{TO}\u2028Bcc: someone@example.kz",
        f"{TO}, someone@example.kz",
        f"{TO}; someone@example.kz",
        f"{TO} someone@example.kz",
        f"Aliya <{TO}>, someone@example.kz",
        f"Aliya <{TO}>",
        "",
        "not an address",
    ],
)
def test_anything_but_one_address_on_one_line_is_refused_before_connecting(make_app, to):
    """Pointed at a closed port: a connection attempt would be NotSent, not ValueError."""
    app = make_app(SMTP_HOST=LOCALHOST, SMTP_PORT=free_port(), MAIL_FROM=SENDER)
    with pytest.raises(ValueError) as raised:
        send(app, to=to)
    assert TO not in str(raised.value)


def test_one_plain_address_is_accepted_as_typed(mail_app, smtp_sink):
    send(mail_app, to=f"  {TO} ")
    assert smtp_sink.envelopes == [(SENDER, [TO])]


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"SMTP_HOST": "smtp.example.kz", "MAIL_FROM": SENDER}, True),
        ({"SMTP_HOST": "", "MAIL_FROM": SENDER}, False),
        ({"SMTP_HOST": "smtp.example.kz", "MAIL_FROM": SENDER, "KIOSK_MODE": True}, False),
        ({"SMTP_HOST": "smtp.example.kz", "MAIL_FROM": ""}, False),
    ],
)
def test_enabled_only_with_a_server_and_sender_and_never_on_a_kiosk(make_app, config, expected):
    with make_app(**config).app_context():
        assert mail.enabled() is expected


def test_sending_while_not_configured_is_not_sent(make_app):
    with pytest.raises(mail.NotSent, match="NotConfigured"):
        send(make_app(SMTP_HOST="", MAIL_FROM=SENDER))
