"""HTML through a tokenizer: quoted attributes, comments, raw-text elements, breaks; and
linear cost on the inputs that make the standard library's html.parser quadratic."""

from __future__ import annotations

import random

import pytest

from tests.enrich.timing import CEILING_SECONDS, growth, within_ceiling
from worker.enrich.markup import strip_tags, unescape_entities

KIB = 1024


@pytest.mark.parametrize(
    ("html", "text"),
    [
        # Measured: a regex stripper left `y">link` of a quoted `>`.
        ('<a title="x>y">link</a>', "link"),
        ("<a title='a > b' href=\"/x\">link</a> after", "link after"),
        ('<div class="ad" data-rule="width>300px">x</div>', "\n\nx\n\n"),
        ('<img alt="1 < 2 > 0">caption', "caption"),
        ("<!DOCTYPE html><?xml version='1.0'?>text", "text"),
        ("a<![CDATA[kept text]]>b", "akept textb"),
        ("x<!-->y<!--->z<!-- a > b -->w", "xyzw"),
        ("<table><tr><td>a</td><td>b</td></tr></table>", "\n\n\n\n a  b \n\n\n\n"),
    ],
)
def test_markup_the_old_stripper_got_wrong(html: str, text: str) -> None:
    assert strip_tags(html)[0] == text


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("one<br>two<br/>three<BR >four", "one\ntwo\nthree\nfour"),
        ("<p>one</p><h2>two</h2>", "\n\none\n\n\n\ntwo\n\n"),
        ("<script>if (a < b) { x = '</p>'; }</script>after", "after"),
        ("<style>.a > p { color: red; }</style>after", "after"),
    ],
)
def test_markup_the_old_stripper_got_right(html: str, text: str) -> None:
    assert strip_tags(html)[0] == text


@pytest.mark.parametrize(
    "text",
    ["a < b and <3", "f<x,y> and x<y", "<नमस्ते> दुनिया", "1 <2 and 3> 2", "a <b", "<<>>", "<!", "<?"],
)
def test_text_that_is_no_markup_stays(text: str) -> None:
    assert strip_tags(text) == (text, 0)


def test_counts_every_construct_removed() -> None:
    assert strip_tags("<!-- c --><p>a<br>b</p><script>x</script><!DOCTYPE html>") == (
        "\n\na\nb\n\n",
        6,
    )


def test_a_tag_never_closed_is_text() -> None:
    assert strip_tags("a <b c") == ("a <b c", 0)
    # An unclosed quote is a literal character: the tag ends at the first `>`.
    assert strip_tags('<a title="x>y') == ("y", 1)
    assert strip_tags("an unclosed <!-- comment runs to the end") == ("an unclosed ", 1)


def test_entities_keep_their_behaviour() -> None:
    assert unescape_entities("&amp;amp; &amp &nbsp;x &#2325; &#x915; &bogus;") == (
        "& & \xa0x क क &bogus;",
        6,
    )
    assert strip_tags("&lt;b&gt;") == ("&lt;b&gt;", 0)  # references are the next step


# --- linear cost ----------------------------------------------------------------------------

UNITS = [
    "<a ",
    "<a",
    "x<",
    "<",
    "</",
    "</a ",
    "<!",
    "<?",
    "<!--",
    "<![CDATA[",
    "<!DOCTYPE ",
    "<script>",
    "<style>",
    "<script>x</scrip",
    '<a title="x',
    "<a title='x",
    "<a x=\"<a y='",
    '<a b="',
    '"<a ',
    "<a '\"",
    "<a =",
    '<a title="x>">',
    "<p>x</p>",
    "<br>",
]


def _random_markup(size: int) -> str:
    rng = random.Random(7)  # noqa: S311 - a fixed, reproducible test input
    pieces = ["<a ", '"', "'", "=", ">", "<!", "x", " ", "<script>", "</script>", "-->", "<p>"]
    out: list[str] = []
    length = 0
    while length < size:
        piece = rng.choice(pieces)
        out.append(piece)
        length += len(piece)
    return "".join(out)


@pytest.mark.parametrize("unit", UNITS)
def test_cost_is_linear(unit: str) -> None:
    small = unit * (64 * KIB // len(unit))
    large = unit * (256 * KIB // len(unit))
    t_small, t_large, limit = growth(lambda: strip_tags(small), lambda: strip_tags(large))
    assert t_large <= limit, (unit, t_small, t_large)
    whole = unit * (1024 * KIB // len(unit))
    assert within_ceiling(lambda: strip_tags(whole)) < CEILING_SECONDS


def test_cost_is_linear_on_random_markup() -> None:
    small, large = _random_markup(64 * KIB), _random_markup(256 * KIB)
    t_small, t_large, limit = growth(lambda: strip_tags(small), lambda: strip_tags(large))
    assert t_large <= limit, (t_small, t_large)
