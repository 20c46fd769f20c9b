"""The language registry: everything language-specific, declared once per language.

A language is a `Language` value (see `english.py`, `chinese.py`): how to recognise it, the
assistant's fixed replies and labels in it, the words that ask for a person or confirm a
theft in it, and its BIP39 word lists. Every other module asks the registry; none names a
language. Adding one is a module here plus `kb/<code>/`: `register()` it, and the KB loader,
the detector, the decision, the wording, the settings, the API and the CLI all accept it.

The first language registered is the default: replies fall back to it, and its thresholds
are the shared ones that other languages may override (`Settings.lang_thresholds`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from assistant.core.errors import ConfigError
from assistant.core.languages import chinese, english
from assistant.core.languages.language import MESSAGE_KEYS, Language

__all__ = ["MESSAGE_KEYS", "Language", "register", "unregister", "registered", "codes",
           "default", "get", "is_known", "all_languages", "version", "pattern", "validate_code"]

_REGISTRY: dict[str, Language] = {}


def _check(lang: Language) -> None:
    """A language missing a message would fail in front of a user: refuse it up front."""
    if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]+)?", lang.code):
        raise ConfigError(f"language code {lang.code!r}: use a lower-case ISO 639 code, e.g. 'fr'")
    missing = [k for k in MESSAGE_KEYS if k not in lang.messages]
    if missing:
        raise ConfigError(f"language {lang.code!r}: messages missing {', '.join(missing)}")
    for pattern in (*lang.human_request, *lang.human_alone, *lang.filler, *lang.theft_confirm,
                    *lang.skip_words):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"language {lang.code!r}: pattern {pattern!r}: {exc}") from None


def register(lang: Language) -> Language:
    """Add (or replace) a language; every module sees it from the next call on."""
    _check(lang)
    _REGISTRY[lang.code] = lang
    _changed()
    return lang


def unregister(code: str) -> None:
    if code == default().code:
        raise ConfigError(f"language {code!r} is the default and cannot be removed")
    _REGISTRY.pop(code, None)
    _changed()


@contextmanager
def registered(lang: Language) -> Iterator[Language]:
    """The language registered for the duration of a block (tests, tools)."""
    previous = _REGISTRY.get(lang.code)
    register(lang)
    try:
        yield lang
    finally:
        if previous is None:
            unregister(lang.code)
        else:
            register(previous)


def codes() -> tuple[str, ...]:
    """The registered language codes, the default first."""
    return tuple(_REGISTRY)


def default() -> Language:
    return next(iter(_REGISTRY.values()))


def get(code: str) -> Language:
    """The language for a code (the default for one that is not registered)."""
    return _REGISTRY.get(code) or default()


def is_known(code: object) -> bool:
    return isinstance(code, str) and code in _REGISTRY


def all_languages() -> tuple[Language, ...]:
    return tuple(_REGISTRY.values())


def version() -> int:
    """Changes whenever the registry does: caches of compiled patterns key on it."""
    return _version


_version = 0


def _changed() -> None:
    global _version
    _version += 1
    _pattern_cache.cache_clear()


@lru_cache(maxsize=32)
def _pattern_cache(kind: str, template: str, flags: int, _v: int) -> re.Pattern[str]:
    parts = [p for lang in _REGISTRY.values() for p in getattr(lang, kind)]
    alternation = "|".join(f"(?:{p})" for p in parts) if parts else r"(?!x)x"
    return re.compile(template.replace("{}", alternation), flags)


def pattern(kind: str, template: str = "{}", flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """Every registered language's patterns of one kind (`human_request`, `filler`, ...)
    as one compiled regex, placed where `{}` is in `template`: a request for a person is
    one in whichever language it is made."""
    return _pattern_cache(kind, template, flags, _version)


def validate_code(code: str) -> str:
    """For settings and request models: the code if registered, else a clear error."""
    if code not in _REGISTRY:
        raise ValueError(f"{code!r} is not one of {', '.join(_REGISTRY)}")
    return code


register(english.LANGUAGE)
register(chinese.LANGUAGE)
