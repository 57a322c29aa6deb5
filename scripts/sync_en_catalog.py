"""Fill the English catalog from the source texts, which are written in English.

English msgstr equal to msgid makes the en catalog complete, so a check for
untranslated entries covers all three languages the same way.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po, write_po

PATH = Path(__file__).resolve().parent.parent / "translations/en/LC_MESSAGES/messages.po"


def main() -> None:
    with PATH.open("rb") as file:
        catalog = read_po(file, locale="en")
    for message in catalog:
        if not message.id:
            continue
        message.flags.discard("fuzzy")
        message.string = message.id
    with PATH.open("wb") as file:
        write_po(file, catalog, omit_header=False, sort_output=True, width=100)


if __name__ == "__main__":
    main()
