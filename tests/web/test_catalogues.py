"""The web view's texts: every one extracted from the templates and the code has a Finnish
translation, with the same placeholders; the English catalogue is the source itself."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.web.i18n import LOCALE_DIR, negotiate, translations

WEB = Path(__file__).resolve().parents[2] / "api" / "web"
METHODS = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                                    "lstrip_blocks": "true"}}
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _texts() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            WEB, METHODS, options_map=OPTIONS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalogue(locale: str):
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as source:
        return read_po(source, locale=locale)


def test_every_text_has_a_finnish_translation_with_its_placeholders():
    texts = _texts()
    assert len(texts) > 40  # the extraction did reach the templates
    finnish = {m.id: m for m in _catalogue("fi") if m.id}
    missing = sorted(t for t in texts if t not in finnish or not finnish[t].string
                     or finnish[t].fuzzy)
    assert missing == [], "run pybabel extract and update (api/web/__init__.py), then translate"
    for text in texts:
        assert sorted(PLACEHOLDER.findall(text)) == sorted(
            PLACEHOLDER.findall(finnish[text].string)), text
    stale = sorted(set(finnish) - texts)
    assert stale == [], "texts no page uses any more; run pybabel update"
    english = {m.id for m in _catalogue("en") if m.id}
    assert english == set(finnish)


def test_the_catalogues_compile_and_browsers_get_their_language():
    assert translations("fi").gettext("My work") == "Omat työt"
    assert translations("en").gettext("My work") == "My work"
    assert negotiate("en-GB,en;q=0.9,fi;q=0.8", "fi") == "en"
    assert negotiate("sv-FI, fi;q=0.5, en;q=0.7", "fi") == "en"
    assert negotiate("de-DE", "fi") == "fi"
    assert negotiate(None, "en") == "en"
    assert negotiate("fi;q=x, en", "fi") == "en"  # a broken weight drops that entry only
