"""Every user-facing string has its Simplified Chinese translation, compiled."""

import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"


def _translated(entries) -> set[str]:
    return {
        e.msgid for e in entries
        if not e.obsolete and "fuzzy" not in e.flags
        and (e.msgstr or any(e.msgstr_plural.values()))
    }


def test_catalog_is_complete_and_compiled():
    po = polib.pofile(str(PO))
    untranslated = [e.msgid for e in po.untranslated_entries()] + [
        e.msgid for e in po.fuzzy_entries()]
    assert untranslated == []
    mo = polib.mofile(str(PO.with_suffix(".mo")))
    assert _translated(po) <= {e.msgid for e in mo}, "run `make messages` to compile"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext")
def test_every_marked_string_is_in_the_catalog(tmp_path, settings, monkeypatch):
    """Extract the strings afresh from a copy of the sources; none may be missing."""
    source = tmp_path / "src"
    shutil.copytree(settings.BASE_DIR, source, ignore=shutil.ignore_patterns(
        ".venv", "var", ".git", "locale", "tests", "scripts", "node_modules", "*.pyc"))
    (source / "locale").mkdir()
    settings.LOCALE_PATHS = [source / "locale"]
    monkeypatch.chdir(source)
    call_command("makemessages", locale=["zh_Hans"], verbosity=0)
    fresh = polib.pofile(str(source / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"))
    missing = {e.msgid for e in fresh} - _translated(polib.pofile(str(PO)))
    assert missing == set(), "run `make messages` and translate these"
