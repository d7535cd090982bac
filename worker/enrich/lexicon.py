"""The core's word lists and its one folding rule, in one place.

* :func:`fold` is the matching key of a word or text: the same rule for the date and
  number scanners' keyword lookups and for the gazetteer's matching key
  (:func:`worker.enrich.normalize.matching_key`), so that a spelling variant either matches
  everywhere or nowhere.
* :data:`GRAMMAR_WORDS` holds each language's grammar words; :data:`STOPWORDS` (keywords
  and the simhash leave them out) and :data:`MARKERS` (language identification counts
  them) are drawn from it, so a word is listed once.
* :data:`UNIT_WORDS` are the words after a number that are its unit: measures and counted
  nouns. A number's next word is its unit only when it is one of these.

Pure data and pure functions; importing this module does no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

__all__ = [
    "ARABIC_VARIANTS",
    "FOLDS",
    "GRAMMAR_WORDS",
    "MARKERS",
    "NUKTA_AFTER",
    "STOPWORDS",
    "UNIT_KEYS",
    "UNIT_WORDS",
    "fold",
    "is_unit",
]

# --- folding ---------------------------------------------------------------------------------

# In NFC text a nukta follows only these consonants: the precomposed ऩ ऱ ऴ stay composed,
# and the other nukta letters (क़ ख़ ग़ ज़ ड़ ढ़ फ़ य़, Bengali ড় ঢ় য়) are decomposed.
NUKTA_AFTER = {**dict.fromkeys("कखगजडढफय", "\u093c"), **dict.fromkeys("ডঢয", "\u09bc")}
# Urdu is typed with Arabic keyboard letters as often as with the Urdu ones: each Urdu
# letter and the letters typed for it (yeh ی ي ى, kaf ک ك, heh ہ ه).
ARABIC_VARIANTS = {
    "\u06cc": "\u06cc\u064a\u0649",
    "\u06a9": "\u06a9\u0643",
    "\u06c1": "\u06c1\u0647",
}
# What fold() replaces, as (character, replacement): nukta and joiners dropped,
# chandrabindu as anusvara, nukta letters that NFC composes (or that text which is not NFC
# may hold precomposed) as their base letters, Arabic letter variants as the Urdu ones.
FOLDS: tuple[tuple[str, str], ...] = (
    ("\u093c", ""),
    ("\u09bc", ""),
    ("\u200c", ""),
    ("\u200d", ""),
    ("\u0901", "\u0902"),
    ("\u0929", "\u0928"),
    ("\u0931", "\u0930"),
    ("\u0934", "\u0933"),
    ("\u0958", "\u0915"),
    ("\u0959", "\u0916"),
    ("\u095a", "\u0917"),
    ("\u095b", "\u091c"),
    ("\u095c", "\u0921"),
    ("\u095d", "\u0922"),
    ("\u095e", "\u092b"),
    ("\u095f", "\u092f"),
    ("\u09dc", "\u09a1"),
    ("\u09dd", "\u09a2"),
    ("\u09df", "\u09af"),
    *((variant, urdu) for urdu, variants in ARABIC_VARIANTS.items() for variant in variants[1:]),
)


def fold(text: str) -> str:
    """The matching key of ``text``: no nukta or joiners, chandrabindu as anusvara, nukta
    letters as their base letters, Arabic letter variants as the Urdu ones, case folded.

    ``fold("ज़ेलेंस्की") == fold("जेलेंस्की")``, ``fold("JUNE") == "june"``. Never use the
    key as text. Works on a word or a whole text alike (it maps characters one to one or to
    nothing, so the spaces of a text stay where they were).
    """
    # A few C-level `in`/`replace` scans beat one dict-driven `translate` by far.
    for char, replacement in FOLDS:
        if char in text:
            text = text.replace(char, replacement)
    return text.casefold()


# --- grammar words ---------------------------------------------------------------------------

# Per language: (its markers, its other grammar words). Markers are frequent grammar words
# specific to one language of a script (Hindi है/में, Marathi आहे/आणि, Nepali छ/मा/लाई):
# counting them tells the languages of one script apart. Both kinds carry no topic.
GRAMMAR_WORDS: dict[str, tuple[str, str]] = {
    "hi": (
        "है हैं था थी थे में की के का को से ने और कि यह वह भी पर लिए गया गई किया कहा रहा रही "
        "रहे हुए हुआ होगा करने इस उस जो तो नहीं साथ बाद",
        "हो होता होती होते होगी होंगे ये वे लिये गए किए हुई करते करता करती कर इन उन एक दो तक "
        "बीच कई अब वहीं जहां जबकि हालांकि दरअसल बता दें गौरतलब साल अपने अपनी अपना उनके उनकी "
        "उनका उन्होंने इसके इसकी इसका जिसमें जिसे सबसे बहुत कुछ किसी कोई सकता सकती सकते रूप "
        "द्वारा तरह ओर या लेकिन पहले फिर",
    ),
    "mr": (
        "आहे आहेत होते होता होती आणि या व की च्या मध्ये केले केली करण्यात त्यांनी यांनी झाली "
        "झाला असे अशी हे ते नाही आले आली साठी म्हणून पण तर",
        "त्या ही हा एका",
    ),
    "ne": (
        "छ छन् हो र मा लाई पनि गरेको भएको थियो हुन्छ गर्न भने गरे गर्ने छैन रहेको बताए उनले "
        "तथा अनुसार गरेका भएका हुने यो त्यो",
        "गरी",
    ),
    "ur": (
        "ہے ہیں کے کی کا میں اور سے نے کو کہ یہ وہ بھی پر لیے گیا گئی تھا تھے ہو",
        "ایک",
    ),
    "ar": ("في من على إلى التي الذي أن عن مع هذا هذه كان", ""),
    "fa": ("است این آن را با برای که شد می\u200cشود بود", ""),
    "bn": ("", "এবং ও এই সেই করে করা হয় হয়েছে ছিল থেকে জন্য তিনি একটি না"),
    "en": (
        "the and of to in is was for on that with by as at from has have said are be will it "
        "its an this which",
        "a or were been being had these those who whom whose would can could says not but "
        "also after before over into than then there their they he she his her we our you "
        "your i more most about up out new",
    ),
}
# The script each language with markers is written in.
_MARKER_SCRIPT = {"hi": "Deva", "mr": "Deva", "ne": "Deva", "ur": "Arab", "ar": "Arab"}
_MARKER_SCRIPT |= {"fa": "Arab", "en": "Latn"}

MARKERS: dict[str, dict[str, frozenset[str]]] = {}
for _lang, _script in _MARKER_SCRIPT.items():
    MARKERS.setdefault(_script, {})[_lang] = frozenset(GRAMMAR_WORDS[_lang][0].split())

# Keywords and the simhash leave these out, with sentence-initial capitals of the English
# ones so that filtering needs no lower() per token. Arabic and Persian markers are left
# out here: keywords were never filtered by them.
STOPWORDS = frozenset(
    w
    for lang, (markers, others) in GRAMMAR_WORDS.items()
    if lang not in ("ar", "fa")
    for word in (markers + " " + others).split()
    for w in (word, word.capitalize())
)

# --- units -----------------------------------------------------------------------------------

_CONSONANTS = {chr(c) for c in range(0x0915, 0x093A)} | {"\u093c"}


def _hindi_forms(stems: str) -> Iterable[str]:
    """Each stem with its plural and oblique forms (सीट सीटें सीटों, महिला महिलाएं
    महिलाओं, यात्री यात्रियों, श्रद्धालु श्रद्धालुओं); forms no one writes match nothing."""
    for stem in stems.split():
        yield stem
        last = stem[-1]
        if last in _CONSONANTS:
            yield from (stem + "ें", stem + "ों")
        elif last == "ा":
            yield from (stem[:-1] + "े", stem[:-1] + "ों", stem + "एं", stem + "एँ", stem + "ओं")
        elif last == "ी":
            yield from (stem[:-1] + "ियों", stem[:-1] + "ियां", stem[:-1] + "ियाँ")
        elif last == "ु":
            yield stem + "ओं"
        elif last == "े":  # an oblique noun as listed (मामले): its plural oblique
            yield stem[:-1] + "ों"


def _english_forms(words: str) -> Iterable[str]:
    """Each word and its regular plural (seat seats, policy policies); irregular plurals
    are listed as words of their own."""
    for word in words.split():
        yield word
        if word.endswith("y") and word[-2:-1] not in set("aeiou"):
            yield word[:-1] + "ies"
        elif word.endswith(("s", "x", "ch", "sh")):
            yield word + "es"
        else:
            yield word + "s"


# Measures: length, area, weight, volume, energy, temperature, time spans.
_MEASURES_EN = (
    "km kms kilometre kilometer metre meter cm centimetre centimeter mm millimetre "
    "millimeter mile foot inch kg kilogram kilo gram tonne ton quintal litre liter ml "
    "hectare acre bigha degree mw megawatt gw gigawatt kw kilowatt kwh volt watt "
    "second minute hour day week month year decade century"
)
_MEASURES_IRREGULAR = "feet ft sq kmph km/h mph knots hrs mins lb lbs °C °F"
_MEASURES_HI = (
    "किलोमीटर किमी मीटर सेंटीमीटर सेमी मिलीमीटर मिमी मील फुट फीट इंच किलो किलोग्राम ग्राम टन "
    "क्विंटल लीटर हेक्टेयर एकड़ बीघा डिग्री मेगावाट गीगावाट किलोवाट वोल्ट वाट घंटा घंटे घंटों "
    "मिनट सेकंड दिन सप्ताह हफ्ता हफ़्ता महीना साल वर्ष दशक सदी "
    # Marathi and Nepali
    "किलो तास महिना महिने वर्षे दिवस वर्षांपूर्वी"
)
_MEASURES_OTHER = (
    "কিলোমিটার মিটার কেজি কিলোগ্রাম টন লিটার হেক্টর একর ডিগ্রি ঘণ্টা মিনিট দিন সপ্তাহ মাস বছর "
    "کلومیٹر میٹر کلو کلوگرام ٹن لیٹر ایکڑ ڈگری گھنٹے منٹ دن ہفتے ماہ مہینے سال"
)
# Counted nouns: who or what news counts.
_COUNTED_EN = (
    "person soldier jawan troop militant terrorist civilian officer policeman employee worker "
    "seat village town city district state country constituency run wicket over ball goal "
    "match medal point vote voter booth candidate leader member legislator minister "
    "student teacher farmer passenger pilgrim devotee patient doctor case death casualty "
    "victim resident family household house home school hospital user customer subscriber "
    "visitor tourist fan vehicle car bus train flight aircraft plane jet drone missile rocket "
    "satellite ship boat tree animal crop share company firm project job post bed dose "
    "party bill meeting gallon "
    "Indian Pakistani American"
)
_COUNTED_IRREGULAR = (
    "people persons personnel police staff men women children MPs MLAs injured dead killed"
)
_COUNTED_HI = (
    "लोग व्यक्ति आदमी सैनिक जवान फौजी आतंकी आतंकवादी नागरिक अधिकारी पुलिसकर्मी कर्मचारी "
    "मजदूर मज़दूर सीट गांव गाँव शहर जिला जिले राज्य देश रन विकेट ओवर गेंद गोल मैच पदक अंक "
    "वोट मत मतदाता बूथ उम्मीदवार प्रत्याशी नेता सदस्य सांसद विधायक मंत्री छात्र छात्रा शिक्षक "
    "किसान यात्री श्रद्धालु मरीज डॉक्टर मामला मामले मौत शव परिवार घर मकान स्कूल अस्पताल "
    "ग्राहक उपभोक्ता प्रवासी पर्यटक वाहन गाड़ी कार बस ट्रेन उड़ान विमान ड्रोन मिसाइल रॉकेट "
    "उपग्रह जहाज नाव पेड़ पौधा पशु फसल शेयर कंपनी परियोजना नौकरी पद बिस्तर खुराक पंप "
    "शौचालय मेहमान महिला पुरुष बच्चा बच्ची बेटा बेटी भारतीय घायल ज़ख़्मी जख्मी मृतक "
    "दल विधेयक बिल बैठक गैलन "
    # Marathi and Nepali
    "जण नागरिकांचा जागा जागांवर गावे विद्यार्थी जना"
)
_COUNTED_OTHER = (
    "জন মানুষ লোক সেনা যাত্রী ছাত্র কৃষক ভোট আসন গ্রাম জেলা রান উইকেট "
    "افراد لوگ لوگوں فوجی طلبہ طالب کسان ووٹ نشستیں نشستوں سیٹیں گاؤں اضلاع ضلعے رنز وکٹیں "
    "مریض مسافر بچے بچوں گیلن"
)
UNIT_WORDS: frozenset[str] = frozenset(
    [
        *_english_forms(_MEASURES_EN + " " + _COUNTED_EN),
        *(_MEASURES_IRREGULAR + " " + _COUNTED_IRREGULAR + " " + _MEASURES_OTHER).split(),
        *_COUNTED_OTHER.split(),
        *_hindi_forms(_MEASURES_HI + " " + _COUNTED_HI),
    ]
)
# The folded forms, for lookups of a word as written (any case, nukta or not).
UNIT_KEYS = frozenset(map(fold, UNIT_WORDS))


@lru_cache(maxsize=8192)  # the words after numbers repeat; folding a miss is not free
def is_unit(word: str) -> bool:
    """Whether ``word``, right after a number, is its unit (a measure or a counted noun)."""
    return word in UNIT_WORDS or fold(word) in UNIT_KEYS


# --- phrases of a feed's layout (worker.enrich.structure), `|`-separated -------------

# Labels the CMS puts in front of injected links to other stories.
TEASER_LABELS = (
    "ये भी पढ़ें|यह भी पढ़ें|इसे भी पढ़ें|इन्हें भी पढ़ें|और भी पढ़ें|यहां भी पढ़ें|यहाँ भी पढ़ें|और पढ़ें|"
    "पढ़ें|पढें|ये भी पढें|यह भी पढें|ज़रूर पढ़ें|जरूर पढ़ें|अवश्य पढ़ें|ये भी देखें|यह भी देखें|"
    "संबंधित खबरें|संबंधित ख़बरें|संबंधित खबर|सम्बंधित खबरें|"
    # Marathi
    "हे पण वाचा|हे ही वाचा|हेही वाचा|हेसुद्धा वाचा|अधिक वाचा|आणखी वाचा|वाचा|संबंधित बातम्या|संबंधित बातमी|"
    # Nepali
    "यो पनि पढ्नुहोस्|यो पनि पढ्नुस्|यो पनि हेर्नुहोस्|थप पढ्नुहोस्|सम्बन्धित समाचार|सम्बन्धित खबर|"
    # Urdu
    "یہ بھی پڑھیں|مزید پڑھیں|متعلقہ خبریں|متعلقہ خبر|یہ بھی دیکھیں|پڑھیں|"
    # Bengali
    "আরও পড়ুন|আরো পড়ুন|এটাও পড়ুন|এটিও পড়ুন|এই খবরটিও পড়ুন|সম্পর্কিত খবর|পড়ুন|"
    "also read|read also|read more|must read|check also|also check|see also|also see|"
    "related articles|related news|related stories|related|recommended stories|also watch|watch"
)

# News agencies, as wire credits name them.
AGENCIES = (
    "PTI|IANS|ANI|UNI|Reuters|AP|AFP|APP|Bloomberg|Xinhua|Press Trust of India|Associated Press|"
    "agencies|agency|पीटीआई|आईएएनएस|एएनआई|यूएनआई|भाषा|वार्ता|यूनीवार्ता|एजेंसी|एजेंसियां|"
    "পিটিআই|এএনআই|এজেন্সি|ایجنسی|اے پی پی"
)

# What introduces a credit line. The phrases say so alone (`With inputs from Reuters`);
# the labels are also prose words (`Input costs rose`, `Source code leaked`), so they need
# a separator or a bracket (`(इनपुट: एजेंसी भाषा)`, `Courtesy: ANI`).
INPUT_PHRASES = "with inputs from|with input from|with agency inputs|inputs from"
INPUT_LABELS = "agency inputs|inputs|input|इनपुट|इनपुट्स|एजेंसी इनपुट|साभार|source|courtesy"

# The grammar words a credit's name may hold (`Ministry of Health`, `our Delhi bureau`).
CREDIT_CONNECTORS = "of|and|the|our|for|के|की|का"

# What in a stamp label says the stamp is of an update (else it is of publication).
UPDATE_LABELS = "updat|modif|अपडेट|अद्यतन|আপডেট|اپ ڈیٹ"

# What may stand beside the date of a time stamp (`Jul 2, 2018 09:03 AM (IST)`).
STAMP_ZONES = "ist|gmt|utc|pkt|npt|bst|hrs|am|pm|a.m.|p.m.|बजे|सुबह|शाम|दोपहर|रात"

# Labels of time-stamp lines (`Updated: …`, `प्रकाशित: …`).
STAMP_LABELS = (
    "last updated|updated on|updated at|updated|first published|published on|published at|"
    "published|posted on|posted|modified|अपडेटेड|अपडेट|प्रकाशित|पब्लिश्ड|अद्यतन|प्रकाशन तिथि|"
    "প্রকাশিত|আপডেট|شائع|اپ ڈیٹ|अपडेट केले"
)

# Kicker labels in front of a lead (`BREAKING : `): dropped.
KICKERS = "breaking news|breaking|just in|ब्रेकिंग न्यूज़|ब्रेकिंग न्यूज|ब्रेकिंग|बड़ी खबर"

# Labels that read like a `Place: ` dateline but are none.
NOT_PLACES = (
    "note|nb|n.b|disclaimer|editor's note|update|correction|also|watch|video|photo|photos|"
    "opinion|analysis|explained|read|exclusive|live|warning|highlights|highlight|fact check|"
    "important|question|answer|ans|q|a|dear readers|dear reader|step|part|point|tip|tips|day|"
    "key points|summary|faq|नोट|ध्यान दें|सूचना|अपडेट|वीडियो|तस्वीरें|चेतावनी|हाइलाइट्स|"
    "फैक्ट चेक|जरूरी|ज़रूरी|महत्वपूर्ण|सवाल|जवाब|प्रश्न|उत्तर|प्रिय पाठकों|स्टेप"
)

# First-person openers: `Rahul Gandhi: We will fight…` quotes a speaker, not a dateline.
FIRST_PERSON = (
    "I|I'm|I've|I'll|We|We're|We've|We'll|My|Our|हम|मैं|हमें|मुझे|हमने|मैंने|हमारी|हमारा|"
    "मेरी|मेरा|मी|आम्ही|हामी|म|میں|ہم|আমি|আমরা"
)

# Verbs of saying: `X said: ` opens a quotation, not a dateline.
SPEECH_VERBS = (
    "said|says|told|asked|added|stated|wrote|tweeted|posted|announced|warned|noted|explained|"
    "कहा|कहते|कहती|बोले|बोली|बोला|बताया|लिखा|पूछा|जोड़ा|म्हणाले|म्हणाल्या|भने|بولے|کہا|বলেন|বললেন"
)

# Clickbait imperatives of teaser headlines (`…, जानें क्यों …?`).
TEASER_CUES = (
    "जानें|जानिए|जानिये|देखें|देखिए|जाणून|पाहा|हेर्नुहोस्|थाहा|جانیے|دیکھیں|জানুন|দেখুন|Know|Watch|Explained"
)

# Words that join clauses of one sentence (`…, और सरकार…`, `यह है कि…`): a question or
# exclamation that has one is prose, where a two-clause teaser headline has none.
CLAUSE_JOINS = (
    "और|तथा|एवं|लेकिन|किंतु|परंतु|मगर|बल्कि|जबकि|क्योंकि|कि|आणि|पण|कारण|र|तर|किनभने|"
    "اور|لیکن|کہ|کیونکہ|এবং|কিন্তু|কারণ|যে"
)
