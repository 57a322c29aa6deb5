"""No answer the forms accept can make a payload the registry's JSON Schema refuses.

An application that passes every page but breaks the schema would show "submitted" and then
be refused by the registry for good. This walks every field of every step through its own
form with edge values (longest allowed, in letters that take two code points before NFC,
repeated ticks, padded numbers, every choice), and every value the form accepts goes into a
payload that must validate. Submit checks the same schema, so nothing else can slip past.
"""

from __future__ import annotations

import itertools

import pytest

from kiosk import competition, payload, submissions
from kiosk.competition import Limit
from kiosk.journey import steps
from tests.forwarding import flat_answers
from tests.helpers import VALID_BIN, VALID_IIN, current_year

DECOMPOSED_A = "а\u0306"  # "ә"-like: a letter and a combining mark that NFC may join
LONG_LETTER = "Ә"


def _text_edges(limit: int, lines: bool = False) -> list[str]:
    edges = [
        LONG_LETTER * limit,
        LONG_LETTER * (limit + 1),
        "й" * (limit - 1) + DECOMPOSED_A,
        DECOMPOSED_A * limit,
        "  " + "Ж" * limit + "  ",
        "😀" * (limit - 1) + "Ә",
        "Ә\u0000\u202e" * (limit // 3),
        "Ә\t" * (limit // 2),
        "x",
    ]
    if lines:
        edges += ["Ә\n" * (limit // 2), "\r\n".join(["Ә"] * (limit // 2)), "Ә\n\n\n\nӘ"]
    return edges


TEXT_LIMITS = {
    "organisation_name": Limit.ORGANISATION,
    "full_name": Limit.NAME,
    "contact_name": Limit.NAME,
    "project_title": Limit.TITLE,
    "other_group": Limit.OTHER_GROUP,
    "settlement": Limit.SETTLEMENT,
}
LONG_TEXTS = {
    "problem": Limit.LONG_TEXT,
    "activities": Limit.LONG_TEXT,
    "results": Limit.RESULTS_TEXT,
}
GROUPS = list(competition.TARGET_GROUPS)


def edge_values() -> dict[str, list]:
    """For each field, values at and around its limits."""
    edges: dict[str, list] = {name: _text_edges(limit) for name, limit in TEXT_LIMITS.items()}
    edges.update({name: _text_edges(limit, lines=True) for name, limit in LONG_TEXTS.items()})
    local = "a" * 64
    edges.update(
        {
            "applicant_type": list(competition.APPLICANT_TYPES),
            "region": list(competition.regions()),
            "funding_source": list(competition.FUNDING_SOURCES),
            "target_groups": [
                GROUPS,
                [GROUPS[0], GROUPS[0]],
                [competition.OTHER_GROUP] * 3,
                GROUPS * 3,
                *[[group] for group in GROUPS],
            ],
            "bin": [VALID_BIN, f" {VALID_BIN[:6]}-{VALID_BIN[6:]} ", "１" + VALID_BIN[1:]],
            "iin": [VALID_IIN, f"{VALID_IIN[:6]} {VALID_IIN[6:]}"],
            "phone": ["8 701 234 56 78", "+7 (701) 234-56-78", "87012345678", "+44 20 7946 0958"],
            "email": [
                "",
                f"{local}@{'b' * 63}.{'c' * 63}.{'d' * 57}.kz",
                f"{local}@{'b' * 63}.{'c' * 63}.{'d' * 58}.kz",
                "ӘЛИЯ@mysite.қаз",
                "a@b.kz",
            ],
            "start_month": ["1", "12", "01", "0" * 50 + "7", "１２"],
            "start_year": [str(Limit.FIRST_YEAR), str(current_year()), "１９９９"],
            "helped_last_year": ["0", str(Limit.PEOPLE), "0" * 100 + "5", "1 000"],
            "helped_total": [str(Limit.PEOPLE), "0" * 100 + "5", "10 000 000"],
        }
    )
    return edges


def _step_with(name: str) -> steps.Step:
    return next(step for step in steps.STEPS if name in step.fields())


def _accepts(step: steps.Step, answers: dict) -> dict | None:
    """What the step's form stores for these answers, or None if the form refuses them."""
    form = step.checked_form(answers)
    if not form.validate():
        return None
    return {name: getattr(form[name], "normalised", form[name].data) for name in step.fields()}


def _payload(answers: dict, assisted: dict | None = None) -> dict:
    return payload.build(
        steps.shown_answers(answers),
        submission_id="0b7e6d4c-5b1a-4c3e-9f2d-1a2b3c4d5e6f",
        reference="7K3M-9QXT-W",
        submitted_at="2027-01-15T10:00:00+00:00",
        locale="kk",
        assisted=assisted,
    )


def _baseline(applicant_type: str) -> dict:
    answers = flat_answers(applicant_type)
    for step in steps.visible(answers):
        stored = _accepts(step, answers)
        assert stored is not None, step.slug
        answers.update(stored)
    return answers


@pytest.mark.parametrize("applicant_type", ["individual", "ngo"])
def test_every_accepted_edge_value_makes_a_valid_payload(app, applicant_type):
    accepted = refused = 0
    with app.test_request_context():
        base = _baseline(applicant_type)
        assert payload.problems(_payload(base)) == []
        for name, values in edge_values().items():
            step = _step_with(name)
            for value in values:
                answers = {**base, name: value}
                if name == "other_group":
                    answers["target_groups"] = [competition.OTHER_GROUP]
                if not step.shown(answers):
                    continue
                stored = _accepts(step, answers)
                if stored is None:
                    refused += 1
                    continue
                accepted += 1
                answers.update(stored)
                if steps.first_incomplete(answers) is not None:  # e.g. a new type's questions
                    continue
                found = payload.problems(_payload(answers))
                assert found == [], (name, value[:40] if isinstance(value, str) else value, found)
    assert accepted > 60 and refused >= 10  # both sides of every limit were tried


def test_an_assisted_payload_with_the_longest_centre_is_valid(app):
    with app.test_request_context():
        answers = _baseline("ngo")
        for centre, method in itertools.product(["", "Ә" * 200], ["signed_paper", "read_aloud"]):
            assisted = submissions.Assisted(7, centre, method).as_payload()
            assert payload.problems(_payload(answers, assisted)) == []


def test_submit_refuses_a_payload_the_schema_refuses_and_keeps_the_draft(app, client, db):
    """Whatever slips past the forms, submit itself checks the schema before it commits.

    Here: a worker account from before the centre's length was limited (201 characters).
    """
    from kiosk.staff import accounts
    from tests.helpers import answers_for, post_step, token

    with app.test_request_context("/"):
        worker = accounts.add("aigerim", "Айгерім Серікова", "social_worker", "", "x" * 12)
    db.execute("UPDATE staff SET centre = ? WHERE id = ?", ["Ә" * 201, worker.id])
    post_step(client, "/staff/login", {"username": "aigerim", "password": "x" * 12})
    page = client.get("/staff").text
    client.post("/staff/assist", data={"csrf_token": token(page)})
    for slug, data in answers_for("ngo"):
        post_step(client, f"/apply/{slug}", data)
    answers = {"consent": "y", "consent_method": "read_aloud", "worker_confirms": "y"}
    response = post_step(client, "/apply/declaration", answers)
    assert response.status_code == 200
    assert "cannot be sent as it is" in response.text
    assert "<title>Error:" in response.text
    assert db["submissions"].count == 0 and db["outbox"].count == 0 and db["drafts"].count == 1
