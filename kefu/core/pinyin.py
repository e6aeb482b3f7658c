"""Pinyin columns for search: agents type `zs` or `zhangsan` for 张三."""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin


def _clean(parts: list[str]) -> list[str]:
    return [p.lower() for p in parts if p and (p.isalnum())]


def pinyin_full(text: str) -> str:
    """zhangsan for 张三; letters and digits in the text are kept as they are."""
    return "".join(_clean(lazy_pinyin(text or "", errors=lambda chars: list(chars))))


def pinyin_initials(text: str) -> str:
    """zs for 张三; a Latin word keeps only its first letter (ABC科技 → akj)."""
    parts = lazy_pinyin(text or "", style=Style.FIRST_LETTER, errors=lambda chars: [chars])
    out: list[str] = []
    for part in parts:
        for word in part.split():
            word = "".join(ch for ch in word if ch.isalnum())
            if word:
                out.append(word[0].lower())
    return "".join(out)


def is_pinyin_query(query: str) -> bool:
    return bool(query) and query.isascii() and query.replace(" ", "").isalpha()


def bigrams(*texts: str) -> set[str]:
    """Distinct two-character pieces of the texts, ignoring spaces and case."""
    grams: set[str] = set()
    for text in texts:
        compact = "".join((text or "").split()).lower()
        grams.update(compact[i : i + 2] for i in range(len(compact) - 1))
    return grams
