"""Semantics a screen reader relies on, read from the HTML of every page."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from kiosk import create_app
from tests.helpers import every_page

SERVICE = "Apply to the Best Social Projects competition"


class Page(HTMLParser):
    """The parts of a page these tests look at."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.ids: set[str] = set()
        self.title = ""
        self._in_title = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = {key: value or "" for key, value in attrs}
        self.elements.append((tag, attributes))
        if "id" in attributes:
            self.ids.add(attributes["id"])
        self._in_title = tag == "title" and not self.title  # the page's, not an SVG's

    def handle_endtag(self, tag):
        self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data

    def all(self, tag: str) -> list[dict]:
        return [attrs for name, attrs in self.elements if name == tag]

    def field(self, name: str) -> dict:
        return next(
            a for t, a in self.elements if t in ("input", "textarea") and a.get("name") == name
        )


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Rendered once for the module: walking the journey is the slow part."""
    folder = tmp_path_factory.mktemp("semantics")
    app = create_app({"INSTANCE": folder, "DATABASE": str(folder / "k.sqlite3"), "SECRET_KEY": "s"})
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return {name: Page(html) for name, html in every_page(client).items()}


def test_one_h1_and_a_title_naming_the_page_and_service(pages):
    for name, page in pages.items():
        assert len(page.all("h1")) == 1, name
        assert page.title.endswith(f" – {SERVICE}"), name
        assert page.title.startswith("Error: ") == name.endswith("error"), name


def test_landmarks_and_skip_link(pages):
    for name, page in pages.items():
        for landmark in ("header", "nav", "main", "footer"):
            assert len(page.all(landmark)) >= 1, (name, landmark)
        first_link = page.all("a")[0]
        assert first_link["href"] == "#main" and "skip-link" in first_link["class"], name
        assert any(m.get("id") == "main" for m in page.all("main")), name


def test_radios_and_checkboxes_sit_in_a_fieldset_with_a_legend(client):
    for path in [
        "/apply/applicant-type",
        "/apply/region",
        "/apply/target-groups",
        "/apply/funding",
    ]:
        html = client.get(path).text
        fieldset = html.index("<fieldset")
        legend = html.index("<legend", fieldset)
        first_choice = html.index('type="radio"' if "radio" in html else 'type="checkbox"')
        assert fieldset < legend < first_choice < html.index("</fieldset>"), path


def test_every_described_by_id_exists_and_errors_are_tied_to_fields(pages):
    for name, page in pages.items():
        for _tag, attrs in page.elements:
            for ref in attrs.get("aria-describedby", "").split():
                assert ref in page.ids, (name, ref)
        if name.endswith("error"):
            errors = {i for i in page.ids if i.endswith("-error")}
            described = " ".join(a.get("aria-describedby", "") for _t, a in page.elements)
            assert errors and all(e in described.split() for e in errors), name


def test_hints_are_read_with_their_field(pages):
    for name, page in pages.items():
        described = " ".join(a.get("aria-describedby", "") for _t, a in page.elements).split()
        for hint in (i for i in page.ids if i.endswith("-hint")):
            assert hint in described, (name, hint)


@pytest.mark.parametrize(
    ("page_name", "field", "token_", "mode"),
    [
        ("person", "full_name", "name", None),
        ("person", "iin", "off", "numeric"),
        ("organisation", "organisation_name", "organization", None),
        ("organisation", "bin", "off", "numeric"),
        ("contact", "contact_name", "name", None),
        ("contact", "phone", "tel", None),
        ("contact", "email", "email", None),
        ("people", "helped_last_year", None, "numeric"),
        ("people", "helped_total", None, "numeric"),
        ("start-date", "start_month", None, "numeric"),
        ("start-date", "start_year", None, "numeric"),
    ],
)
def test_autocomplete_and_input_modes(pages, page_name, field, token_, mode):
    attrs = pages[page_name].field(field)
    assert attrs.get("autocomplete") == token_
    assert attrs.get("inputmode") == mode
    if token_ in ("name", "organization"):
        assert attrs["type"] == "text"


def test_no_placeholder_is_used_as_a_label(pages):
    for name, page in pages.items():
        for tag, attrs in page.elements:
            assert "placeholder" not in attrs, (name, tag)
        labelled = {a.get("for") for a in page.all("label")}
        for tag, attrs in page.elements:
            if tag in ("input", "textarea") and attrs.get("type") not in ("hidden",):
                assert attrs.get("id") in labelled, (name, attrs.get("name"))


def test_error_summary_is_announced_and_takes_focus(pages):
    for name, page in pages.items():
        summaries = [a for t, a in page.elements if a.get("class") == "error-summary"]
        if name.endswith("error"):
            assert summaries, name
            assert "autofocus" in summaries[0] and summaries[0]["tabindex"] == "-1"
            assert any(a.get("role") == "alert" for _t, a in page.elements), name
        else:
            assert not summaries, name


def test_character_count_is_not_a_live_region_until_the_script_adds_a_quiet_one(pages):
    for name in ("problem", "activities", "results"):
        page = pages[name]
        assert not any("aria-live" in a for _t, a in page.elements), name
        info = next(a for t, a in page.elements if a.get("id", "").endswith("-info"))
        assert "data-left-one" in info and "data-over-other" in info


def test_back_comes_before_main_so_the_skip_link_passes_it(pages):
    """GOV.UK's order: skip link, header, Back, then <main>; nothing of Back inside main."""
    backs = 0
    for name, page in pages.items():
        tags = [(tag, attrs) for tag, attrs in page.elements]
        main = next(i for i, (tag, _a) in enumerate(tags) if tag == "main")
        for i, (tag, attrs) in enumerate(tags):
            if tag == "a" and "back-link" in attrs.get("class", "").split():
                assert i < main, (name, "Back inside <main>")
                backs += 1
    assert backs >= 10  # every question page, the check page and the declaration


def test_the_current_language_is_text_marked_as_current_not_a_link(pages):
    for name, page in pages.items():
        current = [(tag, a) for tag, a in page.elements if "aria-current" in a]
        assert [(tag, a.get("lang")) for tag, a in current] == [("span", "en")], name
        assert not any(a.get("hreflang") == "en" for a in page.all("a")), name
        assert {a.get("hreflang") for a in page.all("a") if a.get("hreflang")} == {"kk", "ru"}
