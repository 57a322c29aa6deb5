from kiosk.validators import clean_digits, clean_line, clean_text


def test_clean_line_removes_invisible_and_control_characters():
    assert clean_line("  Ali\x00ya \u202eevil\u202c  ") == "Aliya evil"
    assert clean_line("\u200fАлматы\u200e") == "Алматы"
    assert clean_line("a\tb\nc") == "a b c"
    assert clean_line(None) == ""


def test_clean_line_normalises_to_composed_letters():
    decomposed = "і\u0306"  # not a Kazakh letter, but shows NFC runs
    assert clean_line("e\u0301") == "é"
    assert len(clean_line(decomposed)) <= 2


def test_clean_text_keeps_paragraphs_but_not_runs_of_blank_lines():
    assert clean_text("First\r\n\r\n\r\n\r\nSecond  line\x00") == "First\n\nSecond line"


def test_clean_digits_accepts_spaces_dashes_and_full_width_digits():
    assert clean_digits(" 880215 300-123 ") == "880215300123"
    assert clean_digits("８８０２") == "8802"
