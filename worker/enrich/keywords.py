"""Keywords: the most frequent content words of the body, grammar words left out."""

from __future__ import annotations

from collections import Counter

# Grammar words of the supported languages; they carry no topic.
STOPWORDS = frozenset(
    # Hindi
    "है हैं था थी थे हो होता होती होते होगा होगी होंगे में की के का को से ने और कि यह वह ये वे "
    "भी पर लिए लिये गया गई गए किया किए की कहा रहा रही रहे हुए हुआ हुई करने करते करता करती "
    "कर इस उस इन उन जो तो नहीं साथ बाद एक दो तक बीच कई अब वहीं जहां जबकि हालांकि दरअसल "
    "बता दें गौरतलब साल अपने अपनी अपना उनके उनकी उनका उन्होंने इसके इसकी इसका जिसमें जिसे "
    "सबसे बहुत कुछ किसी कोई सकता सकती सकते रूप द्वारा तरह ओर या लेकिन पहले फिर "
    # Marathi
    "आहे आहेत होते होता होती आणि या व च्या मध्ये केले केली करण्यात त्यांनी यांनी झाली झाला "
    "असे अशी हे ते नाही आले आली साठी म्हणून पण तर त्या ही हा एका "
    # Nepali
    "छ छन् हो र मा लाई पनि गरेको भएको थियो हुन्छ गर्न भने गरे गर्ने छैन रहेको बताए उनले "
    "तथा अनुसार गरेका भएका हुने यो त्यो गरी "
    # Urdu
    "ہے ہیں کے کی کا میں اور سے نے کو کہ یہ وہ بھی پر لیے گیا گئی تھا تھے ہو ایک "
    # Bengali
    "এবং ও এই সেই করে করা হয় হয়েছে ছিল থেকে জন্য তিনি একটি না "
    # English
    "the a an and or of to in on at for from by with as is are was were be been being has "
    "have had it its this that these those which who whom whose will would can could said "
    "says not but also after before over into than then there their they he she his her "
    "we our you your i more most about up out new".split()
)
# Sentence-initial capitals of the English ones, so filtering needs no lower() per token.
STOPWORDS = STOPWORDS | {w.capitalize() for w in STOPWORDS if w.isascii()}
KEYWORDS_MAX = 10


def keywords(counts: Counter[str], limit: int = KEYWORDS_MAX) -> list[str]:
    """The ``limit`` most frequent content words, seen at least twice; ties in order of first use.

    Content words are tokens that are not grammar words, numbers or single letters.
    """
    out: list[str] = []
    for word, n in counts.most_common():  # a stable sort: ties keep first-use order
        if n < 2 or len(out) == limit:
            break
        if word not in STOPWORDS and len(word) > 1 and not word.isdigit():
            out.append(word)
    return out
