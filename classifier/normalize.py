"""Text normalisation for English and Vietnamese chat: one canonical form for the model to learn from.

``normalize`` folds case and Vietnamese diacritics (so "không", "khong" and "KHÔNG" are one word), reduces
URLs, e-mail addresses, phone numbers, money amounts, account numbers and codes to tokens, decodes leetspeak
("fr33 r0bux" -> "free robux"), marks words with punctuation pushed between their letters to dodge filters
("N.a,p~ d:au" -> "obfustok napdau") and expands teen-code ("ko" -> "khong", "bn" -> "ban", "stk" -> "so tai
khoan", "u" -> "you"). Every step is a regular expression over the whole string, so a 100 KB page
normalises in about a millisecond; ``evidence_pattern`` goes the other way, from a normalised phrase back
to the words as they were typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from classifier.folding import fold

URL_TOKEN = "urltok"
EMAIL_TOKEN = "emailtok"
PHONE_TOKEN = "phonetok"
MONEY_TOKEN = "moneytok"
ACCOUNT_TOKEN = "accttok"
NUMBER_TOKEN = "numtok"
OBFUSCATED_TOKEN = "obfustok"
# Beside a link's words: the link hides where it goes (a shortener) or sits on a throwaway top-level domain.
ODD_LINK_TOKEN = "oddlinktok"
SPECIAL_TOKENS = (
    URL_TOKEN,
    ODD_LINK_TOKEN,
    EMAIL_TOKEN,
    PHONE_TOKEN,
    MONEY_TOKEN,
    ACCOUNT_TOKEN,
    NUMBER_TOKEN,
    OBFUSCATED_TOKEN,
)

_TLDS = (
    "com|net|org|vn|xyz|info|io|gg|me|ly|top|online|site|club|shop|app|link|live|store|gift|cc|co|tk|ml|ga|"
    "cf|gq|ru|biz|us|uk|asia|pro|fun|icu|win|vip|click|to|tv|edu|gov|page|today|world|space|website|cn|in|"
    "tech|cyou|buzz|rest|monster|sbs|cfd|bond|lol|pw|ws|mobi|zone|host|press|ink|bet|cam|quest|work"
)
_THROWAWAY_TLDS = frozenset(
    "xyz top tech icu vip cc online site club live fun click win tk ml ga cf gq cyou buzz rest monster sbs "
    "cfd bond lol pw ws zone host press ink bet cam quest work gift link".split()
)
_SHORTENERS = frozenset(
    "bit.ly tinyurl.com t.co is.gd cutt.ly rb.gy shorturl.at j.mp ow.ly tiny.cc s.id t.ly v.gd bit.do "
    "rebrand.ly shorte.st".split()
)
_URL = re.compile(
    r"(?:https?://|www\.)[^\s<>\"']+|\b(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:" + _TLDS + r")\b"
    r"(?:/[^\s<>\"']*)?",
)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_MONEY = re.compile(
    r"(?:[$£€¥₫]\s?\d[\d.,]*\s?(?:k|m|tr|b|bn|million|billion)?\b)"
    r"|(?:\b\d[\d.,]*\s?(?:k|tr|trieu|ty|cu|nghin|ngan|d|vnd|vnđ|dong|usd|dollars?|bucks|euros?|pounds?|gbp"
    r"|eur|usdt|btc|eth)\b)"
)
_PHONE = re.compile(
    r"(?<![\w.])(?:\+?84|0)[35789](?:[\s.-]?\d){8}\b|(?<![\w.])(?:\+?\d{1,3}[\s.-]?)?\(?\d{3}\)?"
    r"[\s.-]\d{3}[\s.-]\d{4}\b"
)
_LONG_NUMBER = re.compile(r"\b\d{10,19}\b")
_NUMBER = re.compile(r"\b\d[\d.,]{2,}\d\b|\b\d{3,}\b")

# Leetspeak: a word that mixes letters with digits or symbols standing in for letters.
_LEET_MAP = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "l",
    }
)
_LEET_WORD = re.compile(r"(?<![\w@$!|])(?=[\w@$!|]*[a-z])(?=[\w@$!|]*[0-9@$!|])[a-z0-9@$!|]{3,}(?![\w@$!|])")

# Filter-dodging: punctuation pushed in between the letters of words ("N.a,p~ d:au nh'an"), which no ordinary
# sender types. A word with two or more such insertions is marked with a token and kept without them; a
# single one is left alone ("ok,bye", "sh*t", "don't"), and so is a list typed without spaces.
_NOISE_CHARS = r",;:\"'~^*_\[\]{}|`\\"
_INSERTED_NOISE = re.compile(rf"[^\W\d_][{_NOISE_CHARS}]+(?=[^\W\d_])")
_NOISY_WORD = re.compile(rf"(?<!\S)(?:[^\s{_NOISE_CHARS}]*[{_NOISE_CHARS}]+){{2,}}[^\s{_NOISE_CHARS}]*")
_NOISE = re.compile(rf"[{_NOISE_CHARS}]+")

_REPEATS = re.compile(r"([a-z])\1{2,}")
# No word is that long: a run of thousands of characters is padding meant to drown the real text's
# character n-grams, so only its start is kept.
_LONG_RUN = re.compile(r"(\S{32})\S+")

# Teen-code and chat abbreviations, by language. Keys are folded words; values are full folded forms.
TEENCODE_VI: dict[str, str] = {
    "ko": "khong",
    "k": "khong",
    "kh": "khong",
    "khg": "khong",
    "kg": "khong",
    "hok": "khong",
    "hk": "khong",
    "hong": "khong",
    "hem": "khong",
    "hum": "khong",
    "bn": "ban",
    "b": "ban",
    "ib": "inbox",
    "stk": "so tai khoan",
    "ck": "chuyen khoan",
    "dc": "duoc",
    "dk": "duoc",
    "j": "gi",
    "z": "vay",
    "v": "vay",
    "r": "roi",
    "oy": "roi",
    "mk": "minh",
    "mik": "minh",
    "mh": "minh",
    "ny": "nguoi yeu",
    "sdt": "so dien thoai",
    "mn": "moi nguoi",
    "mng": "moi nguoi",
    "vs": "voi",
    "ns": "noi",
    "nt": "nhan tin",
    "trc": "truoc",
    "ntn": "nhu the nao",
    "cx": "cung",
    "lm": "lam",
    "e": "em",
    "a": "anh",
    "ad": "admin",
    "bh": "bao gio",
    "ngta": "nguoi ta",
    "cj": "chi",
    "ae": "anh em",
    "iu": "yeu",
    "thik": "thich",
    "bik": "biet",
    "bit": "biet",
    "wa": "qua",
    "dt": "dien thoai",
    "fb": "facebook",
    "kb": "ket ban",
    "tn": "tin nhan",
    "ms": "moi",
    "nc": "noi chuyen",
    "hc": "hoc",
    "ntin": "nhan tin",
    "kbh": "khong bao gio",
    "vk": "vo",
    "ch": "chua",
    "ik": "di",
    "nhe": "nhe",
    "nha": "nhe",
    "nhen": "nhe",
    "ok": "ok",
    "oke": "ok",
    "okela": "ok",
    "dzo": "vao",
    "zo": "vao",
    "vo": "vao",
    "lun": "luon",
    "hnay": "hom nay",
    "bnhieu": "bao nhieu",
    "bnh": "bao nhieu",
    "bn_tuoi": "bao nhieu tuoi",
    "mxh": "mang xa hoi",
    "gd": "gia dinh",
    "ngoai": "ngoai",
    "cmnr": "roi",
    "vcl": "vl",
    "vkl": "vl",
    "tks": "cam on",
    "thanks": "cam on",
    "thank": "cam on",
    "kq": "ket qua",
    "qc": "quang cao",
    "sp": "san pham",
}
TEENCODE_EN: dict[str, str] = {
    "u": "you",
    "ya": "you",
    "yu": "you",
    "ur": "your",
    "urs": "yours",
    "r": "are",
    "pls": "please",
    "plz": "please",
    "plss": "please",
    "thx": "thanks",
    "thnx": "thanks",
    "ty": "thank you",
    "msg": "message",
    "msgs": "messages",
    "pic": "picture",
    "pics": "pictures",
    "pix": "pictures",
    "y": "why",
    "rn": "right now",
    "bc": "because",
    "cuz": "because",
    "coz": "because",
    "bcuz": "because",
    "wanna": "want to",
    "gonna": "going to",
    "gotta": "got to",
    "ppl": "people",
    "b4": "before",
    "2day": "today",
    "2nite": "tonight",
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "gr8": "great",
    "luv": "love",
    "k": "ok",
    "kk": "ok",
    "okay": "ok",
    "bday": "birthday",
    "acc": "account",
    "acct": "account",
    "addy": "address",
    "dm": "dm",
    "dms": "dm",
    "pm": "dm",
    "gf": "girlfriend",
    "bf": "boyfriend",
    "bro": "bro",
    "sis": "sis",
    "im": "i am",
    "ive": "i have",
    "dont": "do not",
    "don": "do",
    "cant": "can not",
    "wont": "will not",
    "ill": "i will",
    "id": "i would",
    "vbucks": "v bucks",
    "vbuck": "v bucks",
    "rbx": "robux",
    "nitro": "nitro",
    "frfr": "for real",
    "fr": "for real",
    "ngl": "not gonna lie",
    "tbh": "to be honest",
    "idk": "i do not know",
    "wyd": "what are you doing",
    "hbu": "how about you",
    "wbu": "how about you",
    "asl": "age sex location",
    "hmu": "hit me up",
    "irl": "in real life",
    "ily": "i love you",
    "selfies": "selfie",
    "snap": "snapchat",
    "sc": "snapchat",
    "ig": "instagram",
    "insta": "instagram",
    "tele": "telegram",
    "cam": "camera",
    "vid": "video",
    "vids": "videos",
}

_VI_LETTERS = re.compile(
    "[ăâđêôơưáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]", re.IGNORECASE
)
# Vietnamese words (folded) and teen-code that are not English words: enough of them in a text typed
# without diacritics marks it Vietnamese.
_VI_WORDS = frozenset(
    "khong la cua va nhe nha ban minh em anh duoc roi gi nay voi cho thi ma di nhung mot cac nguoi "
    "lam biet tien chuyen qua nhan oi day vay luon ne dung sao tai khoan hay toi chi "
    "mai choi hoc truong thuong nhat chung cung nhieu tuoi bao gio sang chieu ngay thang den "
    "vao len xuong muon nghi noi hoi dep xinh lop bai tap kiem tra chua nua dau doi cai nao "
    "ko dc vs bn mk mik ib stk ck ny sdt mn mng ns nt trc ntn cx lm kb hok hk hem oy thik bik ak "
    "j z e".split()
)
_WORD = re.compile(r"[^\W\d_]+")


def _spaces_except(keep: Callable[[str], bool]) -> bytes:
    """A ``bytes.translate`` table that makes every byte a space but the ASCII characters ``keep`` keeps."""
    dropped = bytes(i for i in range(256) if not (i < 128 and keep(chr(i))))
    return bytes.maketrans(dropped, b" " * len(dropped))


_ASCII_LETTERS_ONLY = _spaces_except(str.isalpha)
_VI_WORDS_ASCII = frozenset(word.encode() for word in _VI_WORDS)


def detect_lang(text: str) -> str:
    """``"vi"`` or ``"en"``: Vietnamese letters, or enough Vietnamese function words typed without them."""
    sample = text[:2000]
    vi_letters = 0 if sample.isascii() else len(_VI_LETTERS.findall(sample))
    # Letters counted (in runs of them, far cheaper than one by one) only when some are Vietnamese, and
    # only when they could decide it: there are no more letters than characters.
    if vi_letters and (
        vi_letters / len(sample) > 0.02 or vi_letters / sum(map(len, _WORD.findall(sample))) > 0.02
    ):
        return "vi"
    folded = fold(sample)
    if folded.isascii():
        # Its letter runs split out of its bytes after one translation: several times cheaper than the
        # regex (or str.translate).
        words = folded.encode().translate(_ASCII_LETTERS_ONLY).split()
        vocabulary = _VI_WORDS_ASCII
    else:
        words, vocabulary = _WORD.findall(folded), _VI_WORDS
    if not words:
        return "en"
    vi_hits = sum(map(vocabulary.__contains__, words))
    return "vi" if vi_hits / len(words) > 0.2 else "en"


_TEENCODE = {"vi": TEENCODE_VI, "en": TEENCODE_EN}


class _Guarded:
    """A compiled pattern whose ``sub`` skips its pass over a text that lacks what every match needs (found
    by a far cheaper scan): the same result, since such a text cannot match.

    ``digits``: how many digits every match holds at least. A text with fewer is skipped on a count that
    ``normalize`` takes once for all such passes (the passes between only take digits away).
    """

    def __init__(
        self, regex: re.Pattern[str], needs: Callable[[str], object] | None = None, digits: int = 0
    ) -> None:
        self.regex = regex
        self.pattern = regex.pattern
        self._needs = needs
        self.digits = digits

    def sub(self, repl: str | Callable[[re.Match[str]], str], string: str, digits: int | None = None) -> str:
        """``regex.sub(repl, string)``; ``digits``, if given, is no fewer than the digits in ``string``."""
        if self.digits and (digit_count(string) if digits is None else digits) < self.digits:
            return string
        if self._needs is not None and not self._needs(string):
            return string
        return self.regex.sub(repl, string)


_DIGITS = re.compile(r"\d")


def digit_count(text: str) -> int:
    """How many (Unicode) digits ``text`` holds. A long ASCII text (a page) has only ASCII digits, counted
    with ten ``str.count`` scans, far cheaper than the regex there (but not in a short one)."""
    if len(text) > 500 and text.isascii():
        return sum(map(text.count, "0123456789"))
    return len(_DIGITS.findall(text))


# Most chat messages have no digit, "@" or URL, and few page texts have a phone number's ten digits: their
# passes below are skipped. (A URL has a scheme, "www." or a dot before one of its top-level domains.)
# Each guard is something every match of its pattern above needs: change them together (test_normalize
# checks each guarded pass against its plain pattern on generated texts).
_EMAIL = _Guarded(_EMAIL, lambda s: "@" in s)
_URL = _Guarded(_URL, re.compile(r"://|www\.|\.(?:" + _TLDS + r")\b").search)
# A sum of money is a currency sign before a digit, or a digit (with more digits, dots and commas) before a
# unit, and so starts with one of those: the guard's search jumps from one to the next.
_MONEY = _Guarded(
    _MONEY,
    re.compile(r"[$£€¥₫\d](?:(?<=[$£€¥₫])\s?\d|(?<=\d)[\d.,]*\s?[bcdegknptuv])").search,
    digits=1,
)
# A phone number and an account number have ten digits or more; a number has two (three without a "." or
# ",").
_PHONE, _LONG_NUMBER = (_Guarded(p, digits=10) for p in (_PHONE, _LONG_NUMBER))
_NUMBER = _Guarded(_NUMBER, digits=2)
# A leetspeak word is letters and digits or symbols only, so somewhere a letter and one of those meet.
_LEET_WORD = _Guarded(_LEET_WORD, re.compile(r"[0-9@$!|](?:(?=[a-z])|(?<=[a-z].))").search)
# A letter typed three times or more: in a long text, 26 substring searches find whether there is one faster
# than the pattern, which tries at every letter (in a short one, the calls cost more than they save).
_TRIPLES = tuple(letter * 3 for letter in "abcdefghijklmnopqrstuvwxyz")
_REPEATS = _Guarded(_REPEATS, lambda s: len(s) < 300 or any(map(s.__contains__, _TRIPLES)))
_LONG_RUN = _Guarded(_LONG_RUN, lambda s: len(s) > 32 and max(map(len, s.split()), default=0) > 32)
# Whether ``_INSERTED_NOISE`` finds anything, found faster: a search that starts at a noise character (the
# regex engine skips ahead to one) rather than at every letter.
_NOISE_BETWEEN_LETTERS = re.compile(
    rf"[{_NOISE_CHARS}](?<=[^\W\d_][{_NOISE_CHARS}])[{_NOISE_CHARS}]*(?=[^\W\d_])"
)
# Teen-code is replaced only as a whole run of word characters and apostrophes, so a text is split into
# such runs and what lies between them, and each run that is a key is replaced.
_RUNS = re.compile(r"([^\w']+)")


def _teencode_keys(table: dict[str, str]) -> frozenset[str]:
    if not all(re.fullmatch(r"\w+", key) for key in table):
        raise ValueError("teen-code keys must be word characters only: they are matched as whole runs")
    return frozenset(table)


_TEENCODE_KEYS = {lang: _teencode_keys(table) for lang, table in _TEENCODE.items()}
_TEENCODE_KEYS_ASCII = {
    lang: frozenset(key.encode() for key in keys) for lang, keys in _TEENCODE_KEYS.items()
}
# An ASCII text's runs, split out of its bytes: far cheaper than the regex, enough to see that none is a key.
_ASCII_RUNS_ONLY = _spaces_except(lambda ch: ch.isalnum() or ch in "_'")


def expand_teencode(text: str, lang: str) -> str:
    """``text`` with each teen-code key of ``lang`` that stands alone (not inside a run of word characters
    and apostrophes) replaced by what it stands for."""
    if text.isascii() and _TEENCODE_KEYS_ASCII[lang].isdisjoint(
        text.encode().translate(_ASCII_RUNS_ONLY).split()
    ):
        return text
    parts = _RUNS.split(text)
    if _TEENCODE_KEYS[lang].isdisjoint(parts):
        return text
    get = _TEENCODE[lang].get
    return "".join([get(part, part) for part in parts])


def _url_words(match: re.Match[str]) -> str:
    url = re.sub(r"^(?:https?://)?(?:www\.)?", "", match.group(0))
    words = re.findall(r"[a-z0-9]+", url)[:8]
    host = re.split(r"[/?#:]", url, maxsplit=1)[0].rstrip(".")
    odd = host in _SHORTENERS or host.rpartition(".")[2] in _THROWAWAY_TLDS
    return f" {URL_TOKEN} {ODD_LINK_TOKEN if odd else ''} {' '.join(words)} "


def _obfuscated(match: re.Match[str]) -> str:
    word = match.group(0)
    inserted = _INSERTED_NOISE.findall(word)
    # Lists typed without spaces ("toan,ly,hoa") are ordinary: commas alone take three insertions.
    if len(inserted) < (3 if all(piece[1:] == "," for piece in inserted) else 2):
        return word
    return f" {OBFUSCATED_TOKEN} {_NOISE.sub('', word)} "


def _leet(match: re.Match[str]) -> str:
    word = match.group(0)
    if word.isdigit() or re.fullmatch(r"\d+(?:k|m|tr|h|s|x|st|nd|rd|th|pm|am|d|p|g)", word):
        return word  # numbers, "500k", "2nd", "10pm": not leetspeak
    return word.translate(_LEET_MAP)


def normalize(text: str, lang: str | None = None) -> str:
    """The canonical, folded form of ``text`` that the model's vectorizers read."""
    lang = lang or detect_lang(text)
    s = fold(text)
    s = _EMAIL.sub(f" {EMAIL_TOKEN} ", s)
    s = _URL.sub(_url_words, s)
    digits = digit_count(s)  # what every pass below can find at most: they only take digits away
    s = _MONEY.sub(f" {MONEY_TOKEN} ", s, digits)
    s = _PHONE.sub(f" {PHONE_TOKEN} ", s, digits)
    s = _LONG_NUMBER.sub(f" {ACCOUNT_TOKEN} ", s, digits)
    s = _NUMBER.sub(f" {NUMBER_TOKEN} ", s, digits)
    if _NOISE_BETWEEN_LETTERS.search(s):
        s = _NOISY_WORD.sub(_obfuscated, s)
    s = _LEET_WORD.sub(_leet, s)
    s = _REPEATS.sub(r"\1\1", s)
    s = _LONG_RUN.sub(r"\1", s)
    return expand_teencode(s, lang)


def normalize_many(texts: list[str]) -> list[str]:
    """``normalize`` over a batch (the model pipeline's first step)."""
    return [normalize(t) for t in texts]


# -- from a normalised phrase back to the words as typed ----------------------------------------------
_LEET_CLASSES = {
    "o": "[o0]",
    "i": "[i1!l|]",
    "e": "[e3]",
    "a": "[a4@]",
    "s": "[s5$]",
    "t": "[t7]",
    "b": "[b8]",
    "l": "[l1|]",
}
_TOKEN_PATTERNS = {
    URL_TOKEN: _URL.pattern,
    ODD_LINK_TOKEN: _URL.pattern,
    EMAIL_TOKEN: _EMAIL.pattern,
    MONEY_TOKEN: _MONEY.pattern,
    PHONE_TOKEN: _PHONE.pattern,
    ACCOUNT_TOKEN: _LONG_NUMBER.pattern,
    NUMBER_TOKEN: _NUMBER.pattern,
    OBFUSCATED_TOKEN: _NOISY_WORD.pattern,
}


@lru_cache(maxsize=1024)
def _spelled_char(ch: str) -> str:
    return _LEET_CLASSES.get(ch, re.escape(ch)) + ("+" if ch.isalpha() else "")


def _spelled(word: str) -> str:
    return "".join(map(_spelled_char, word))


@lru_cache(maxsize=64)
def _keys_by_meaning(lang: str) -> dict[str, list[str]]:
    """Each teen-code expansion of ``lang`` and the keys that stand for it, in the table's order."""
    keys: dict[str, list[str]] = {}
    for key, value in _TEENCODE[lang].items():
        keys.setdefault(value, []).append(key)
    return keys


@lru_cache(maxsize=4096)
def _word_alternatives(word: str, lang: str) -> tuple[str, ...]:
    """A (non-token) word's pattern's alternatives, in the order it tries them (classifier.evidence too)."""
    alternatives = [_spelled(word)] + [re.escape(k) for k in _keys_by_meaning(lang).get(word, ())]
    return tuple(sorted(set(alternatives), key=len, reverse=True))


@lru_cache(maxsize=4096)
def _word_pattern(word: str, lang: str) -> str:
    if word in _TOKEN_PATTERNS:
        return f"(?:{_TOKEN_PATTERNS[word]})"
    return "(?:" + "|".join(_word_alternatives(word, lang)) + ")"


@lru_cache(maxsize=64)
def _multiword_expansions(lang: str) -> dict[tuple[str, ...], list[str]]:
    return {tuple(value.split()): keys for value, keys in _keys_by_meaning(lang).items() if " " in value}


@lru_cache(maxsize=8192)
def phrase_parts(phrase: str, lang: str) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """A normalised phrase as its evidence pattern reads it, part by part: ``(words, keys)``, where ``words``
    is a run that one of the teen-code ``keys`` expands to (typed as a key or spelled out), or a single word
    with no keys. Shared by :func:`evidence_pattern` and ``classifier.evidence``."""
    words = phrase.split()
    expansions = _multiword_expansions(lang)
    parts: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    i = 0
    while i < len(words):
        for span in (3, 2):
            chunk = tuple(words[i : i + span])
            if len(chunk) == span and chunk in expansions:
                parts.append((chunk, tuple(expansions[chunk])))
                i += span
                break
        else:
            parts.append(((words[i],), ()))
            i += 1
    return tuple(parts)


@lru_cache(maxsize=8192)
def evidence_pattern(phrase: str, lang: str) -> re.Pattern[str]:
    """A pattern that finds a normalised phrase in the *folded* original text (see ``fold_keep_length``).

    ``classifier.evidence`` builds the same alternatives to match them without compiling: change both
    together (``tests/classifier/test_evidence.py`` checks that they agree).
    """
    parts: list[str] = []
    for words, keys in phrase_parts(phrase, lang):
        spelled = r"[\W_]+".join(_word_pattern(w, lang) for w in words)
        parts.append(f"(?:{'|'.join(map(re.escape, keys))}|{spelled})" if keys else spelled)
    return re.compile(r"(?<![^\W_])" + r"[\W_]+".join(parts) + r"(?![^\W_])")


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    folded = fold(ch)
    if len(folded) == 1:
        return folded
    lowered = ch.lower()
    return lowered if len(lowered) == 1 else "?"


def fold_keep_length(text: str) -> str:
    """Fold case and diacritics character by character, so that offsets still index ``text``."""
    if text.isascii():  # each ASCII character folds to its lower case
        return text.lower()
    return "".join(map(_fold_char, text))
