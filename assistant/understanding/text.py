"""Text normalisation, language detection and the lexical analyzer (Chinese and English).

Chinese has no spaces, so the analyzer emits character unigrams and bigrams for Han runs,
plus the words jieba segments (with a wallet vocabulary added);
for Latin script it emits words and character 3-4-grams, which make matching tolerant to
typos ("pasword", "tranfer") and to partial words ("withdr").
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter
from functools import lru_cache

import numpy as np

from assistant.core import languages
from assistant.core.types import Lang

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{_HAN}]")
#: Character class body of the Han (Chinese) characters, for patterns built elsewhere.
HAN_CHARS = _HAN
_RUNS = re.compile(f"[{_HAN}]+|[a-z0-9]+(?:['’][a-z]+)?")
_WORD_RE = re.compile(r"[A-Za-z]+")
_LATIN_WORD_RE = re.compile(r"[^\W\d_]+")
_CODE_RE = re.compile(r"\b\w*\d\w*\b|[0-9A-Za-z]{16,}", re.ASCII)

#: English function words that carry no topic; they are kept as n-grams but not as words.
_EN_STOP = EN_STOPWORDS = frozenset(
    "a an the i me my we our you your it its is are was were be been am do does did to of in "
    "on at for from and or but so if can could would should will how what why when where which "
    "who this that these those there here with about into please help hi hello just have has "
    "had not no any some get got".split()
)

#: Public name of the stop words, for modules that tokenize on their own (search box).
EN_STOPWORDS = _EN_STOP

#: Wallet words jieba's general dictionary splits wrongly; kept whole as word features.
DOMAIN_WORDS = (
    "助记词", "私钥", "公钥", "钱包", "冷钱包", "观察钱包", "矿工费", "手续费", "燃料费", "提币", "充币",
    "提现", "充值", "到账", "转账", "收款", "收款地址", "波场", "以太坊", "币安链", "币安智能链", "马蹄链",
    "能量", "带宽", "质押", "授权", "取消授权", "空投", "钓鱼", "假客服", "客服", "人工客服", "转人工",
    "交易哈希", "哈希", "区块浏览器", "链上", "跨链", "闪兑", "兑换", "滑点", "合约地址", "自定义代币",
    "自定义网络", "节点", "备注", "标签", "地址簿", "指纹", "面容", "应用锁", "交易密码", "被盗", "盗币",
    "重置密码", "忘记密码", "导入钱包", "创建钱包", "备份", "卡住", "打包中", "加速", "取消交易",
    "区块链", "区块", "加密货币", "数字货币", "虚拟币", "币圈", "公链", "交易所", "钱包地址",
)

#: Written Cantonese words and particles the Mandarin dictionary lacks (characters that are
#: also common Mandarin words, such as 话 or 系, are left out: they would re-cut Mandarin).
CANTONESE_WORDS = (
    "嘅", "唔", "咗", "俾", "畀", "啲", "嘢", "佢", "佢哋", "我哋", "你哋", "冇", "喺", "咩", "乜", "嚟",
    "睇", "搵", "攞", "啱", "點算", "點解", "邊度", "邊個", "而家", "依家", "咁", "噉", "㗎", "嗰",
    "呢個", "嗰個", "追返", "攞返", "拎返", "搞掂", "唔該", "多謝", "唔係", "有冇", "先至", "即係",
)


#: Bumped whenever `normalize` or `analyze` changes what they produce: an index built with
#: another version is stale (its lexical features were computed differently).
ANALYZER_VERSION = "2b"


@lru_cache(maxsize=1)
def _jieba():
    """jieba, loaded once, with the wallet vocabulary added."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.dt.check_initialized()
    _BASE_TOTAL.append(jieba.dt.total)
    for word in DOMAIN_WORDS:
        jieba.add_word(word, freq=200_000)
    for word in CANTONESE_WORDS:  # written Cantonese (Hong Kong), read as simplified
        jieba.add_word(to_simplified(word), freq=100_000)
    return jieba


@lru_cache(maxsize=1)
def _t2s():  # noqa: ANN202 - opencc has no types
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional Chinese as simplified (OpenCC, phrase-aware); other text unchanged."""
    return _t2s().convert(text)


#: Misspellings common enough to be a rule, each only where its context makes it certain
#: ("到入" is also "收到入账"), applied after script conversion and lower-casing.
TYPOS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[到倒]入(?=钱包|助记词|私钥|账号|wallet|tp|im|新手机)"), "导入"),
    (re.compile(r"(?<![a-z])ustd(?![a-z])"), "usdt"),
    (re.compile(r"转帐"), "转账"),
    (re.compile(r"帐([号户])"), r"账\1"),
)


@lru_cache(maxsize=1)
def _s2t():  # noqa: ANN202 - opencc has no types
    import opencc

    return opencc.OpenCC("s2tw")


def to_traditional(text: str) -> str:
    """Simplified Chinese as traditional (OpenCC); other text unchanged."""
    return _s2t().convert(text)


#: The dictionary's total count before the wallet vocabulary was added (set by `_jieba`).
_BASE_TOTAL: list[int] = []


def word_log_probability(text: str) -> float:
    """Log probability of `text` under jieba's word frequencies (best segmentation), as the
    general dictionary gives it: the wallet words added for features make their own words
    likely without making every other word rarer."""
    import math

    dt = _jieba().dt
    logtotal = math.log(_BASE_TOTAL[0])
    dag = dt.get_DAG(text)
    freq = dt.FREQ
    n = len(text)
    route = [0.0] * (n + 1)
    for i in range(n - 1, -1, -1):
        route[i] = max(math.log(freq.get(text[i:j + 1]) or 1) - logtotal + route[j + 1]
                       for j in dag[i])
    return route[0]


def normalize(text: str) -> str:
    """NFKC (full-width to half-width), traditional Chinese as simplified (the KB and every
    model read one script; OpenCC's Taiwan-vocabulary mode measured no better on the blind
    dev set), lower case, collapsed white space, the
    common misspellings in `TYPOS` corrected."""
    text = unicodedata.normalize("NFKC", text)
    if _HAN_RE.search(text):
        text = to_simplified(text)
    text = " ".join(text.lower().split())
    for pattern, right in TYPOS:
        text = pattern.sub(right, text)
    return text


def is_traditional(text: str) -> bool:
    """True when the text's Chinese is written in traditional characters (replies follow)."""
    return _HAN_RE.search(text) is not None and to_simplified(text) != text


def detect_lang(text: str) -> Lang:
    """The registered language the text is written in.

    A language with a script of its own (Chinese) wins when its characters are at least as
    many as the Latin words; otherwise the Latin-script language with the most of its
    `hint_words` (at least one in five words), else the default. Hashes, addresses and
    other long codes are ignored: they are not language.
    """
    words: list[str] | None = None
    best, best_count = None, 0
    for language in languages.all_languages():
        if language.script:
            count = len(_script_re(language.script).findall(text))
            if count > best_count:
                best, best_count = language.code, count
    if best is not None:
        words = _WORD_RE.findall(_CODE_RE.sub(" ", text))
        if best_count >= len(words):
            return best
    hinted = [lg for lg in languages.all_languages() if lg.hint_words]
    if hinted:
        words = words if words is not None else _WORD_RE.findall(_CODE_RE.sub(" ", text))
        lowered = [w.lower() for w in _LATIN_WORD_RE.findall(text)]
        counts = {lg.code: sum(w in lg.hint_words for w in lowered) for lg in hinted}
        code, count = max(counts.items(), key=lambda kv: kv[1])
        if count and count * 5 >= len(lowered):
            return code
    return languages.default().code


@lru_cache(maxsize=8)
def _script_re(char_class: str) -> re.Pattern[str]:
    return re.compile(char_class)


def has_han(text: str) -> bool:
    return _HAN_RE.search(text) is not None


def analyze(text: str) -> list[str]:
    """Lexical features of a text (module-level so fitted vectorizers pickle)."""
    features: list[str] = []
    for run in _RUNS.findall(normalize(text)):
        if _HAN_RE.match(run):
            features.extend(run)
            features.extend(run[i:i + 2] for i in range(len(run) - 1))
            if len(run) > 2:
                features.extend("w:" + w for w in _jieba().lcut(run) if len(w) >= 2)
            continue
        if run not in _EN_STOP:
            features.append("w:" + run)
        padded = f" {run} "
        for n in (3, 4):
            features.extend(padded[i:i + n] for i in range(len(padded) - n + 1))
    return features


def pre_analyzed(features: list[str]) -> list[str]:
    """Analyzer for vectorizers fed with `analyze` output (a query is analyzed only once)."""
    return features


class SparseTfidf:
    """The query side of a fitted TfidfVectorizer (sublinear tf, idf, l2 norm), in numpy.

    Gives the same weights as `vectorizer.transform([tokens])` for one query, as (feature
    indices, weights), in microseconds instead of the milliseconds sklearn's input checks
    take; the matrices are built with sklearn at build or load time.
    """

    def __init__(self, vocabulary: dict[str, int], idf: np.ndarray) -> None:
        self.vocabulary = vocabulary
        self.idf = np.asarray(idf, dtype=np.float64)

    @classmethod
    def from_vectorizer(cls, vectorizer) -> "SparseTfidf":
        return cls(vectorizer.vocabulary_, vectorizer.idf_)

    def __call__(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        vocab = self.vocabulary
        counts = Counter(vocab[t] for t in tokens if t in vocab)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        tf = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64,
                         count=len(counts))
        vals = tf * self.idf[idx]
        return idx, vals / np.sqrt(vals @ vals)


def sparse_dot(matrix_t, idx: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """`matrix @ q` for a query `q` given as (indices, weights), where `matrix_t` is the
    transposed matrix as CSR arrays (`indptr`, `indices`, `data`, `width`: one row per
    feature): only the query's rows are read."""
    indptr = matrix_t.indptr
    starts, lengths = indptr[idx], indptr[idx + 1] - indptr[idx]
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(matrix_t.width, dtype=np.float64)
    # Positions of all the query's rows in `indices`/`data`, gathered in one go.
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
    weights = np.repeat(vals, lengths) * matrix_t.data[offsets]
    return np.bincount(matrix_t.indices[offsets], weights=weights, minlength=matrix_t.width)
