"""Text features of a prompt: tokens, script and language, attack patterns (standard library only).

Tokens are lower-cased runs of word characters (the same for every window, so vocabularies compare). The language
is a cheap guess for the language-mix feature, not a classifier: the script by Unicode block, and for Latin script
the language whose common function words occur most (at least two), else ``latin-other``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from llmmon.errors import ConfigError

TOKEN = re.compile(r"\w+")
_SCAN_CHARS = 4000  # attack patterns and language are read from the start of very long prompts only

_STOPWORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and is are was to of in for on with my your you i it this that can how what please not "
                    "do does have has be".split()),
    "es": frozenset("el la los las de que y en un una por para con mi es no se lo como qué pedido mis "
                    "está hola gracias".split()),
    "fr": frozenset("le la les de des et est un une pour que dans mon ma mes pas je vous ne sur avec "
                    "bonjour merci".split()),
    "de": frozenset("der die das und ist ich nicht ein eine zu mit mein meine sie es auf für wie hallo "
                    "danke bitte".split()),
    "pt": frozenset("o a os as de que e em um uma para com meu minha não é por do da olá obrigado".split()),
    "it": frozenset("il lo la gli le di che e un una per con mio mia non è sono ciao grazie".split()),
}
_SCRIPTS = (  # (first code point, last code point, script)
    (0x0370, 0x03FF, "greek"), (0x0400, 0x04FF, "cyrillic"), (0x0590, 0x05FF, "hebrew"),
    (0x0600, 0x06FF, "arabic"), (0x0900, 0x097F, "devanagari"), (0x0E00, 0x0E7F, "thai"),
    (0x3040, 0x30FF, "japanese"), (0x3400, 0x9FFF, "cjk"), (0xAC00, 0xD7AF, "hangul"),
)


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens of ``text``."""
    return TOKEN.findall(text.lower())


def script_of(text: str) -> str:
    """The dominant non-Latin script of ``text`` by letter count, or ``latin``."""
    counts: Counter[str] = Counter()
    for ch in text:
        o = ord(ch)
        if o < 0x0370:
            continue
        for lo, hi, name in _SCRIPTS:
            if lo <= o <= hi:
                counts[name] += 1
                break
    if not counts:
        return "latin"
    name, n = counts.most_common(1)[0]
    letters = sum(1 for ch in text if ch.isalpha())
    return name if n >= 0.3 * max(letters, 1) else "latin"  # a few foreign letters do not make a language


def language_of(text: str | None, toks: Sequence[str] | None = None) -> str | None:
    """Language guess of a prompt: ``en``, ``es``, ``fr``, ``de``, ``pt``, ``it``, ``latin-other``, or the script
    (``cyrillic``, ``cjk``...); None when there is no text."""
    if text is None:
        return None
    head = text[:_SCAN_CHARS]
    if not head.isascii():
        script = script_of(head)
        if script != "latin":
            return script
    words = toks if toks is not None else tokens(head)
    best, hits = "latin-other", 1
    for lang, stop in _STOPWORDS.items():
        n = sum(1 for w in words if w in stop)
        if n > hits:
            best, hits = lang, n
    return best


# -- the attack set --------------------------------------------------------------------------------------------

SHIPPED_ATTACKS = Path(__file__).with_name("attacks.yaml")


@lru_cache(maxsize=8)
def _load_attack_file(path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    from llmmon.yamlio import parse_yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"drift.attacks.file {path}: cannot be read: {exc}") from None
    doc = parse_yaml(text, f"attack set {path}", ConfigError)
    if not isinstance(doc, dict):
        raise ConfigError(f"attack set {path}: the top level must be a mapping with 'patterns' and 'prompts'")
    out = []
    for key in ("patterns", "prompts"):
        items = doc.get(key) or []
        if not isinstance(items, list) or not all(isinstance(x, str) and x.strip() for x in items):
            raise ConfigError(f"attack set {path}: '{key}' must be a list of non-empty strings")
        out.append(tuple(items))
    for i, p in enumerate(out[0]):
        try:
            re.compile(p, re.IGNORECASE)
        except re.error as exc:
            raise ConfigError(f"attack set {path}: patterns[{i}] {p!r} does not compile: {exc}") from None
    return out[0], out[1]


class AttackSet:
    """Injection/jailbreak patterns (one compiled alternation) and known attack prompts."""

    def __init__(self, patterns: Iterable[str], prompts: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        self.prompts = tuple(prompts)
        self._regex = re.compile("|".join(f"(?:{p})" for p in self.patterns), re.IGNORECASE) if self.patterns else None

    @classmethod
    def from_config(cls, attacks: Any) -> AttackSet:
        """The shipped set (or ``attacks.file``) plus the configured extra patterns and prompts."""
        patterns, prompts = _load_attack_file(str(attacks.file or SHIPPED_ATTACKS))
        return cls(patterns + tuple(attacks.patterns), prompts + tuple(attacks.prompts))

    def matches(self, text: str | None) -> bool:
        """Whether ``text`` matches one of the patterns."""
        return bool(text) and self._regex is not None and self._regex.search(text[:_SCAN_CHARS]) is not None
