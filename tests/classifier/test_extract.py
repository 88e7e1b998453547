"""Visible-text extraction: what a child reads, not scripts, styles or hidden elements."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from classifier.extract import collapse_spaces, extract_visible_text

PAGE = """<!doctype html><html lang="en"><head><title>Claim your prize</title>
<style>.x { color: red }</style><script>var secret = "script text";</script></head>
<body><h1>Congratulations!</h1>
<p style="display: none">hidden by style</p><div hidden>hidden attribute</div>
<span aria-hidden="true">aria hidden</span><noscript>enable javascript</noscript>
<p>Enter your <b>password</b> to <a href="https://login.example/x">claim it here</a>.</p>
</body></html>"""


def test_keeps_title_body_and_link_text():
    page = extract_visible_text(PAGE)
    assert page.title == "Claim your prize"
    assert "Congratulations!" in page.text
    assert "claim it here" in page.text
    assert "password" in page.text
    assert page.links == ("https://login.example/x",)


def test_skips_script_style_and_hidden_elements():
    text = extract_visible_text(PAGE).text
    for hidden in (
        "script text",
        "color: red",
        "hidden by style",
        "hidden attribute",
        "aria hidden",
        "enable javascript",
    ):
        assert hidden not in text


def test_malformed_markup_is_repaired_not_fatal():
    page = extract_visible_text("<div><p>unclosed <b>bold <<<>>> text</div></span></html><title>x")
    assert "unclosed" in page.text and "text" in page.text


def test_vietnamese_text_survives():
    page = extract_visible_text("<title>Nhận quà</title><p>Đăng nhập để nhận kim cương</p>")
    assert page.title == "Nhận quà"
    assert page.text == "Đăng nhập để nhận kim cương"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=2000))
def test_any_input_yields_text_without_raising(html):
    page = extract_visible_text(html)
    assert isinstance(page.text, str) and isinstance(page.title, str)


def test_whitespace_runs_collapse_to_one_space():
    page = extract_visible_text("<p>a \t\u00a0 b  c\u200b d</p>")
    assert page.text == "a b c d"


def test_only_the_start_of_a_very_long_page_is_kept():
    from classifier.extract import MAX_TEXT_CHARS

    page = extract_visible_text("<p>" + "word " * 50_000 + "</p>")
    assert 0 < len(page.text) <= MAX_TEXT_CHARS


def test_markup_nested_too_deep_to_parse_is_read_without_the_parser():
    from classifier.extract import MAX_UNCLOSED_TAGS

    html = (
        "<title>Free &amp; Robux</title><script>var hidden = 1</script>"
        + "<div>" * (MAX_UNCLOSED_TAGS * 10)
        + "<p>buy a gift card &amp; send the code</p><a href='http://x.example/a'>here</a>"
    )
    page = extract_visible_text(html)
    assert page.title == "Free & Robux"
    assert page.text == "buy a gift card & send the code here"
    assert page.links == ("http://x.example/a",)


def test_navigation_footers_and_sidebars_are_not_the_pages_text():
    html = (
        "<title>Banana bread</title><nav><a href='/login'>Log in</a> <a href='/join'>Sign up</a></nav>"
        "<aside>Free shipping on all orders! Win a gift card</aside>"
        "<main><h1>Banana bread</h1><p>Mash three ripe bananas and fold in the flour.</p></main>"
        "<footer>Privacy · Terms · Claim your prize</footer>"
    )
    page = extract_visible_text(html)
    assert "Mash three ripe bananas" in page.text
    assert not any(word in page.text for word in ("Log in", "Sign up", "Free shipping", "Claim your prize"))
    assert "/login" in page.links


# The former whitespace collapsing, one regular expression: collapse_spaces must give exactly its result.
_FORMER_SPACES = re.compile(r"(?: ?[\t\r\f\v\u00a0\u200b]| {2,})[ \t\r\f\v\u00a0\u200b]*")


@settings(max_examples=500)
@given(st.text(alphabet=st.sampled_from(list(" \t\r\f\v\u00a0\u200b\n\u2003ab")), max_size=60))
def test_whitespace_collapses_exactly_as_the_former_expression(text):
    assert collapse_spaces(text) == _FORMER_SPACES.sub(" ", text)


@pytest.mark.parametrize(
    "html, title, text",
    [
        (
            "<title> Win \t a\u00a0\u00a0prize </title><nav>Menu</nav><p hidden>x</p>"
            "<p>Send  the \u200b code\r\n\n\n now</p><footer>Terms</footer>",
            "Win a prize",
            "Send the code\n now",
        ),
        ("<div><p>unclosed <b>bold  \t text</div></span><<<>>>", "", "unclosed bold text <<<>>>"),
        # Elements matched by several selectors, and nested inside one another.
        (
            "<div hidden aria-hidden='true' style='display:none'><nav>menu<script>x</script></nav></div>"
            "<main>kept <svg><text>no</text></svg>text</main>",
            "",
            "kept text",
        ),
        ("<html><body hidden><p>all hidden</p></body></html><p>after</p>", "", ""),
        (
            "<head><title>T</title><style>p{}</style></head><body><aside role='complementary'><footer>f"
            "</footer></aside><noscript>ns</noscript><p>body <template>tpl</template>words</p><iframe>fr"
            "</iframe><input type=HIDDEN value=v><object>obj</object></body>",
            "T",
            "body words",
        ),
        (
            "<table><tr><td>cell <nav>n</nav> one<td style='visibility: hidden'>gone<td>two</table>",
            "",
            "cell one two",
        ),
        (
            "<title>Deep\t\tpage</title>" + "<div>" * 6000 + "<p>buy \u00a0 a  card</p>",
            "Deep page",
            "buy a card",
        ),
    ],
)
def test_pages_read_as_before(html, title, text):
    """What the extraction gave before it was made faster (one pass for every removed element, whitespace
    collapsed without a regex)."""
    page = extract_visible_text(html)
    assert (page.title, page.text) == (title, text)
