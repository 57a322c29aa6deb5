from datetime import date

import pytest

from kiosk.identifiers import (
    ALPHABET,
    Problem,
    bin_problem,
    check_digit,
    iin_birth_date,
    iin_problem,
    new_reference,
    normalise_reference,
)
from tests.helpers import VALID_BIN, VALID_IIN, with_check_digit

TODAY = date(2026, 11, 26)


def test_check_digit_uses_second_weights_when_first_gives_ten():
    # Find 11 digits whose first weighted sum is 10 mod 11: the second pass must decide.
    for n in range(10**10, 10**10 + 5000):
        digits = str(n).zfill(11)
        first = sum(int(d) * w for d, w in zip(digits, range(1, 12), strict=True)) % 11
        if first == 10:
            second = sum(
                int(d) * w for d, w in zip(digits, (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2), strict=True)
            )
            expected = None if second % 11 == 10 else second % 11
            assert check_digit(digits) == expected
            return
    pytest.fail("no example found")


def test_valid_iin_and_its_birth_date():
    assert iin_problem(VALID_IIN, TODAY) is None
    assert iin_birth_date(VALID_IIN) == date(1988, 2, 15)


@pytest.mark.parametrize(
    ("iin", "problem"),
    [
        ("", Problem.LENGTH),
        ("88021530012", Problem.LENGTH),
        ("8802153001234", Problem.LENGTH),
        ("88021530012a", Problem.DIGITS),
        ("８８０２１５３００１２３", Problem.DIGITS),  # full-width digits are not cleaned here
        ("٨٨٠٢١٥٣٠٠١٢٣", Problem.DIGITS),  # Arabic-Indic digits
        (with_check_digit("88023030012"), Problem.DATE),  # 30 February
        (with_check_digit("88021570012"), Problem.DATE),  # century digit 7
        (with_check_digit("30010160012"), Problem.DATE),  # born in 2030: in the future
    ],
)
def test_iin_problems_name_the_rule(iin, problem):
    assert iin_problem(iin, TODAY) == problem


def test_iin_with_wrong_last_digit_fails_the_check_digit():
    wrong = VALID_IIN[:11] + str((int(VALID_IIN[11]) + 1) % 10)
    assert iin_problem(wrong, TODAY) == Problem.CHECK_DIGIT


def test_bin_rules():
    assert bin_problem(VALID_BIN, TODAY) is None
    assert bin_problem(with_check_digit("18134002179"), TODAY) == Problem.DATE  # month 13
    assert bin_problem(with_check_digit("27014002179"), TODAY) == Problem.DATE  # 2027: future
    assert bin_problem(with_check_digit("99014002179"), TODAY) is None  # January 1999
    assert bin_problem(with_check_digit("85014002179"), TODAY) == Problem.DATE  # before 1991
    wrong = VALID_BIN[:11] + str((int(VALID_BIN[11]) + 1) % 10)
    assert bin_problem(wrong, TODAY) == Problem.CHECK_DIGIT
    assert bin_problem("1803400217", TODAY) == Problem.LENGTH


def test_reference_format_and_check_character():
    reference = new_reference()
    assert len(reference) == 11 and reference[4] == "-" and reference[9] == "-"
    assert all(c in ALPHABET for c in reference.replace("-", ""))
    assert normalise_reference(reference) == reference
    assert normalise_reference(reference.lower().replace("-", " ")) == reference


def test_reference_check_catches_every_single_wrong_character():
    reference = new_reference()
    chars = list(reference.replace("-", ""))
    for position in range(len(chars)):
        for replacement in ALPHABET:
            if replacement == chars[position]:
                continue
            typo = chars.copy()
            typo[position] = replacement
            assert normalise_reference("".join(typo)) is None


def test_reference_reads_o_and_i_as_digits():
    reference = new_reference()
    body = reference.replace("-", "")
    spoken = body.replace("0", "O").replace("1", "I")
    assert normalise_reference(spoken) == reference


def test_references_are_unique_enough():
    assert len({new_reference() for _ in range(5000)}) == 5000
