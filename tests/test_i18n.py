"""The Simplified Chinese catalogue: complete, not fuzzy, placeholders kept, compiled .mo up to date.

Regenerate the catalogue from kefu/ (see the header of django.po):
    KEFU_DATA_DIR=$(mktemp -d) ../.venv/bin/django-admin makemessages -l zh_Hans \
        --settings=kefu.settings --pythonpath=.. -i "static/*" --no-location --no-obsolete
then translate every new or fuzzy entry and run `kefu compilemessages`.
"""

from __future__ import annotations

import ast
import gettext
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

import kefu

LC_MESSAGES = Path(kefu.__file__).resolve().parent / "locale" / "zh_Hans" / "LC_MESSAGES"
PO = LC_MESSAGES / "django.po"
MO = LC_MESSAGES / "django.mo"

# %(name)s, %(size).1f, %d, %% … as Python's %-formatting reads them.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: str = ""
    msgstr_plural: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def translations(self) -> list[str]:
        if self.msgid_plural is None:
            return [self.msgstr]
        return [self.msgstr_plural[k] for k in sorted(self.msgstr_plural)] or [""]


def parse_po(path: Path) -> list[Entry]:
    """A small PO reader: enough for catalogues written by msgmerge/msgcat (no obsolete `#~` entries)."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int | None] | None = None

    def finish() -> None:
        nonlocal current
        if current is not None and (current.msgid or current.msgstr):
            entries.append(current)
        current = None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            target = None
            continue
        if line.startswith("#~"):
            continue
        if current is None:
            current = Entry(line=number)
        if line.startswith("#,"):
            current.flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            keyword, rest = "", line
        if keyword:
            match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            target = ("msgstr_plural", int(match.group(1))) if match else (keyword, None)
            if match:
                current.msgstr_plural[int(match.group(1))] = ""
            elif keyword in {"msgid", "msgid_plural", "msgctxt", "msgstr"}:
                setattr(current, keyword, "")
            else:
                raise ValueError(f"{path}:{number}: unexpected {raw!r}")
        assert target is not None, f"{path}:{number}: text outside an entry"
        text = ast.literal_eval(rest)  # a PO string is a valid Python string literal
        name, index = target
        if index is None:
            setattr(current, name, getattr(current, name) + text)
        else:
            current.msgstr_plural[index] += text
    finish()
    return entries


@pytest.fixture(scope="module")
def entries() -> list[Entry]:
    return parse_po(PO)


def test_the_catalogue_is_there_and_not_empty(entries: list[Entry]) -> None:
    assert PO.is_file() and MO.is_file()
    assert entries[0].msgid == "", "the header entry comes first"
    assert len(entries) > 100


def test_the_header_declares_chinese_with_one_plural_form(entries: list[Entry]) -> None:
    header = dict(line.split(": ", 1) for line in entries[0].msgstr.splitlines() if ": " in line)
    assert header["Language"] == "zh_Hans"
    assert header["Content-Type"] == "text/plain; charset=UTF-8"
    assert header["Plural-Forms"] == "nplurals=1; plural=0;"
    assert "fuzzy" not in entries[0].flags


def test_every_entry_is_translated_and_none_is_fuzzy(entries: list[Entry]) -> None:
    untranslated = [f"line {e.line}: {e.msgid!r}" for e in entries[1:] if not all(e.translations)]
    fuzzy = [f"line {e.line}: {e.msgid!r}" for e in entries if "fuzzy" in e.flags]
    assert not untranslated, "untranslated entries:\n" + "\n".join(untranslated)
    assert not fuzzy, "fuzzy entries:\n" + "\n".join(fuzzy)


def test_plural_entries_have_exactly_one_form(entries: list[Entry]) -> None:
    wrong = [e.msgid for e in entries if e.msgid_plural is not None and sorted(e.msgstr_plural) != [0]]
    assert not wrong, f"zh has one plural form; give only msgstr[0]: {wrong}"


def test_translations_keep_the_placeholders(entries: list[Entry]) -> None:
    wrong = []
    for e in entries[1:]:
        if "python-format" not in e.flags:
            continue
        expected = sorted(PLACEHOLDER.findall(e.msgid))
        wrong += [(e.msgid, t) for t in e.translations if sorted(PLACEHOLDER.findall(t)) != expected]
        if e.msgid_plural is not None:
            assert sorted(PLACEHOLDER.findall(e.msgid_plural)) == expected, e.msgid_plural
    assert not wrong, "placeholders changed:\n" + "\n".join(f"{m!r} → {t!r}" for m, t in wrong)


def _catalogue_from_po(entries: list[Entry]) -> dict[Any, str]:
    catalogue: dict[Any, str] = {}
    for e in entries:
        key = e.msgid if e.msgctxt is None else f"{e.msgctxt}\x04{e.msgid}"
        if e.msgid_plural is None:
            catalogue[key] = e.msgstr
        else:
            for index, text in e.msgstr_plural.items():
                catalogue[(key, index)] = text
    return catalogue


def test_the_committed_mo_matches_the_po(entries: list[Entry]) -> None:
    """A .mo compiled from an older .po would show stale or missing translations."""
    with MO.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    from_mo = dict(compiled._catalog)  # type: ignore[attr-defined]
    from_po = _catalogue_from_po(entries)
    missing = sorted(str(k) for k in from_po.keys() - from_mo.keys())
    extra = sorted(str(k) for k in from_mo.keys() - from_po.keys())
    changed = sorted(str(k) for k in from_po.keys() & from_mo.keys() if k != "" and from_po[k] != from_mo[k])
    assert not (missing or extra or changed), (
        "django.mo is out of date; run `kefu compilemessages` in kefu/.\n"
        f"missing: {missing[:10]}\nextra: {extra[:10]}\nchanged: {changed[:10]}"
    )


def test_msgfmt_accepts_the_catalogue(tmp_path: Path) -> None:
    """msgfmt --check also validates the header and the python-format entries."""
    assert shutil.which("msgfmt"), (
        "GNU gettext is missing: run `make test` (it installs it) or apt-get install gettext"
    )
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", str(tmp_path / "django.mo"), str(PO)],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    assert result.returncode == 0, result.stderr
    assert "untranslated" not in result.stderr and "fuzzy" not in result.stderr, result.stderr
    with (tmp_path / "django.mo").open("rb") as fresh, MO.open("rb") as committed:
        fresh_catalogue = gettext.GNUTranslations(fresh)._catalog  # type: ignore[attr-defined]
        committed_catalogue = gettext.GNUTranslations(committed)._catalog  # type: ignore[attr-defined]
    assert fresh_catalogue == committed_catalogue


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style|head)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.django_db
def test_the_login_page_speaks_chinese_by_default_and_english_when_chosen(settings: Any) -> None:
    if "KEFU_LANGUAGE" not in os.environ:
        assert settings.LANGUAGE_CODE == "zh-hans"
    settings.LANGUAGE_CODE = "zh-hans"
    client = Client()

    page = client.get("/login/")
    text = _visible_text(page.content.decode())
    assert page.status_code == 200
    assert '<html lang="zh-hans">' in page.content.decode()
    for chinese in ("客服部管理系统", "用户名", "密码", "登录"):
        assert chinese in text
    assert not re.search(r"[A-Za-z]{3,}", text), f"English left on the Chinese login page: {text!r}"

    chosen = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"}, follow=True)
    html = chosen.content.decode()
    text = _visible_text(html)
    assert chosen.redirect_chain[-1][0] == "/login/"
    assert '<html lang="en">' in html
    for english in ("Kefu customer-service management", "User name", "Password", "Sign in"):
        assert english in text
    assert not re.search(r"[\u4e00-\u9fff]", text), f"Chinese left on the English login page: {text!r}"

    back = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/login/"}, follow=True)
    assert "用户名" in _visible_text(back.content.decode())


@pytest.mark.django_db
def test_a_wrong_password_is_reported_in_chinese() -> None:
    page = Client().post("/login/", {"username": "nobody", "password": "wrong-password"})
    assert "用户名或密码错误" in _visible_text(page.content.decode())
