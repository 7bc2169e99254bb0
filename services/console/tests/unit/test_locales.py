"""The console's languages (``console/src/locales``): every string in both, with the same
placeholders and markup, and each plural in every form its language needs.

tsc checks the keys the code uses against the English file; this checks Russian against it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

LOCALES = Path(__file__).parents[4] / "console" / "src" / "locales"

# CLDR's cardinal plural categories, which i18next appends to a key as ``_<category>``.
PLURAL_FORMS = {"en": {"one", "other"}, "ru": {"one", "few", "many", "other"}}
PLURAL_SUFFIX = re.compile(r"_(zero|one|two|few|many|other)$")
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}|</?(\w+)>")


def _flatten(tree: dict[str, object], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{path}."))
        else:
            assert isinstance(value, str) and value.strip(), f"{path} is empty or not text"
            out[path] = value
    return out


def _strings(language: str) -> dict[str, str]:
    return _flatten(json.loads((LOCALES / f"{language}.json").read_text(encoding="utf-8")))


def _by_base(strings: dict[str, str]) -> dict[str, dict[str, str]]:
    """Plural forms grouped under their key (``""`` for a key with no plural forms)."""
    grouped: dict[str, dict[str, str]] = {}
    for key, text in strings.items():
        match = PLURAL_SUFFIX.search(key)
        base = key[: match.start()] if match else key
        grouped.setdefault(base, {})[match.group(1) if match else ""] = text
    return grouped


def _placeholders(text: str) -> set[str]:
    return {m.group(1) or f"<{m.group(2)}>" for m in PLACEHOLDER.finditer(text)}


ENGLISH = _by_base(_strings("en"))
RUSSIAN = _by_base(_strings("ru"))


def test_every_string_exists_in_both_languages() -> None:
    assert sorted(set(ENGLISH) - set(RUSSIAN)) == [], "missing in ru.json"
    assert sorted(set(RUSSIAN) - set(ENGLISH)) == [], "missing in en.json"


@pytest.mark.parametrize(("language", "strings"), [("en", ENGLISH), ("ru", RUSSIAN)])
def test_plurals_have_every_form_of_their_language(
    language: str, strings: dict[str, dict[str, str]]
) -> None:
    for key, forms in strings.items():
        if "" not in forms:
            assert set(forms) == PLURAL_FORMS[language], f"{language}: {key} has {sorted(forms)}"
        else:
            assert set(forms) == {""}, f"{language}: {key} is both plain and plural"


def test_translations_keep_the_placeholders_and_markup() -> None:
    for key, forms in ENGLISH.items():
        english = set().union(*(_placeholders(text) for text in forms.values()))
        for form, text in RUSSIAN.get(key, {}).items():
            assert _placeholders(text) == english, f"ru: {key}{'_' + form if form else ''}"


def test_russian_pages_are_in_russian() -> None:
    """A string copied over untranslated shows as English in the Russian console."""
    # Names, codes and units that read the same in both languages.
    same_in_both = {"SMS", "ID", "{{time}} UTC"}
    untranslated = [
        key
        for key, forms in RUSSIAN.items()
        for form, text in forms.items()
        if text == ENGLISH[key].get(form, ENGLISH[key].get("other")) and text not in same_in_both
    ]
    assert untranslated == []
