"""Which language a page is in, and the links that switch it.

Kazakh is the state language: it comes first in every list and is the
default when the browser asks for none of our three languages.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote, urlencode

from babel.numbers import get_group_symbol
from flask import Flask, current_app, request, session, url_for
from flask_babel import (
    Babel,
    force_locale,
    format_date,
    format_number,
    format_time,
    get_locale,
    get_translations,
    gettext,
)
from markupsafe import Markup, escape

from . import spoken

LANGUAGES = {"kk": "Қазақша", "ru": "Русский", "en": "English"}
DEFAULT = "kk"


def select_locale() -> str:
    """?lang= on the URL, else the choice kept in the session, else the browser's best match.

    A kiosk speaks Kazakh until a language is chosen, whatever its browser is set to (often
    English): Accept-Language tells of the machine, not of the person in front of it.
    """
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    if session.get("lang") in LANGUAGES:
        return session["lang"]
    if current_app.config.get("KIOSK_MODE"):
        return DEFAULT
    return from_accept_language()


def from_accept_language() -> str:
    """The first of the browser's languages (by quality) that we speak, matched by primary tag.

    "kk-KZ, ru;q=0.5" gives Kazakh: a regional variant of a language we have beats a
    lower-rated exact match.
    """
    for tag, _quality in request.accept_languages:
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary in LANGUAGES:
            return primary
    return DEFAULT


def remember_choice() -> None:
    """Keep a language picked with ?lang= for the rest of the session."""
    asked = request.args.get("lang")
    if asked in LANGUAGES and session.get("lang") != asked:
        session["lang"] = asked


def switch_links() -> list[dict]:
    """One link per language to this same page, with the current one marked.

    The switch shows the current language as text, not as a link (a Tab stop that would
    go nowhere); its url is there for anyone who needs one all the same.

    The link is this page's own path and query with `lang` replaced, never built with
    `url_for` from the query: a query argument named like one of url_for's own
    (`endpoint`, `_method`, `_external`) must not break every page, the error pages too.
    """
    current = current_language()
    path = quote(request.path) if request.url_rule else url_for("journey.start")
    kept = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return [
        {
            "code": code,
            "name": name,
            "url": f"{path}?{urlencode([*kept, ('lang', code)])}",
            "current": code == current,
        }
        for code, name in LANGUAGES.items()
    ]


# Dates as the Ministry writes them, with no abbreviation for a voice to spell out: Kazakh
# puts the year first, as Babel's own Kazakh pattern does (y 'ж'. d MMMM), but in full.
DAY_FORMATS = {"kk": "y 'жылғы' d MMMM", "ru": "d MMMM y 'года'", "en": "d MMMM y"}
MONTH_FORMATS = {"kk": "y 'жылғы' MMMM", "ru": "LLLL y 'года'", "en": "MMMM y"}


def format_day(moment) -> str:
    """A date as people write it: 2027 жылғы 30 маусым, 30 июня 2027 года, 30 June 2027."""
    return format_date(moment, DAY_FORMATS.get(current_language(), DAY_FORMATS["en"]))


def format_month(moment) -> str:
    """A month of a year: 2021 жылғы наурыз, март 2021 года, March 2021."""
    return format_date(moment, MONTH_FORMATS.get(current_language(), MONTH_FORMATS["en"]))


def format_moment(moment) -> str:
    """A date with the time of day, in Almaty time."""
    return f"{format_day(moment)}, {format_time(moment, 'HH:mm')}"


def format_count(n: int) -> str | Markup:
    """A count or a limit, written so that every voice reads it as a number.

    Below 10 000 with no group separator (2000): eSpeak NG, NVDA's default voice, reads
    «2 000» as "two zero zero zero", and Kazakh and Russian write four digits together
    anyway. From 10 000 the language's grouping is seen (12 000, 12,000) and the plain
    number heard (kiosk/spoken.py). static/js/enhance.js counts the same way.
    """
    return spoken.count(n, format_number(n))


def group_separator() -> str:
    """What the language puts between groups of digits (a no-break space, a comma)."""
    return get_group_symbol(current_language())


def plural(singular: str, plural_form: str, n: int, **variables) -> Markup:
    """Like ngettext, with the number written by `format_count`; the result is markup.

    Marked for extraction as a keyword in the Makefile (`-k plural:1,2`).
    """
    text = get_translations().ngettext(singular, plural_form, n)
    return escape(text) % {"num": format_count(n), **variables}


def gettext_in(language: str, message: str) -> str:
    """A text in a given language, whatever the page's language (the kiosk's welcome screen).

    Marked for extraction as a keyword in the Makefile (`-k gettext_in:2`).
    """
    with force_locale(language):
        return gettext(message)


def current_language() -> str:
    return str(get_locale() or DEFAULT)


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Almaty")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(app.root_path + "/../translations"))
    Babel(app, locale_selector=select_locale)
    app.before_request(remember_choice)
    app.jinja_env.globals.update(
        language_links=switch_links,
        current_language=current_language,
        format_day=format_day,
        format_month=format_month,
        format_moment=format_moment,
        format_number=format_number,
        format_count=format_count,
        group_separator=group_separator,
        spell_out=spoken.characters,
        gettext_in=gettext_in,
        parse_moment=datetime.fromisoformat,
    )
