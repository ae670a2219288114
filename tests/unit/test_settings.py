"""The typed settings object: camelCase wire keys, per-key fallback to defaults, never raising."""

import pytest

from codegen_lsp.settings import Settings, mentions_settings, parse_settings, to_wire


def test_defaults_match_the_documented_table():
    assert to_wire(Settings()) == {
        "enabled": True, "model": "", "device": "auto", "maxTokens": 64, "temperature": 0.0, "contextTokens": 1024,
        "multiline": True, "enabledLanguages": [], "debounceMs": 50, "timeBudgetMs": 2000,
        "codeActions": {"retries": 3},
        "translate": {"targets": ["python", "javascript", "typescript", "java", "cpp", "go", "rust"],
                      "output": "newFile"},
        "debug": {"logDocuments": False, "completionCache": True, "prefixReuse": True},
    }


def test_camel_case_keys_and_nested_sections_are_read():
    settings, problems = parse_settings({
        "maxTokens": 32, "device": "cpu", "enabledLanguages": ["python", "go"], "temperature": 0.2,
        "codeActions": {"retries": 5}, "translate": {"output": "below"}, "debug": {"logDocuments": True},
    })
    assert problems == []
    assert (settings.max_tokens, settings.device, settings.enabled_languages) == (32, "cpu", ("python", "go"))
    assert settings.temperature == 0.2 and settings.code_actions.retries == 5
    assert settings.translate.output == "below" and settings.debug.log_documents


def test_section_wrapper_is_accepted():
    settings, problems = parse_settings({"codegen": {"multiline": False}})
    assert problems == [] and settings.multiline is False


@pytest.mark.parametrize(("raw", "key"), [
    ({"maxTokens": "many"}, "codegen.maxTokens"),
    ({"maxTokens": 0}, "codegen.maxTokens"),
    ({"device": "gpu"}, "codegen.device"),
    ({"enabled": "yes"}, "codegen.enabled"),
    ({"enabledLanguages": "python"}, "codegen.enabledLanguages"),
    ({"temperature": -1}, "codegen.temperature"),
    ({"codeActions": {"retries": "x"}}, "codegen.codeActions.retries"),
    ({"translate": 3}, "codegen.translate"),
])
def test_a_bad_key_is_reported_and_keeps_its_default_while_good_keys_apply(raw, key):
    settings, problems = parse_settings({**raw, "contextTokens": 512})
    assert len(problems) == 1 and problems[0].startswith(key)
    assert settings.context_tokens == 512
    default = Settings()
    assert (settings.max_tokens, settings.device, settings.enabled, settings.temperature) == \
        (default.max_tokens, default.device, default.enabled, default.temperature)
    assert settings.code_actions == default.code_actions and settings.translate == default.translate


@pytest.mark.parametrize("raw", [3, "text", []])
def test_not_an_object_is_reported_and_gives_defaults(raw):
    settings, problems = parse_settings(raw)
    assert settings == Settings() and len(problems) == 1


def test_no_settings_gives_defaults_quietly():
    assert parse_settings(None) == (Settings(), [])


def test_integers_are_accepted_for_floats():
    assert parse_settings({"temperature": 1})[0].temperature == 1.0


def test_serves_languages():
    assert Settings().serves("python")
    only_go = parse_settings({"enabledLanguages": ["go"]})[0]
    assert only_go.serves("go") and not only_go.serves("python")
    assert not parse_settings({"enabled": False})[0].serves("go")


def test_mentions_settings():
    assert mentions_settings({"codegen": {}}) and mentions_settings({"maxTokens": 3})
    assert not mentions_settings({"python": {"linting": True}}) and not mentions_settings(None)
