"""The country table: known countries, typed numbers for "other", and refusals."""

from __future__ import annotations

import pytest

from alert_store.helplines import COUNTRIES, DEFAULT_COUNTRY, OTHER, HelplineError, helplines_for


def test_vietnam_is_the_default_with_111_and_113() -> None:
    vn = helplines_for(DEFAULT_COUNTRY)
    assert (vn.child_line, vn.emergency) == ("111", "113")


@pytest.mark.parametrize(
    ("country", "child_line", "emergency"),
    [("GB", "0800 1111", "999"), ("AU", "1800 55 1800", "000"), ("US", "1-800-422-4453", "911")],
)
def test_other_countries_have_their_own_numbers(country: str, child_line: str, emergency: str) -> None:
    h = helplines_for(country)
    assert (h.child_line, h.emergency) == (child_line, emergency)


def test_every_country_has_both_numbers() -> None:
    assert all(h.child_line and h.emergency and h.child_line_name for h in COUNTRIES.values())


def test_other_takes_typed_numbers() -> None:
    h = helplines_for(OTHER, " +44 20 7946 0000 ", "112")
    assert (h.child_line, h.emergency) == ("+44 20 7946 0000", "112")


@pytest.mark.parametrize(
    ("country", "child_line", "emergency"),
    [("XX", "", ""), (OTHER, "", "112"), (OTHER, "<script>", "112"), (OTHER, "111", "call me")],
)
def test_unknown_countries_and_non_numbers_are_refused(country: str, child_line: str, emergency: str) -> None:
    with pytest.raises(HelplineError):
        helplines_for(country, child_line, emergency)
