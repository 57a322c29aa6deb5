"""Which user-given addresses count as a path on this site (kiosk/urls.py)."""

from __future__ import annotations

import pytest

from kiosk.urls import safe_local_path

FALLBACK = "/fallback"

HOSTILE = [
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/%09/evil.example",
    "/%5Cevil.example",
    "/%2F/evil.example",
    "/%252F/evil.example",  # encoded twice
    "/%2509/evil.example",
    "https://evil.example",
    "http:/evil.example",
    "/\t/evil.example",
    "/\nSet-Cookie:x",
    "/%0d%0aSet-Cookie:x",
    "/apply/title\r\nLocation: https://evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " /apply/title",
    "/apply/ title",
    "/apply/title\x00",
    "/apply/%00",
    "/\u2028evil",  # a line separator
    "/\u202eevil",  # a right-to-left override
    "/\u00a0/evil.example",  # a no-break space
    "/" + "a" * 10_000,
    "",
    None,
    "evil.example",
    "apply/title",
    "?next=/",
    "#top",
]

GOOD = [
    "/",
    "/staff",
    "/staff/admin/queue",
    "/apply/title",
    "/apply/title?change=1",
    "/status?reference=7K3M-9QXT-W",
    "/apply/title?lang=kk#main",
    "/apply/%D2%9B",  # a Kazakh letter, percent-encoded
    "/apply/қ",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_anything_that_could_leave_the_site_falls_back(target):
    assert safe_local_path(target, FALLBACK) == FALLBACK


@pytest.mark.parametrize("target", GOOD)
def test_plain_paths_on_the_site_are_kept(target):
    assert safe_local_path(target, FALLBACK) == target


def test_a_path_within_the_length_limit_is_kept():
    target = "/" + "a" * 1_999
    assert safe_local_path(target, FALLBACK) == target


def test_the_fallback_may_be_nothing():
    assert safe_local_path("//evil.example", None) is None
