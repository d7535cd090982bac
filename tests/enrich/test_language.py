"""Language and script identification."""

from __future__ import annotations

from collections import Counter

import pytest

from worker.enrich import language, lexicon, normalize, tokens
from worker.enrich.language import detect_language, script_shares
from worker.enrich.tokens import TOKEN, tokenize


def detect(text: str, hint: str | None = None) -> str:
    return detect_language(Counter(tokenize(text)), script_shares(text), hint).code


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("सरकार ने कहा है कि बजट में किसानों के लिए नई योजना शुरू की जाएगी और यह जल्द लागू होगी।", "hi"),
        ("सरकारने सांगितले की अर्थसंकल्पात शेतकऱ्यांसाठी नवीन योजना आहे आणि ती लवकरच लागू होणार आहे.", "mr"),
        ("सरकारले बजेटमा किसानका लागि नयाँ योजना ल्याएको छ र यो चाँडै लागू हुनेछ भने पनि बताए।", "ne"),
        (
            "حکومت نے کہا ہے کہ بجٹ میں کسانوں کے لیے نئی اسکیم شروع کی جائے گی اور یہ جلد نافذ ہوگی۔",
            "ur",
        ),
        ("সরকার বলেছে যে বাজেটে কৃষকদের জন্য একটি নতুন প্রকল্প চালু করা হবে।", "bn"),
        (
            "The government said the budget will include a new scheme for farmers and it is coming soon.",
            "en",
        ),
    ],
)
def test_languages(text: str, code: str) -> None:
    assert detect(text) == code


def test_hindi_with_english_words_is_hindi_with_latin_share() -> None:
    text = "चुनाव जीतते ही Trump को आया White House से बुलावा, जानें क्यों मिलेंगे Biden से।"
    shares = script_shares(text)
    assert detect(text) == "hi"
    assert set(shares) == {"Deva", "Latn"}
    assert 0.2 < shares["Latn"] < 0.5
    assert abs(sum(shares.values()) - 1) < 0.01


def test_confidence_and_unknown() -> None:
    strong = detect_language(Counter(tokenize("यह है और वह है, उस में भी है।" * 5)), {"Deva": 1.0})
    weak = detect_language(Counter(tokenize("नमस्ते")), {"Deva": 1.0})
    assert strong.confidence > weak.confidence
    assert detect_language({}, {}).code == "und"
    assert detect_language({}, {}, hint="hi").code == "hi"


def test_markers_are_the_lexicon_grammar_words() -> None:
    # One home for word lists: the markers are the first part of each language's grammar
    # words in worker.enrich.lexicon, and keywords leave all of them out.
    assert language._MARKERS is lexicon.MARKERS
    assert set(lexicon.MARKERS) == {"Deva", "Arab", "Latn"}
    for languages in lexicon.MARKERS.values():
        for lang, markers in languages.items():
            assert markers == frozenset(lexicon.GRAMMAR_WORDS[lang][0].split())
            if lang not in ("ar", "fa"):
                assert markers <= lexicon.STOPWORDS
    assert detect("आहे आणि", None) == "mr"


SPELLINGS = ["ज़ेलेंस्की", "नवँबर", "क़\u200dर", "JUNE", "Straße", "شکریہ", "ড়", "\u0929"]


@pytest.mark.parametrize("text", SPELLINGS)
def test_matching_key_is_the_lexicon_fold(text: str) -> None:
    assert normalize.matching_key(text) == lexicon.fold(text)
    assert normalize.matching_key("هفته") == normalize.matching_key("ہفتہ")


# --- tokens: str.split after the punctuation is replaced, as the regex would cut ----------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "ज़ेलेंस्की ने कहा। रूस-यूक्रेन युद्ध (1,000 दिन) पर: “बातचीत”…",
        "Hello, world! It's 9:03 a.m. — the U.S.-led talks; x_y z__",
        "لاہور میں سموگ، اسکول بند۔ کیا؟",
        "a\u200cb\u200dc \u200b d\u00a0e\u2028f\x1cg\x85h\u3000i\tj\nk",  # joiners; odd spaces
        "émoji 😀 and 𝐛𝐨𝐥𝐝 letters 𠀀 and ⚠ signs ™ © ®",
        "".join(chr(c) for c in range(0x20, 0x3000, 7)),  # many kinds: the regex fallback
        "!" * 50 + "word" + "?" * 50,
    ],
)
def test_tokenize_is_the_token_regex(text: str) -> None:
    assert tokenize(text) == TOKEN.findall(text)


def test_the_other_class_is_neither_word_nor_space() -> None:
    # Listing the BMP's letters and spaces in the class (for speed) keeps its meaning.
    for code in [*range(0x10000), *range(0x10000, 0x110000, 97)]:
        char = chr(code)
        expected = TOKEN.fullmatch(char) is None and not char.isspace()
        assert (tokens._OTHER.fullmatch(char) is not None) == expected, hex(code)
