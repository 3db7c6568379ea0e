"""Bahasa Indonesia stays complete. Every string the code marks for translation has its
Indonesian translation in locale/id, nothing there is fuzzy or empty, placeholders and
markup survive translation, and the committed .mo files are exactly what the .po files
compile to (the app reads the .mo; CI has no GNU gettext to rebuild them).

Strings are found the way `manage.py makemessages` finds them, without needing gettext:
the same files and ignore patterns, Django's own `templatize` for templates, and a Python
(or JavaScript) extractor given xgettext's keywords. `test_extraction_matches_the_catalog`
pins that equivalence: the strings found are exactly the catalog's msgids, so a string
added anywhere fails here until `makemessages` has picked it up and it is translated.

When it fails:
    .venv/bin/python manage.py makemessages -l id --no-obsolete --ignore=.venv \\
        --ignore=node_modules --ignore=tests --ignore=static/vendor
    (translate the new msgids in locale/id/LC_MESSAGES/django.po, see locale/GLOSSARY.md)
    .venv/bin/python manage.py compilemessages -l id
"""

from __future__ import annotations

import fnmatch
import functools
import gettext
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_javascript, extract_python
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.utils.translation.template import templatize

ROOT = Path(settings.BASE_DIR)
LOCALE_DIR = Path(settings.LOCALE_PATHS[0]) / "id" / "LC_MESSAGES"
# makemessages' defaults ("CVS", ".*", "*~", "*.pyc") and the README's --ignore options.
IGNORED = ["CVS", ".*", "*~", "*.pyc", "node_modules", "tests", "static/vendor", "locale"]
EXTENSIONS = {"django": {".py", ".html", ".txt"}, "djangojs": {".js"}}
# xgettext's default keywords plus the ones makemessages adds, as Babel spells them.
KEYWORDS: dict[str, tuple[int | tuple[int, str], ...] | None] = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}
PLACEHOLDER = re.compile(r"%\(\w+\)[sdifr]|%[sdifr]|\{\w*\}")
TAG = re.compile(r"</?\w+[^>]*>")

Key = tuple[str | None, str]  # (context, msgid)


def _ignored(path: Path) -> bool:
    relative = path.relative_to(ROOT).as_posix()
    return any(
        fnmatch.fnmatchcase(path.name, pattern) or fnmatch.fnmatchcase(relative, pattern)
        for pattern in IGNORED
    )


def _source_files(domain: str) -> Iterator[Path]:
    """The files makemessages reads for `domain`, in the same tree walk and with the same
    ignores (collected static files and media included)."""
    skip_roots = {Path(p).resolve() for p in (settings.STATIC_ROOT, settings.MEDIA_ROOT) if p}
    for dirpath, dirnames, filenames in os.walk(ROOT):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if not _ignored(here / d) and (here / d).resolve() not in skip_roots
        )
        for name in sorted(filenames):
            path = here / name
            if path.suffix in EXTENSIONS[domain] and not _ignored(path):
                yield path


def _python_source(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        return text
    # Templates become gettext calls among X's; their indentation is not Python's.
    return "\n".join(line.lstrip() for line in templatize(text, origin=str(path)).split("\n"))


@functools.cache
def extracted(domain: str) -> dict[Key, list[str]]:
    """Every (context, msgid) marked for translation in the sources, with its locations."""
    found: dict[Key, list[str]] = {}
    for path in _source_files(domain):
        if domain == "django":
            source = _python_source(path).encode("utf-8")
            messages = extract_python(io.BytesIO(source), KEYWORDS, [], {"encoding": "utf-8"})
        else:
            source = path.read_bytes()
            messages = extract_javascript(io.BytesIO(source), KEYWORDS, [], {})
        for lineno, funcname, arguments, _comments in messages:
            spec = KEYWORDS[funcname]
            values = arguments if isinstance(arguments, tuple) else (arguments,)
            context = None
            msgids = []
            for position in spec or (1,):
                if isinstance(position, tuple):
                    context = values[position[0] - 1]
                else:
                    msgids.append(values[position - 1])
            if msgids and msgids[0]:
                where = f"{path.relative_to(ROOT).as_posix()}:{lineno}"
                found.setdefault((context, msgids[0]), []).append(where)
    return found


@functools.cache
def catalog(domain: str) -> Catalog | None:
    path = LOCALE_DIR / f"{domain}.po"
    if not path.exists():
        return None
    with path.open("rb") as handle:
        return read_po(handle, locale="id", domain=domain)


def _msgid(message) -> str:
    return message.id[0] if isinstance(message.id, tuple | list) else message.id


def _translated(message) -> bool:
    strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
    return bool(strings) and all(strings) and not message.fuzzy


def _domains_with_catalogs() -> list[str]:
    return [d for d in EXTENSIONS if (LOCALE_DIR / f"{d}.po").exists()]


@pytest.mark.parametrize("domain", sorted(EXTENSIONS))
def test_every_marked_string_has_an_indonesian_translation(domain: str) -> None:
    wanted = extracted(domain)
    po = catalog(domain)
    translated = {(m.context, _msgid(m)) for m in po or () if m.id and _translated(m)}
    missing = sorted(set(wanted) - translated, key=lambda key: wanted[key][0])
    listing = "\n".join(f"  {wanted[k][0]}: {k[1]!r}" for k in missing[:40])
    assert not missing, (
        f"{len(missing)} string(s) have no Indonesian translation in "
        f"locale/id/LC_MESSAGES/{domain}.po (run makemessages, translate, compilemessages; "
        f"see this module's docstring):\n{listing}"
    )


@pytest.mark.parametrize("domain", sorted(EXTENSIONS))
def test_extraction_matches_the_catalog(domain: str) -> None:
    """The catalog holds exactly what the code marks: no msgid makemessages would drop
    (then this extractor and xgettext disagree, or the .po is stale), none missing."""
    po = catalog(domain)
    in_po = {(m.context, _msgid(m)) for m in po or () if m.id}
    in_code = set(extracted(domain))
    fix = "run makemessages (see this module's docstring)"
    assert sorted(in_po - in_code, key=str) == [], f"in the .po, no longer in the code: {fix}"
    assert sorted(in_code - in_po, key=str) == [], f"in the code, not in the .po yet: {fix}"


def test_the_django_catalog_exists_and_covers_the_ui() -> None:
    po = catalog("django")
    assert po is not None, "locale/id/LC_MESSAGES/django.po is missing"
    assert len(extracted("django")) > 1000  # the extractor found the UI, not nothing


@pytest.mark.parametrize("domain", _domains_with_catalogs())
def test_catalog_has_no_fuzzy_or_empty_entries(domain: str) -> None:
    po = catalog(domain)
    assert po is not None
    assert po.plural_forms == "nplurals=1; plural=0;"
    bad = [_msgid(m) for m in po if m.id and not _translated(m)]
    assert bad == [], f"fuzzy or untranslated in {domain}.po: {bad[:20]}"


def _kept(source: str, text: str, *, formatted: bool) -> bool:
    """`text` keeps `source`'s tags and, for a format string, its placeholders and `%%`."""
    if sorted(TAG.findall(text)) != sorted(TAG.findall(source)):
        return False
    if not formatted:
        return True
    same_placeholders = sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(source))
    return same_placeholders and text.count("%%") == source.count("%%")


@pytest.mark.parametrize("domain", _domains_with_catalogs())
def test_translations_keep_placeholders_and_markup(domain: str) -> None:
    """`%(name)s` missing from a translation raises at runtime; a lost tag breaks a page."""
    po = catalog(domain)
    assert po is not None
    wrong = []
    for message in po:
        if not message.id or not _translated(message):
            continue
        ids = message.id if isinstance(message.id, tuple | list) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        # Indonesian has one plural form: it carries the plural msgid's placeholders.
        formatted = "python-format" in message.flags
        wrong += [(ids[-1], t) for t in strings if not _kept(ids[-1], t, formatted=formatted)]
    assert wrong == [], "\n".join(f"{en!r}\n  -> {id_!r}" for en, id_ in wrong[:20])


@pytest.mark.parametrize("domain", _domains_with_catalogs())
def test_committed_mo_is_compiled_from_the_po(domain: str) -> None:
    """The app reads the .mo: compile the .po in memory and compare every entry with the
    committed file (byte layout may differ between compilers; the entries may not)."""
    po = catalog(domain)
    assert po is not None
    mo_path = LOCALE_DIR / f"{domain}.mo"
    assert mo_path.exists(), f"run: manage.py compilemessages -l id ({mo_path} is missing)"
    compiled = io.BytesIO()
    write_mo(compiled, po)
    compiled.seek(0)
    expected = dict(gettext.GNUTranslations(compiled)._catalog)
    with mo_path.open("rb") as handle:
        committed = dict(gettext.GNUTranslations(handle)._catalog)
    for entries in (expected, committed):
        entries.pop("", None)  # the header: each compiler writes its own
    stale = sorted(
        str(key)
        for key in expected.keys() | committed.keys()
        if expected.get(key) != committed.get(key)
    )
    assert stale == [], (
        f"{mo_path.name} is out of date with {domain}.po ({len(stale)} entries differ, e.g. "
        f"{stale[:5]}): run `manage.py compilemessages -l id` and commit the .mo"
    )
