""" "E-mail me the code": the return code, sent to the applicant in their own language.

The message holds what the applicant needs to come back and nothing more: the code, the
date it is kept until and the link to continue. No name, no answers: an e-mail passes
through servers nobody here controls and stays in a mailbox for years.

The address is the applicant's and the code opens their application, so neither is ever
logged (as everywhere in the app, kiosk/security.py): a failure is logged by its type only.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import unicodedata
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import NoReturn

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import force_locale, gettext

from . import i18n

log = logging.getLogger(__name__)

# Seconds for the connection and each reply: the applicant waits on the page meanwhile.
TIMEOUT = 10
# Line breaks a mail header could be split at, beyond the control characters.
_BREAKS = {"\u2028", "\u2029", "\x85"}


class NotSent(Exception):
    """The message did not reach the mail server; the code is still shown on the page.

    Its text is the type of the error underneath, never an address or a code.
    """


def enabled() -> bool:
    """Whether to offer "E-mail me the code" at all.

    Not on a kiosk: a public screen shared by strangers is no place to type an e-mail
    address, and the code is printed or written down there instead. Not without a
    server and a sender to send from.
    """
    config = current_app.config
    return bool(config.get("SMTP_HOST") and config.get("MAIL_FROM") and not config["KIOSK_MODE"])


def send_code(to: str, code: str, until: datetime, link: str, locale: str) -> None:
    """E-mail `code` to the one address `to`, in `locale` (kk, ru or en).

    Needs an app context (the settings and the catalogs). ValueError before anything is
    sent if `to` is not exactly one address on one line; NotSent if the mail server
    cannot be reached or refuses the message.
    """
    address = one_address(to)
    config = current_app.config
    if not (config.get("SMTP_HOST") and config.get("MAIL_FROM")):
        _failed("NotConfigured")
    message = compose(address, code, until, link, locale)
    _deliver(message, address)


def one_address(to: str) -> str:
    """`to` as a single bare address, or ValueError; the last line against header injection.

    The web form has checked the address already; this refuses anything that could
    add a header or a second recipient if a caller ever passes text unchecked. The
    error never repeats the address.
    """
    if not isinstance(to, str) or any(_breaks_a_line(char) for char in to):
        raise ValueError("an e-mail address must be one line")
    try:
        checked = validate_email(to.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise ValueError("not exactly one valid e-mail address") from None
    return checked.ascii_email or checked.normalized


def _breaks_a_line(char: str) -> bool:
    return unicodedata.category(char) == "Cc" or char in _BREAKS


def compose(to: str, code: str, until: datetime, link: str, locale: str) -> EmailMessage:
    """The message, with its texts and date in `locale` (Kazakh for any other value)."""
    language = locale if locale in i18n.LANGUAGES else i18n.DEFAULT
    with force_locale(language):
        subject = gettext("Best Social Projects: your code to continue your application")
        body = _body(code, i18n.format_day(until), link)
    sender = current_app.config["MAIL_FROM"]
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
    # Quoted-printable keeps the body 7-bit for any relay, and the code and link readable.
    message.set_content(body, charset="utf-8", cte="quoted-printable")
    message["Content-Language"] = language  # after set_content, which clears Content-*
    return message


def _body(code: str, date: str, link: str) -> str:
    """The text, paragraph by paragraph, in the locale in force."""
    paragraphs = [
        gettext(
            "You saved your application to the competition "
            "“Best Social Projects Implemented in Kazakhstan”."
        ),
        gettext("Your code to continue the application:") + f"\n\n    {code}",
        gettext("Your answers are kept until %(date)s. After that they are deleted.", date=date),
        gettext("To continue, open this link and enter the code:") + f"\n{link}",
        gettext("Do not share the code: anyone who has it can open your application."),
        gettext("If you did not ask for this e-mail, you can ignore it."),
        gettext("This e-mail was sent automatically. Please do not reply to it."),
    ]
    return "\n\n".join(paragraphs) + "\n"


def _domain(sender: str) -> str:
    """The sender's domain, for the Message-ID (not this machine's name, which says nothing)."""
    return sender.rpartition("@")[2].strip(" >") or "localhost"


def _deliver(message: EmailMessage, to: str) -> None:
    """Hand the message to the configured server, over STARTTLS when the server offers it.

    When it is offered, the certificate must be valid: a failed handshake is NotSent,
    never a fall back to sending the code in clear.
    """
    config = current_app.config
    sender = message["From"].addresses[0].addr_spec
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=TIMEOUT) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            smtp.send_message(message, from_addr=sender, to_addrs=[to])
    except (smtplib.SMTPException, OSError) as error:
        _failed(type(error).__name__)


def _failed(reason: str) -> NoReturn:
    """Log and raise NotSent with `reason`, an error's type: an SMTP error's own text can
    quote the address (a refused recipient) and is left out, chained exception and all."""
    log.warning("The return code could not be e-mailed: %s", reason)
    raise NotSent(reason) from None
