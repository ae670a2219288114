"""The server's one typed settings object (section ``codegen``; camelCase keys on the wire).

The same keys arrive in ``initializationOptions``, ``workspace/didChangeConfiguration`` and
``workspace/configuration``. Parsing never raises: an invalid key is reported and replaced by its default.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

SECTION = "codegen"

Device = Literal["auto", "cpu", "cuda"]
TranslateOutput = Literal["newFile", "replace", "below"]


@dataclass(frozen=True)
class CodeActionSettings:
    retries: int = 3  # sampled attempts after the greedy one while generated code does not parse


@dataclass(frozen=True)
class TranslateSettings:
    targets: tuple[str, ...] = ("python", "javascript", "typescript", "java", "cpp", "go", "rust")  # offered languages
    output: TranslateOutput = "newFile"  # where a translation goes: a new file beside, replacing, or below the selection


@dataclass(frozen=True)
class DebugSettings:
    log_documents: bool = False  # allow document text in logs (and codegen.debugDocument)
    completion_cache: bool = True  # serve typing through a suggestion from the cache; off only for benchmark baselines
    prefix_reuse: bool = True  # reuse the cached prompt computation; off only for benchmark baselines


@dataclass(frozen=True)
class Settings:
    enabled: bool = True  # inline completion on (toggled by codegen.toggle / :CodegenToggle)
    model: str = ""  # model directory or store; "" = the store's current version, else the default model
    device: Device = "auto"  # execution provider: CUDA when present (auto), or forced
    max_tokens: int = 64  # most tokens generated per suggestion
    temperature: float = 0.0  # 0 = greedy
    context_tokens: int = 1024  # prompt budget: text before the cursor (+ after it, for FIM models) + snippets
    multiline: bool = True  # allow multi-line suggestions where a block opens
    enabled_languages: tuple[str, ...] = ()  # languageIds served; empty = all
    debounce_ms: int = 50  # the editors' delay after a keystroke before they ask
    time_budget_ms: int = 2000  # time for a suggestion's generation from its first text (the prompt is never cut)
    code_actions: CodeActionSettings = field(default_factory=CodeActionSettings)
    translate: TranslateSettings = field(default_factory=TranslateSettings)
    debug: DebugSettings = field(default_factory=DebugSettings)

    def serves(self, language_id: str) -> bool:
        """Whether inline completion is on for documents of ``language_id``."""
        return self.enabled and (not self.enabled_languages or language_id in self.enabled_languages)


# Smallest accepted value of each numeric setting (key on the wire -> minimum).
_MINIMUMS = {
    "maxTokens": 1,
    "temperature": 0.0,
    "contextTokens": 16,
    "debounceMs": 0,
    "timeBudgetMs": 1,
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def _strict_scalar(kind: type):
    """A structure hook that accepts only real values of ``kind`` (no ``int("12")`` or ``bool("no")`` coercion)."""

    def structure(value: Any, _: type) -> Any:
        accepted = (int, float) if kind is float else kind
        if isinstance(value, bool) and kind is not bool or not isinstance(value, accepted):
            raise TypeError(f"expected {kind.__name__}, got {value!r}")
        return kind(value)

    return structure


def _structure_names(value: Any, _: type) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"expected a list of strings, got {value!r}")
    return tuple(value)


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(forbid_extra_keys=False)
    for kind in (bool, int, float, str):
        converter.register_structure_hook(kind, _strict_scalar(kind))
    converter.register_structure_hook_func(lambda kind: kind == tuple[str, ...], _structure_names)
    for cls in (CodeActionSettings, TranslateSettings, DebugSettings, Settings):
        renames = {a.name: override(rename=_camel(a.name)) for a in dataclasses.fields(cls)}
        converter.register_structure_hook(cls, make_dict_structure_fn(cls, converter, **renames))
        converter.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, converter, **renames))
    return converter


converter = _make_converter()
WIRE_KEYS = frozenset(_camel(attribute.name) for attribute in dataclasses.fields(Settings))


def _root_cause(error: BaseException) -> BaseException:
    """The innermost error of cattrs' (nested) validation exception groups."""
    while getattr(error, "exceptions", None):
        error = error.exceptions[0]
    return error


def _structure_section(cls: type, raw: dict, path: str) -> tuple[Any, list[str]]:
    """Structure ``raw`` into ``cls`` key by key so that one bad key falls back alone to its default."""
    problems: list[str] = []
    kept: dict[str, Any] = {}
    for attribute in dataclasses.fields(cls):
        key = _camel(attribute.name)
        if key not in raw:
            continue
        value = raw[key]
        nested = _NESTED.get(key) if cls is Settings else None
        if nested is not None:
            if not isinstance(value, dict):
                problems.append(f"{SECTION}.{path}{key}: expected an object, got {value!r}; using the defaults")
                continue
            kept[key], nested_problems = _structure_section(nested, value, f"{path}{key}.")
            kept[key] = converter.unstructure(kept[key])
            problems += nested_problems
            continue
        try:
            converter.structure({key: value}, cls)
        except Exception as error:  # cattrs reports as an exception group; any failure means "use the default"
            problems.append(
                f"{SECTION}.{path}{key}: invalid value {value!r} ({_root_cause(error)}); using the default"
            )
            continue
        minimum = _MINIMUMS.get(key)
        if minimum is not None and value < minimum:
            problems.append(f"{SECTION}.{path}{key}: {value!r} is below the minimum {minimum}; using the default")
            continue
        kept[key] = value
    return converter.structure(kept, cls), problems


def mentions_settings(raw: Any) -> bool:
    """Whether a pushed configuration object carries our settings (flat or under ``codegen``)."""
    return isinstance(raw, dict) and (SECTION in raw or any(key in raw for key in WIRE_KEYS))


_NESTED = {"codeActions": CodeActionSettings, "translate": TranslateSettings, "debug": DebugSettings}


def parse_settings(raw: Any) -> tuple[Settings, list[str]]:
    """Settings from a wire object, and one line per problem found (each bad key keeps its default).

    Accepts the flat ``{"maxTokens": ...}`` form and the ``{"codegen": {...}}`` form some clients send.
    """
    if raw is None:
        return Settings(), []
    if isinstance(raw, dict) and isinstance(raw.get(SECTION), dict):
        raw = raw[SECTION]
    if not isinstance(raw, dict):
        return Settings(), [f"{SECTION}: settings must be an object, got {raw!r}; using the defaults"]
    return _structure_section(Settings, raw, "")


def to_wire(settings: Settings) -> dict:
    """The camelCase wire form of ``settings`` (for logs and ``codegen.status``)."""
    return converter.unstructure(settings)
