"""Return codes: their shape, the check character, and what a person may type for one."""

from __future__ import annotations

import pytest

from kiosk import return_codes
from kiosk.identifiers import ALPHABET
from kiosk.return_codes import NotACode, Problem


def test_a_new_code_is_grouped_prefixed_and_reads_back_as_itself():
    code = return_codes.new_code()
    assert len(code) == 17 and code.startswith("R") and code.count("-") == 3
    assert [len(part) for part in code.split("-")] == [4, 4, 4, 2]
    assert return_codes.read(code) == code


def test_codes_carry_sixty_random_bits():
    codes = {return_codes.new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert return_codes.RANDOM_CHARS * 5 >= 60


@pytest.mark.parametrize(
    "typed",
    ["{}", "{}".lower(), " {} ", "{}".replace("-", ""), "{}".replace("-", " ")],
)
def test_lower_case_spaces_and_missing_dashes_are_accepted(typed):
    code = return_codes.new_code()
    assert return_codes.read(typed.format(code)) == code


def test_o_for_zero_and_i_or_l_for_one_are_accepted():
    while "0" not in (code := return_codes.new_code()) or "1" not in code:
        pass
    assert return_codes.read(code.replace("0", "O").replace("1", "l")) == code
    assert return_codes.read(code.replace("1", "I")) == code


def test_a_code_typed_without_its_r_is_accepted():
    code = return_codes.new_code()
    assert return_codes.read(code[1:]) == code


def test_every_single_wrong_character_is_caught_by_the_check_character():
    code = return_codes.new_code().replace("-", "")
    for position in range(1, len(code)):
        for char in ALPHABET:
            if char == code[position]:
                continue
            slipped = code[:position] + char + code[position + 1 :]
            with pytest.raises(NotACode) as caught:
                return_codes.read(slipped)
            assert caught.value.problem == Problem.CHECK, slipped


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("", Problem.EMPTY),
        ("   ", Problem.EMPTY),
        ("7K3M-9QXT-W", Problem.SHAPE),  # a reference number
        ("R7K3-M9QX", Problem.SHAPE),
        ("R" * 500, Problem.SHAPE),
        ("R7K3-M9QX-TW4P-J<", Problem.SHAPE),
        ("R7K3-M9QX-TW4P-JÜ", Problem.SHAPE),
        ("<script>alert(1)</script>", Problem.SHAPE),
        ("R7K3-M9QX-TW4P-J\x00", Problem.SHAPE),
    ],
)
def test_what_is_not_a_code_says_why(typed, problem):
    with pytest.raises(NotACode) as caught:
        return_codes.read(typed)
    assert caught.value.problem == problem


def test_the_lookup_id_is_the_same_everywhere_and_does_not_contain_the_code():
    code = return_codes.new_code()
    lookup = return_codes.lookup_id(code)
    assert lookup == return_codes.lookup_id(return_codes.read(code.lower()))
    assert len(lookup) == 64 and code.replace("-", "") not in lookup.upper()
    assert lookup != return_codes.lookup_id(return_codes.new_code())
