"""Search-box matching for short, partial input: prefixes, typos and Chinese fragments.

`/answer` gets whole messages; a search box gets "withdr", "pasword" or "提币" while the user
is still typing. `SearchIndex` is built once per index from the articles' titles, questions
and tags and gives every article a term score for such input:

- Latin words: the exact word, a word the input is a prefix of (the word being typed), or,
  for a typo, a word or prefix one edit away. Typos are found through a deletion
  neighbourhood built once, so a lookup never scans the vocabulary; rapidfuzz confirms the
  edit distance of the few candidates.
- Chinese: the share of the input's character bigrams (the character itself for one
  character) found in the article's titles and questions, so "提币没到账" finds
  "欧易提币成功了币没到账" without word segmentation.

It also marks the matched terms in titles and snippets (`<mark>`, the rest HTML-escaped, and
character offsets). The service blends the term score with the hybrid retrieval score.
"""

from __future__ import annotations

import bisect
import html
import re
import threading
import unicodedata
from collections import OrderedDict, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

from functools import lru_cache

from rapidfuzz.distance import OSA

from assistant.core import languages
from assistant.understanding.entities import CHAINS, TOKENS
from assistant.understanding.text import EN_STOPWORDS, HAN_CHARS, detect_lang, normalize
from assistant.core.types import Article, Lang

#: How much a match in each field counts (titles say what an article is about).
TITLE_WEIGHT = 1.0
OTHER_WEIGHT = 0.9
#: A word found by its prefix counts this much plus the rest times the typed share.
PREFIX_BASE = 0.6
#: A word found despite one typo counts this share of a clean match.
TYPO_FACTOR = 0.8
#: A typed word that exists is corrected only to spellings in this many times more articles.
TYPO_SPREAD = 3
#: Shortest input for prefix matching, and for typo matching (shorter typos match noise).
MIN_PREFIX = 2
MIN_TYPO = 4
#: Most vocabulary words one typed prefix may expand to.
MAX_EXPANSIONS = 200
#: A query in a language written in Latin letters gets results in it rather than the page's
#: only with this many of its words (its registry hint words, or words only its articles
#: use), making at least this share of the query's words that are not shared names: a single
#: word ("password", "us") or names typed in every language ("USDT TRX") keep the page's.
LANG_MIN_WORDS = 2
LANG_MIN_SHARE = 0.5

_TOKENS = re.compile(f"[{HAN_CHARS}]+|[a-z0-9]+")
_HAN_RUN = re.compile(f"[{HAN_CHARS}]+")
_HAN_CHAR = re.compile(f"[{HAN_CHARS}]")
_LATIN_WORDS = re.compile(r"[a-z0-9]+")
_MARKDOWN = re.compile(r"(?m)\*\*|__|[#`]|^\s*>\s?|!?\[([^\]]*)\]\([^)]*\)")
_TRAILING_WORD = re.compile(r"[A-Za-z0-9]+$")
_LIST_NUMBER = re.compile(r"(?m)^\s*(?:[-*+]|\d+\.)\s+")
_LETTER_WORDS = re.compile(r"[^\W\d_]+")
#: Hashes, addresses, amounts and versions ("0x12ab", "100u", "2fa"): no language's words.
_CODES = re.compile(r"\b\w*\d\w*\b|[0-9A-Za-z]{16,}", re.ASCII)
#: Token and chain names: the same words whatever language the user writes.
_NAMES = frozenset({t.lower() for t in TOKENS} | {alias for aliases in CHAINS.values()
                                                  for alias in aliases if alias.isalpha()
                                                  and alias.isascii()})


@dataclass(frozen=True)
class TokenMatch:
    """What one token of the input matched in the vocabulary.

    `words` maps each matched vocabulary word to the strength of the match in [0, 1];
    `whole` and `prefixes` say what to mark in a text (whole words; word beginnings);
    `units` are the Chinese bigrams (or the single character) of a Han token.
    """

    token: str
    words: dict[str, float]
    whole: frozenset[str] = frozenset()
    prefixes: frozenset[str] = frozenset()
    units: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueryTerms:
    """The tokens of a search input and their matches."""

    tokens: tuple[TokenMatch, ...]

    @property
    def empty(self) -> bool:
        return not self.tokens


@dataclass(frozen=True)
class Marked:
    """A text with the spans (start, end; character offsets) that matched the input."""

    text: str
    spans: tuple[tuple[int, int], ...]

    def html(self) -> str:
        """The text HTML-escaped, with each matched span in `<mark>`."""
        out, last = [], 0
        for start, end in self.spans:
            out.append(html.escape(self.text[last:start]))
            out.append(f"<mark>{html.escape(self.text[start:end])}</mark>")
            last = end
        out.append(html.escape(self.text[last:]))
        return "".join(out)


class SearchIndex:
    """Prefix, typo and Chinese-fragment lookup over titles, questions and tags."""

    def __init__(self, articles: Iterable[Article]) -> None:
        words: dict[str, dict[str, float]] = defaultdict(dict)  # word -> article -> weight
        units: dict[str, dict[str, float]] = defaultdict(dict)  # han unit -> article -> weight
        articles_list = list(articles)
        for a in articles_list:
            fields = [(a.title, TITLE_WEIGHT)] + [(t, OTHER_WEIGHT) for t in a.questions + a.tags]
            for text, weight in fields:
                for token in _TOKENS.findall(normalize(text)):
                    target = units if _HAN_RUN.match(token) else words
                    keys = _han_units(token, all_chars=True) if target is units else (
                        [token] if token not in EN_STOPWORDS else [])
                    for key in keys:
                        if weight > target[key].get(a.id, 0.0):
                            target[key][a.id] = weight
        self._words = dict(words)
        self._units = dict(units)
        self._lang_words, self._shared = _language_words(articles_list)
        self._vocab = sorted(self._words)
        self._typos = _deletion_neighbourhood(self._vocab)
        self._spreads: dict[str, int] = {}

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocab)

    def query_lang(self, query: str, page: Lang) -> Lang:
        """The language to show results in: the page's, unless the query clearly is in another
        registered language.

        Clear means written in a language's own script (Chinese characters on the English
        page; detected as `detect_lang` does), or, for a language written in Latin letters,
        at least `LANG_MIN_WORDS` of its words making `LANG_MIN_SHARE` of the query's words
        ("how do I reset my password" on the Chinese page). Codes, token and chain names and
        the words articles of several languages use (USDT, TokenPocket, wallet) are nobody's
        evidence, so what Chinese users type in Latin letters keeps the page's language, and
        so does a query holding the page's own script. Costs a few set lookups: it runs on
        every keystroke.
        """
        own_script = languages.get(page).script
        if own_script and _script_re(own_script).search(query):
            return page
        detected = detect_lang(query)
        if languages.get(detected).script:
            return detected
        latin = [lg for lg in languages.all_languages() if not lg.script]
        if not latin:
            return page
        scripted = [self._lang_words.get(lg.code, frozenset()) for lg in languages.all_languages()
                    if lg.script]
        words = _plain_words(query)
        hinted = {w for lg in latin for w in words if w in lg.hint_words}
        counted = [w for w in words if w in hinted or not (
            w in self._shared or w in _NAMES or any(w in own for own in scripted))]
        evidence = {lg.code: sum(w in lg.hint_words or w in self._lang_words.get(lg.code, ())
                                 for w in counted) for lg in latin}
        best = max(evidence, key=evidence.__getitem__)
        if evidence[best] >= LANG_MIN_WORDS and evidence[best] >= LANG_MIN_SHARE * len(counted):
            return best
        return page

    def expand(self, query: str) -> QueryTerms:
        """Match every token of the input; stop words only count when nothing else is typed."""
        tokens = _TOKENS.findall(normalize(query))
        content = [t for t in tokens if t not in EN_STOPWORDS]
        matches = []
        for token in content or tokens:
            if _HAN_RUN.match(token):
                matches.append(TokenMatch(token, {}, units=tuple(_han_units(token))))
            else:
                matches.append(self._expand_latin(token))
        return QueryTerms(tuple(matches))

    def settled(self, query: str) -> str:
        """The input without a word still being typed: what is worth embedding.

        A box sends "withdrawal not arr" while the user types; the model reads "arr" as noise,
        and "withdrawal not" was embedded (and cached) a few keystrokes ago. The last Latin
        word counts as typed when a space or punctuation follows it or the KB knows the word.
        """
        text = query.rstrip()
        if len(text) < len(query) or not text:
            return text
        match = _TRAILING_WORD.search(text)
        if match is None:
            return text
        word = normalize(match.group())
        if word in self._words or word in EN_STOPWORDS and match.start() > 0:
            return text
        return text[:match.start()].rstrip()

    def score(self, terms: QueryTerms) -> dict[str, float]:
        """Each matching article's term score in [0, 1]: the mean over tokens of its best match."""
        if terms.empty:
            return {}
        total: dict[str, float] = defaultdict(float)
        for tm in terms.tokens:
            for aid, s in self._token_scores(tm).items():
                total[aid] += s
        n = len(terms.tokens)
        return {aid: s / n for aid, s in total.items()}

    def mark(self, text: str, terms: QueryTerms) -> Marked:
        """`text` with the input's matches marked (whole words, typed prefixes, Chinese units)."""
        return Marked(text, tuple(_merge(self._spans(text, terms))))

    def snippet(self, body: str, terms: QueryTerms, limit: int) -> Marked:
        """About `limit` characters of plain text, around the first match when there is one.

        Chinese gets half as many characters: each is about two Latin letters wide.
        """
        plain = plain_text(body)
        if len(_HAN_CHAR.findall(plain[:limit])) > limit // 4:
            limit = max(20, limit // 2)
        spans = _merge(self._spans(plain, terms))
        start = _window_start(plain, spans[0][0], limit) if spans else 0
        end = _window_end(plain, start, limit)
        prefix = "…" if start > 0 else ""
        suffix = "…" if end < len(plain) else ""
        text = prefix + plain[start:end].strip() + suffix
        lead = len(prefix) - (len(plain[start:end]) - len(plain[start:end].lstrip()))
        shifted = [(s - start + lead, e - start + lead) for s, e in spans if s >= start and e <= end]
        return Marked(text, tuple(shifted))

    # ------------------------------------------------------------ internals

    def _expand_latin(self, token: str) -> TokenMatch:
        found: dict[str, float] = {}
        whole: set[str] = set()
        prefixes: set[str] = set()
        if token in self._words:
            found[token] = 1.0
            whole.add(token)
        if len(token) >= MIN_PREFIX and not token.isdigit():
            for word in self._with_prefix(token):
                if word != token:
                    found[word] = max(found.get(word, 0.0), _prefix_strength(token, word))
                    prefixes.add(token)
        if len(token) >= MIN_TYPO and not token.isdigit():
            for near in self._near(token):
                for word in self._with_prefix(near):
                    strength = TYPO_FACTOR * (1.0 if word == near else _prefix_strength(near, word))
                    if strength > found.get(word, 0.0):
                        found[word] = strength
                    (whole if word == near else prefixes).add(near)
        return TokenMatch(token, found, frozenset(whole), frozenset(prefixes))

    def _with_prefix(self, prefix: str) -> list[str]:
        """Vocabulary words starting with `prefix` (a range of the sorted vocabulary)."""
        lo = bisect.bisect_left(self._vocab, prefix)
        hi = bisect.bisect_left(self._vocab, prefix + "\uffff", lo)
        return self._vocab[lo:min(hi, lo + MAX_EXPANSIONS)]

    def _near(self, token: str) -> set[str]:
        """Words and word prefixes one edit (OSA: insert, delete, substitute, swap) away.

        A token that is itself a word (or a prefix) is only corrected towards much more
        common spellings: "pasword" (a typo one question kept) to "password", not "send"
        to "seed".
        """
        own = self._spread(token)
        candidates: set[str] = set()
        for key in {token, *_deletes(token)}:
            candidates.update(self._typos.get(key, ()))
        return {c for c in candidates if c != token and self._spread(c) >= TYPO_SPREAD * own
                and OSA.distance(token, c, score_cutoff=1) <= 1}

    def _spread(self, prefix: str) -> int:
        """In how many articles a word starting with `prefix` occurs (cached per prefix)."""
        count = self._spreads.get(prefix)
        if count is None:
            ids: set[str] = set()
            for word in self._with_prefix(prefix):
                ids.update(self._words[word])
            count = self._spreads[prefix] = len(ids)
        return count

    def _token_scores(self, tm: TokenMatch) -> dict[str, float]:
        best: dict[str, float] = {}
        if tm.units:
            for unit in tm.units:
                for aid, weight in self._units.get(unit, {}).items():
                    best[aid] = best.get(aid, 0.0) + weight / len(tm.units)
            return best
        for word, strength in tm.words.items():
            for aid, weight in self._words[word].items():
                s = strength * weight
                if s > best.get(aid, 0.0):
                    best[aid] = s
        return best

    def _spans(self, text: str, terms: QueryTerms) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        whole = set().union(*(tm.whole for tm in terms.tokens)) if terms.tokens else set()
        prefixes = sorted(set().union(*(tm.prefixes for tm in terms.tokens)) if terms.tokens
                          else set(), key=len, reverse=True)
        folded = normalize_chars(text)
        if whole or prefixes:
            for m in _LATIN_WORDS.finditer(folded):
                word = m.group()
                if word in whole:
                    spans.append(m.span())
                    continue
                for p in prefixes:
                    if word.startswith(p):
                        spans.append((m.start(), m.start() + len(p)))
                        break
        for tm in terms.tokens:
            for unit in tm.units:
                at = folded.find(unit)
                while at >= 0:
                    spans.append((at, at + len(unit)))
                    at = folded.find(unit, at + 1)
        return spans


class ResultCache:
    """A small thread-safe LRU for search results (search boxes repeat the same prefixes)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> object | None:
        if self.size <= 0:
            return None
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: object) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


def plain_text(markdown: str) -> str:
    """An article body as one line of plain text (Markdown marks and link targets removed)."""
    text = _LIST_NUMBER.sub("", markdown)
    text = _MARKDOWN.sub(lambda m: m.group(1) or "", text)
    return " ".join(text.split())


def normalize_chars(text: str) -> str:
    """Lower case and full-width folding that keeps every character where it was.

    Offsets found in the result are offsets in `text`; where NFKC would change the length
    (rare ligatures), characters are folded one by one and the odd ones left as they are.
    """
    folded = unicodedata.normalize("NFKC", text).lower()
    if len(folded) == len(text):
        return folded
    out = []
    for ch in text:
        f = unicodedata.normalize("NFKC", ch).lower()
        out.append(f if len(f) == 1 else ch)
    return "".join(out)


def _plain_words(text: str) -> list[str]:
    """The words of a text written in letters but no registered language's own script,
    lower case, codes left out."""
    text = unicodedata.normalize("NFKC", text).lower()
    scripts = _scripts_re(languages.version())
    if scripts is not None:
        text = scripts.sub(" ", text)  # "tp钱包" holds the word "tp"
    return _LETTER_WORDS.findall(_CODES.sub(" ", text))


@lru_cache(maxsize=8)
def _scripts_re(_version: int) -> re.Pattern[str] | None:
    """Any registered language's own script (the registry's version keys the cache)."""
    classes = [lg.script for lg in languages.all_languages() if lg.script]
    return re.compile("|".join(classes)) if classes else None


@lru_cache(maxsize=8)
def _script_re(char_class: str) -> re.Pattern[str]:
    return re.compile(char_class)


def _language_words(articles: list[Article]) -> tuple[dict[Lang, frozenset[str]], frozenset[str]]:
    """Per language, the letter words of titles, questions and tags that only its articles
    use; and the words articles of several languages use. Latin words in the articles of a
    language with its own script ("usdt", "tokenpocket" in Chinese questions) are names its
    users type: `query_lang` counts them for no language."""
    langs_of: dict[str, set[Lang]] = defaultdict(set)
    for a in articles:
        for text in (a.title, *a.questions, *a.tags):
            for word in _plain_words(text):
                langs_of[word].add(a.lang)
    own: dict[Lang, set[str]] = defaultdict(set)
    for word, langs in langs_of.items():
        if len(langs) == 1:
            own[next(iter(langs))].add(word)
    shared = frozenset(w for w, langs in langs_of.items() if len(langs) > 1)
    return {lang: frozenset(words) for lang, words in own.items()}, shared


def _han_units(run: str, all_chars: bool = False) -> list[str]:
    """Bigrams of a Han run (the character itself for one character).

    At index time every character is a unit too, so one typed character finds its articles.
    """
    if len(run) == 1:
        return [run]
    bigrams = [run[i:i + 2] for i in range(len(run) - 1)]
    return bigrams + list(run) if all_chars else bigrams


def _prefix_strength(prefix: str, word: str) -> float:
    return PREFIX_BASE + (1.0 - PREFIX_BASE) * len(prefix) / len(word)


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def _deletion_neighbourhood(vocab: list[str]) -> dict[str, tuple[str, ...]]:
    """Every word prefix (of typo length and up) and each of its one-letter deletions -> prefixes.

    An input one edit away from a prefix shares a key with it: a deletion of one of them, or
    the other itself. Built once per index; a lookup is a few dictionary reads.
    """
    table: dict[str, set[str]] = defaultdict(set)
    for word in vocab:
        if word.isdigit():
            continue
        for n in range(MIN_TYPO - 1, len(word) + 1):
            prefix = word[:n]
            table[prefix].add(prefix)
            for d in _deletes(prefix):
                table[d].add(prefix)
    return {k: tuple(v) for k, v in table.items()}


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _window_start(text: str, first: int, limit: int) -> int:
    """Where a snippet showing the match at `first` starts: a sentence or word boundary before."""
    if first < limit * 0.6:
        return 0
    earliest = max(0, first - limit // 3)
    for mark in (". ", "。", "！", "？", "; ", "："):
        at = text.rfind(mark, earliest, first)
        if at >= 0:
            return at + len(mark)
    space = text.find(" ", earliest, first)
    return space + 1 if space >= 0 else earliest


def _window_end(text: str, start: int, limit: int) -> int:
    end = start + limit
    if end >= len(text):
        return len(text)
    space = text.rfind(" ", start + int(limit * 0.6), end)
    return space if space >= 0 else end
