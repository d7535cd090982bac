"""Unicode normalization: Devanagari specifics, invisible characters, conformance."""

from __future__ import annotations

import bz2
import re
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.enrich import normalize
from worker.enrich.mojibake import SUSPECT_CODE_POINTS
from worker.enrich.normalize import fast_nfc, matching_key, normalize_text

NORMALIZATION_TEST = Path("/usr/share/unicode/NormalizationTest.txt")


def norm(text: str) -> str:
    return normalize_text(text)[0]


def test_precomposed_and_decomposed_nukta_come_out_identical() -> None:
    precomposed = "\u095b\u0947\u0932\u0947\u0902\u0938\u094d\u0915\u0940"  # ज़ेलेंस्की with U+095B
    decomposed = "\u091c\u093c\u0947\u0932\u0947\u0902\u0938\u094d\u0915\u0940"
    assert norm(precomposed) == norm(decomposed) == decomposed


def test_nukta_that_composes_is_composed() -> None:
    # न + nukta is not a composition exclusion: NFC makes it U+0929.
    assert norm("\u0928\u093c") == "\u0929"


def test_colon_after_devanagari_stays_a_colon() -> None:
    assert norm("उन्होंने कहा: हम तैयार हैं") == "उन्होंने कहा: हम तैयार हैं"
    assert "\u0903" not in norm("कहा:")


def test_joiners_kept_next_to_virama_and_removed_elsewhere() -> None:
    assert norm("क्\u200dष") == "क्\u200dष"
    assert norm("क्\u200cष") == "क्\u200cष"
    assert norm("र\u200d्य") == "र\u200d्य"  # eyelash ra: joiner before the virama
    assert norm("ab\u200dc \u200cहिंदी") == "abc हिंदी"


def test_zwnj_between_arabic_letters_is_kept() -> None:
    assert norm("می\u200cخواهم") == "می\u200cخواهم"


@pytest.mark.parametrize(
    ("raw", "expected", "counter"),
    [
        ("\ufeffनमस्ते", "नमस्ते", "invisible_chars_removed"),
        ("नम\u200bस्ते", "नमस्ते", "invisible_chars_removed"),
        ("नम\u00adस्ते", "नमस्ते", "invisible_chars_removed"),
        ("नम\u2060स्ते", "नमस्ते", "invisible_chars_removed"),
        ("\u202bनमस्ते\u202c \u200fक", "नमस्ते क", "bidi_controls_removed"),
        ("\u2066a\u2069\u200e", "a", "bidi_controls_removed"),
        # C1 characters are cp1252 bytes read as Latin-1 (\x85 is …, see test_mojibake.py);
        # only the five that cp1252 lacks (81, 8D, 8F, 90, 9D) are controls.
        ("a\x00b\x1fc\x7fd\x81e\x9d", "abcde", "control_chars_removed"),
        ("a\u00a0b\u2003c\u202fd\u3000e", "a b c d e", "spaces_normalized"),
        ("a    b\t\tc", "a b c", "spaces_normalized"),
        ("a\r\nb\rc\u2028d", "a\nb\nc\nd", "line_breaks_unified"),
        ("a\n\n\n\n\nb", "a\n\nb", "blank_lines_collapsed"),
    ],
)
def test_invisible_and_space_characters(raw: str, expected: str, counter: str) -> None:
    text, report = normalize_text(raw)
    assert text == expected
    assert report.changes[counter] >= 1


def test_paragraphs_are_kept_and_lines_trimmed() -> None:
    assert norm("  पहला पैरा।  \n\n   दूसरा पैरा।  ") == "पहला पैरा।\n\nदूसरा पैरा।"


def test_html_entities_and_tags() -> None:
    text, report = normalize_text(
        "<p>Modi&nbsp;&amp; Shah&#8217;s &quot;plan&quot; &#2325;&#x93c;</p><br>x"
    )
    assert text == 'Modi & Shah’s "plan" क़\n\nx'
    assert report.changes["html_entities_unescaped"] == 7
    assert report.changes["html_tags_removed"] == 3
    assert norm("&amp;amp;lt;") == "<"
    assert norm("a < b and c > d") == "a < b and c > d"


def test_mojibake_is_repaired_exactly_when_bytes_survive() -> None:
    original = "यूक्रेनी राष्ट्रपति ज़ेलेंस्की ने कहा"
    # Browsers and Latin-1 keep cp1252's undefined bytes as C1 controls: nothing is lost.
    mojibake = "".join(
        chr(b) if b in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else bytes([b]).decode("cp1252")
        for b in original.encode("utf-8")
    )
    text, report = normalize_text(mojibake)
    assert text == unicodedata.normalize("NFC", original)
    assert report.changes["mojibake_repaired"] >= 1
    assert report.lossy is False


def test_lossy_mojibake_is_flagged_and_never_emits_replacement_char() -> None:
    original = "यूक्रेनी राष्ट्रपति ने कहा"
    mojibake = original.encode("utf-8").decode("cp1252", errors="replace")
    text, report = normalize_text(mojibake)
    assert "\ufffd" not in text
    assert report.lossy is True
    assert report.changes["mojibake_bytes_guessed"] >= 1
    # The guesses here are right: ् before a consonant.
    assert text == original


def test_replacement_character_in_input_is_removed_and_flagged() -> None:
    text, report = normalize_text("नमस्ते \ufffd दुनिया")
    assert text == "नमस्ते दुनिया"
    assert report.lossy is True


def test_latin1_text_is_not_mistaken_for_mojibake() -> None:
    assert norm("Café naïve São Paulo Zürich") == "Café naïve São Paulo Zürich"


def test_idempotence_on_a_tricky_case() -> None:
    once = norm("&am\x01p;amp; \u200b&#x26;lt;")
    assert norm(once) == once


def test_matching_key_folds_spelling_variants() -> None:
    assert matching_key("ज़ेलेंस्की") == matching_key("जेलेंस्की") == matching_key("\u095bेलेंस्की")
    assert matching_key("हँसी") == matching_key("हंसी")
    assert matching_key("Trump") == matching_key("TRUMP")
    assert matching_key("क्\u200dष") == matching_key("क्ष")
    # The key drops the nukta; the normalized text, which is what records carry, keeps it.
    assert matching_key("ज़ेलेंस्की") == "जेलेंस्की"
    assert norm("ज़ेलेंस्की") == unicodedata.normalize("NFC", "ज़ेलेंस्की") != matching_key("ज़ेलेंस्की")


def _conformance_lines() -> list[list[str]]:
    candidates = [NORMALIZATION_TEST, NORMALIZATION_TEST.with_suffix(".txt.bz2")]
    path = next((p for p in candidates if p.exists()), None)
    if path is None:
        pytest.skip("NormalizationTest.txt not installed (Debian package unicode-data)")
    raw = bz2.decompress(path.read_bytes()) if path.suffix == ".bz2" else path.read_bytes()
    rows = []
    for raw_line in raw.decode("utf-8").splitlines():
        line = raw_line.split("#", 1)[0].strip()
        if not line or line.startswith("@"):
            continue
        columns = ["".join(chr(int(cp, 16)) for cp in col.split()) for col in line.split(";")[:5]]
        # The file may be newer than Python's Unicode database: skip what it cannot know.
        if any(unicodedata.category(ch) == "Cn" for ch in "".join(columns)):
            continue
        rows.append(columns)
    return rows


def test_unicode_normalization_conformance() -> None:
    rows = _conformance_lines()
    assert len(rows) > 15_000
    for c1, c2, c3, c4, c5 in rows:
        assert fast_nfc(c1) == fast_nfc(c3) == c2
        assert fast_nfc(c4) == fast_nfc(c5) == c4
        first = norm(c1)
        assert norm(c2) == first
        assert norm(c3) == first
        assert norm(c4) == norm(c5)


# The fast paths (issue 9): every check that lets clean text skip a step must be exact.
# Characters where those checks decide: ASCII and controls, Latin-1 and C1 (mojibake), odd
# spaces, line breaks, joiners, bidi and format characters (some beyond the BMP), nuktas
# and marks, supplementary letters, U+FFFD, markup.
_EDGE_CHARS = st.sampled_from(
    [
        *"aZ 9.<>&;#\n\t\r\x00\x1b\x7f",
        *"\x81\x85\x8d\x9d\xa0\xad\xc3\xa9\xe0\xa4\xa5\xd9\xdb\u20ac\u201d\u2019\u2014",
        *"\u1680\u2003\u200a\u200b\u200c\u200d\u200e\u202b\u2028\u2029\u2060\u2066\ufeff\ufffd",
        *"कनरळ\u093c\u094d\u0941\u0958\u0301\u0323\u0334\u09be\u09c7ی",
        *"\U0001f600\U000110bd\U000e0001\U000e0041\U0001d173\U00010400\ud800",
    ]
)
_EDGE_TEXT = st.lists(
    st.one_of(_EDGE_CHARS, st.sampled_from(["&amp;", "<b>", "à¤•", "Ã©", "  ", "\n\n\n"])),
    max_size=40,
).map("".join)


class _Always:
    """A stand-in for a pre-check that always finds work: every step runs."""

    def found_in(self, _text: str) -> bool:
        return True


@settings(max_examples=600, deadline=None)
@given(_EDGE_TEXT)
def test_pre_checks_never_skip_work(text: str) -> None:
    """Text that the pre-checks let skip the repair (and its final count of runs left), the
    removal of invisibles or the NFC step of a later pass comes out as if it had run."""
    fast = normalize_text(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(normalize, "_NEEDS_ANY_WORK", _Always())
        patch.setattr(normalize, "_INVISIBLE", _Always())
        every_pass = normalize._normalize_pass
        patch.setattr(
            normalize,
            "_normalize_pass",
            lambda text, report, seen, **_: every_pass(text, report, seen, first=True),
        )
        slow = normalize_text(text)
    assert fast[0] == slow[0]
    assert fast[1].as_dict() == slow[1].as_dict()


@settings(max_examples=600, deadline=None)
@given(_EDGE_TEXT)
def test_character_scans_are_exact(text: str) -> None:
    points = normalize._NEEDS_WORK_POINTS | SUSPECT_CODE_POINTS
    assert normalize._NEEDS_ANY_WORK.found_in(text) == any(ord(c) in points for c in text)
    points = normalize._NEEDS_WORK_POINTS
    assert normalize._NEEDS_WORK.found_in(text) == any(ord(c) in points for c in text)
    points = normalize._INVISIBLE_POINTS
    assert normalize._INVISIBLE.found_in(text) == any(ord(c) in points for c in text)


# Nuktas among marks of every kind: the letters a nukta composes with (न र ळ) and their
# precomposed forms, other nukta letters (क़ decomposes), marks of classes 1-6 (which do not
# block a composition across them), other class-7 nuktas (which do), and marks that sort
# after the nukta; then any Devanagari character or combining mark at all.
_NUKTA_BASES = [*"कनरळऩऱऴa", "\u0958", "\u093e"]
_NUKTA_MARKS = [
    *"\u093c\u093c\u09bc\u0a3c\u094d\u0947\u0902\u0901",
    *"\u0334\u0338\u1cd4\u1ce2\u20d2\U00016ff0\U0001d167",
    *"\u0951\u0952\u0301\u0323\u05b0\u0345",
]
_ANY_MARK = st.characters(categories=("Mn", "Mc", "Me"))
# Syllables: a base, then a few marks (a nukta among them often).
_NUKTA_TEXT = st.lists(
    st.tuples(
        st.sampled_from(_NUKTA_BASES) | st.characters(min_codepoint=0x0900, max_codepoint=0x097F),
        st.lists(st.sampled_from(_NUKTA_MARKS) | _ANY_MARK, max_size=4).map("".join),
    ).map("".join),
    max_size=5,
).map("".join)


@settings(max_examples=3000, deadline=None)
@given(_NUKTA_TEXT)
def test_fast_nfc_is_nfc(text: str) -> None:
    assert fast_nfc(text) == unicodedata.normalize("NFC", text)


@pytest.mark.parametrize("letter", ["\u0928", "\u0930", "\u0933"])
@pytest.mark.parametrize(
    "marks", ["\u0334", "\U00016ff0", "\u1cd4", "\u0334\u0338", "\u0334\U00016ff0", "\u20d2"]
)
def test_fast_nfc_sees_through_marks_that_sort_first(letter: str, marks: str) -> None:
    # A mark of class 1-6 between न/र/ळ and a nukta (class 7) does not block their
    # composition: ळ, overlay tilde, nukta is ऴ, overlay tilde in NFC.
    text = letter + marks + "\u093c"
    expected = unicodedata.normalize("NFC", letter + "\u093c") + marks
    assert unicodedata.normalize("NFC", text) == expected
    assert fast_nfc(text) == expected
    assert norm(text) == expected
    # Behind another class-7 mark the nukta is blocked: nothing composes.
    blocked = letter + marks + "\u09bc\u093c"
    assert fast_nfc(blocked) == unicodedata.normalize("NFC", blocked) == blocked


_LAYOUT_TEXT = st.lists(
    st.sampled_from([" ", "\n", "\t", "\r", "\r\n", "\xa0", "\u2003", "\u3000", "\x0b", "\x1c"])
    | st.sampled_from(["\x85", "\u2028", "\u2029", "a", "क"]),
    max_size=24,
).map("".join)


@settings(max_examples=1000, deadline=None)
@given(_LAYOUT_TEXT)
def test_layout_patterns_match_the_plain_ones(text: str) -> None:
    """The line-break and space patterns, written to start with a class, match as the plain
    alternations did; spaces at line edges go as `` *\\n *`` took them."""
    plain = {
        "_NEWLINES": "\r\n?|[\u0085\u2028]",
        "_SPACES": r"[^\S\n]{2,}|[^\S\n ]",
        "_BLANK_LINES": r"\n{3,}",
    }
    for name, pattern in plain.items():
        fast = getattr(normalize, name)
        assert [m.span() for m in fast.finditer(text)] == [
            m.span() for m in re.finditer(pattern, text)
        ]
    spaced = normalize._SPACES.sub(" ", text)
    edges = spaced.replace(" \n", "\n").replace("\n ", "\n")
    assert edges == re.sub(r" *\n *", "\n", spaced)


# Idempotence (a content hash over normalized text depends on it) where the passes meet:
# mojibake beside the spaces, line breaks and invisible characters that the later steps
# trim or remove, which can change what the repair makes of it.
def _cp1252(text: str) -> str:
    """UTF-8 read as cp1252, its five missing bytes dropped."""
    return text.encode("utf-8").decode("cp1252", "replace").replace("\ufffd", "")


def _browser_cp1252(text: str) -> str:
    """UTF-8 read as cp1252 by a browser: the five missing bytes as C1 characters."""
    return "".join(bytes([b]).decode("cp1252", "ignore") or chr(b) for b in text.encode())


def _latin1(text: str) -> str:
    return text.encode("utf-8").decode("latin-1")


_MOJIBAKE_WORDS = ["क", "अब", "ठ", "नमस्ते", "राष्ट्रपति", "हिंदी भाषा", "Café", "ہے", "“q”"]
_EDGES = [" ", "  ", "\xa0", "\u202f", "\u3000", "\u2003", "\n", "\n\n\n", "\t", "\r\n", "\x85"]
_INVISIBLES = ["\u200b", "\ufeff", "\u2060", "\xad", "\u200c", "\u200d", "\u200e", "\x00"]
_MOJIBAKE = st.builds(
    lambda code, word: code(word),
    st.sampled_from([_cp1252, _browser_cp1252, _latin1, lambda w: _latin1(_cp1252(w))]),
    st.sampled_from(_MOJIBAKE_WORDS),
)
_AROUND = st.lists(st.sampled_from(["\xa0", *_EDGES, *_INVISIBLES]), max_size=3).map("".join)
# Mojibake with spaces and invisible characters at both edges and between fragments.
_MIXED_TEXT = st.lists(
    st.tuples(
        _AROUND,
        _MOJIBAKE | st.sampled_from(["a", "क", "Â", "à", "¤", "&amp;", "<b>"]),
        _AROUND,
    ).map("".join),
    min_size=1,
    max_size=5,
).map("".join)


@pytest.mark.parametrize(
    "raw",
    [
        "\xa0à¤•",  # ftfy leaves it; the trimmed "à¤•" is क
        "\xa0à¤\xa0",
        "\xa0\xa0à¤• x",
        " \xa0à¤•\n",
        "\u3000à¤•",
        "\ufeff\xa0à¤•",
        "\u200b\xa0à¤•\u200b",
        "\xa0" + _cp1252("नमस्ते") + "\xa0",
        "\n\xa0" + _latin1("राष्ट्रपति"),
    ],
)
def test_normalization_is_idempotent_around_mojibake(raw: str) -> None:
    once = norm(raw)
    assert norm(once) == once
    assert not {"à", "¤", "\xa0"} & set(once)


@settings(max_examples=1500, deadline=None)
@given(_MIXED_TEXT)
def test_normalization_is_idempotent_on_mojibake_among_spaces(text: str) -> None:
    once = norm(text)
    assert norm(once) == once
