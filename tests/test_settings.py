"""One configuration path: flag, then environment, then default, for every shell."""

import argparse
import re
from pathlib import Path

import pytest

from rag import DossierError, Settings
from rag.settings import ANSWERS, CHUNKING, LIBRARY, STORE, WAYS, add_flags, load_settings, settings_table

README = Path(__file__).resolve().parents[1] / "README.md"


def parsed(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_flags(parser, STORE + CHUNKING + ANSWERS + ("allow_private", "api_key", "chroma_token"))
    return parser.parse_args(argv)


def test_a_flag_beats_the_environment_which_beats_the_default():
    environ = {"DOSSIER_TOP_K": "9", "DOSSIER_STORE": "/srv/news", "DOSSIER_STRICT": "yes", "DOSSIER_RERANK": "0"}
    s = load_settings(parsed("--top-k", "3", "--rerank"), environ)
    assert (s.top_k, s.store, s.strict, s.rerank) == (3, "/srv/news", True, True)
    assert load_settings(parsed(), {}) == Settings()
    assert load_settings(parsed("--no-strict"), {"DOSSIER_STRICT": "1"}).strict is False


def test_an_ingest_reads_only_the_library_settings():
    environ = {"DOSSIER_BACKEND": "nonsense", "DOSSIER_TOP_K": "many", "DOSSIER_CHUNK_SIZE": "120"}
    s = load_settings(parsed(), environ, names=LIBRARY)
    assert (s.chunk_size, s.backend, s.top_k) == (120, Settings().backend, Settings().top_k)


def test_secrets_come_only_from_the_environment_and_are_never_shown():
    with pytest.raises(SystemExit):
        parsed("--api-key", "k")
    s = load_settings(parsed(), {"OPENAI_API_KEY": "sk-hidden", "CHROMA_AUTH_TOKEN": "tok-hidden"})
    assert (s.api_key, s.chroma_token) == ("sk-hidden", "tok-hidden")
    assert "hidden" not in repr(s) and "hidden" not in str(s.visible())


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"DOSSIER_TOP_K": "many"}, r"\$DOSSIER_TOP_K='many': not a whole number"),
        ({"DOSSIER_STRICT": "perhaps"}, r"\$DOSSIER_STRICT='perhaps': not a yes/no value; use 1 or 0"),
        ({"DOSSIER_BACKEND": "gpt"}, "unknown answer backend 'gpt'; choose from: extractive, openai, llamacpp"),
    ],
)
def test_a_bad_variable_is_a_one_line_error_naming_it(environ, message):
    with pytest.raises(DossierError, match=message):
        load_settings(parsed(), environ)


def test_help_shows_the_real_defaults_and_the_variables():
    parser = argparse.ArgumentParser()
    add_flags(parser, ("top_k", "store"))
    text = " ".join(parser.format_help().split())
    assert f"(default: $DOSSIER_TOP_K, else {Settings().top_k})" in text
    assert f"(default: $DOSSIER_STORE, else {Settings().store})" in text
    parser = argparse.ArgumentParser()
    add_flags(parser, ("cache", "base_url"))
    text = " ".join(parser.format_help().split())
    assert "(default: $DOSSIER_CACHE, else $XDG_CACHE_HOME/dossier)" in text and "else none" not in text
    assert text.count("default") == 2  # said once per flag


def test_the_readme_table_lists_every_setting_as_the_code_has_it():
    table = settings_table()
    assert all(f"`{name}`" in table and f"`{way.env}`" in table for name, way in WAYS.items())
    readme = README.read_text(encoding="utf-8")
    assert table in readme, "README's settings table is out of date: paste rag.settings.settings_table()"
    assert re.search(r"\| `api_key` \| — \|", table)  # no flag for a secret
