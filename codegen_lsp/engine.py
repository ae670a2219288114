"""The one place that drives the model, for every feature (on the server's worker thread; no server state): the
completion pipeline (context -> model -> postprocess), shared by the server, ``codegen-lsp complete`` and
``codegen-train eval``, and the code actions' generation (a function body from its docstring, a translation),
retried while the result does not parse."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from model.prompts import SUFFIX_SHARE, truncate_context

from . import docstring, syntax, translate
from .context import CompletionContext, Neighbour, build_context, completes_line_end
from .postprocess import finalize, should_stop
from .settings import Settings

# Tokens kept free in the model's context window besides the prompt budget and the answer.
CONTEXT_MARGIN = 8
BODY_MAX_TOKENS = 384
TRANSLATION_MAX_TOKENS = 768
RETRY_TEMPERATURE = 0.8
RETRY_TOP_P = 0.95
# Multi-line generations of a small model fall into loops (`3, 3, 3, ...`) until the token limit; a mild penalty on
# the last 64 tokens keeps them out of the code actions. Inline completions go without: one-line answers do not loop,
# and the penalty costs next-line exact match.
REPETITION_PENALTY = 1.1
# When the user asks for suggestions (not on every keystroke): the greedy one, then this many sampled attempts.
ALTERNATIVE_SAMPLES = 3


@dataclass(frozen=True)
class CompletionRequest:
    """A snapshot of what a completion needs from the editor (immutable: safe to hand to the worker thread)."""

    text: str
    offset: int  # in characters (code points) into text
    language_id: str
    path: str | None = None  # relative to the workspace root when possible
    neighbours: Sequence[Neighbour] = ()


@dataclass(frozen=True)
class Suggestion:
    text: str | None  # None: nothing worth showing
    prompt_tokens: int = 0
    reused_tokens: int = 0
    finish_reason: str = ""


def prompt_budget(context_tokens: int, context_length: int, max_new_tokens: int) -> int:
    """Prompt tokens allowed: the contextTokens setting, capped by what the model's window leaves for the answer."""
    return max(16, min(context_tokens, context_length - max_new_tokens - CONTEXT_MARGIN))


def prepare(model: Any, request: CompletionRequest, settings: Settings) -> tuple[str, CompletionContext]:
    """The prompt text and the shaping context for ``request``."""
    context = build_context(
        request.text,
        request.offset,
        request.language_id,
        prompt_budget(settings.context_tokens, model.manifest.context_length, settings.max_tokens),
        model.count_tokens,
        allow_multiline=settings.multiline,
        # Without FIM tokens (the default model) no snippets: measured, they did not raise next-line exact match,
        # and text before the document moves the prompt's start (its cached computation is lost).
        neighbours=request.neighbours if model.manifest.fim is not None else (),
        suffix_in_prompt=model.manifest.fim is not None,
    )
    return model.fim_prompt(context.prefix, context.suffix, path=request.path), context


def _cut_at_stop_strings(text: str, stops: Sequence[str]) -> str:
    cuts = [text.find(stop) for stop in stops if stop and stop in text]
    return text[: min(cuts)] if cuts else text


def suggest(model: Any, request: CompletionRequest, settings: Settings, cancelled: Callable[[], bool],
            seed: int | None = None) -> Suggestion:
    """Run the model for ``request`` and shape its answer; stops early when ``cancelled()`` turns true.

    The time budget (timeBudgetMs) starts with the first generated text and ends generation, the text produced so
    far still used: computing the prompt is never cut short by it, for the next keystrokes reuse that computation
    (only a newer request cancels it). A cancelled request gets no suggestion.
    """
    line_end = request.text.find("\n", request.offset)
    rest_of_line = request.text[request.offset:line_end if line_end >= 0 else len(request.text)]
    if model.manifest.fim is None and not completes_line_end(rest_of_line):
        return Suggestion(None, finish_reason="mid-line")  # a prefix-only prompt cannot see the rest of the line
    prompt, context = prepare(model, request, settings)
    if not settings.debug.prefix_reuse:
        model.forget_prompts()  # benchmark baseline: the runtime computes the whole prompt again
    stops = tuple(model.manifest.stop_tokens or ())
    deadline: list[float] = []  # set when the first text arrives

    def stop(text: str) -> bool:
        return any(s in text for s in stops if s) or should_stop(text, context)

    def start_budget(_piece: str) -> None:
        if not deadline:
            deadline.append(time.monotonic() + settings.time_budget_ms / 1000)

    generation = model.generate_detailed(
        prompt,
        max_new_tokens=settings.max_tokens,
        temperature=settings.temperature,
        seed=seed,
        stop=stop,
        on_token=start_budget,
        cancel=lambda: cancelled() or bool(deadline and time.monotonic() > deadline[0]),
        heal=True,  # a prefix-only prompt ends in the document's text (FIM prompts end in a special token)
    )
    if cancelled():
        return Suggestion(None, generation.prompt_tokens, generation.reused_tokens, "cancelled")
    text = finalize(_cut_at_stop_strings(generation.text, stops), context)
    return Suggestion(text, generation.prompt_tokens, generation.reused_tokens, generation.finish_reason)


def suggest_several(model: Any, request: CompletionRequest, settings: Settings, cancelled: Callable[[], bool],
                    samples: int = ALTERNATIVE_SAMPLES) -> list[Suggestion]:
    """Alternatives for a suggestion the user asked for: the usual one first (always: its text may be None), then
    distinct non-empty sampled ones (at RETRY_TEMPERATURE), the ones sampled more often first. Stops early when
    cancelled."""
    first = suggest(model, request, settings, cancelled)
    sampled_settings = dataclasses.replace(settings, temperature=max(settings.temperature, RETRY_TEMPERATURE))
    found: dict[str, list[Suggestion]] = {}
    for seed in range(1, samples + 1):
        if cancelled():
            break
        suggestion = suggest(model, request, sampled_settings, cancelled, seed=seed)
        if suggestion.text and suggestion.text.strip() != (first.text or "").strip():
            found.setdefault(suggestion.text.strip(), []).append(suggestion)
    ranked = sorted(found.values(), key=len, reverse=True)  # stable: equally frequent ones keep their order
    return [first, *(group[0] for group in ranked)]


# Code actions.

Cancelled = Callable[[], bool]
OnToken = Callable[[str], None] | None


@dataclass(frozen=True)
class Outcome:
    code: str | None  # a result that parses; None when there is none
    attempts: int
    problem: str = ""  # why the last attempt was rejected (with a code: why it is only the part that parses)


def generate_until_valid(model: Any, prompt: str, max_new_tokens: int, stop: Callable[[str], bool],
                         shape: Callable[[str], str], problems_of: Callable[[str], list[str]], retries: int,
                         cancelled: Cancelled, on_token: OnToken = None) -> Outcome:
    """Greedy first, then up to ``retries`` sampled attempts, until the shaped generation parses; when none does, the
    longest run of whole lines that parses from the start of an attempt (the first attempt that has one)."""
    problem, partial = "", None
    for attempt in range(retries + 1):
        sampled = attempt > 0
        generation = model.generate_detailed(
            prompt, max_new_tokens=max_new_tokens, temperature=RETRY_TEMPERATURE if sampled else 0.0,
            top_p=RETRY_TOP_P if sampled else 1.0, stop=stop, on_token=on_token, cancel=cancelled,
            seed=attempt if sampled else None, heal=True, repetition_penalty=REPETITION_PENALTY)
        if cancelled():
            return Outcome(None, attempt + 1, "cancelled")
        code = shape(generation.text)
        problems = problems_of(code) if code.strip() else ["the model wrote no code"]
        if not problems:
            return Outcome(code, attempt + 1)
        problem = "; ".join(problems)
        if partial is None and (lines := longest_valid_lines(code, problems_of)) is not None:
            kept = lines.count("\n") + 1
            partial = Outcome(lines, retries + 1, f"the model's code was cut after line {kept}, where it stopped "
                                                  f"parsing ({problem})")
    return partial or Outcome(None, retries + 1, problem)


def longest_valid_lines(code: str, problems_of: Callable[[str], list[str]]) -> str | None:
    """The longest run of ``code``'s first lines (not all of them) that has no problems, or None."""
    lines = code.split("\n")
    for end in range(len(lines) - 1, 0, -1):
        candidate = "\n".join(lines[:end]).rstrip()
        if candidate.strip() and not problems_of(candidate):
            return candidate
    return None


def generate_body(model: Any, text: str, language_id: str, stub: docstring.Stub, retries: int, cancelled: Cancelled,
                  on_token: OnToken = None, path: str | None = None, context_tokens: int = 1024) -> Outcome:
    """A body for ``stub`` (FIM prompt: the file around the body, at the body's indentation) that makes the
    function parse; ``Outcome.code`` is the body as ``stub.apply`` takes it."""
    prefix, suffix = stub.fill_in(text)
    budget = prompt_budget(context_tokens, model.manifest.context_length, BODY_MAX_TOKENS)
    share = SUFFIX_SHARE if model.manifest.fim is not None else 0.0
    prompt = model.fim_prompt(*truncate_context(prefix, suffix, budget, model.count_tokens, share), path=path)

    def problems_of(body: str) -> list[str]:
        new_text, region = stub.apply(text, body)
        return syntax.problems(new_text, language_id, region)

    return generate_until_valid(
        model, prompt, BODY_MAX_TOKENS, lambda generated: docstring.body_ended(generated, stub.indent),
        lambda generated: docstring.shape_body(generated, stub.indent), problems_of, retries, cancelled, on_token)


def translate_code(model: Any, code: str, source_language_id: str, target: str, retries: int,
                   cancelled: Cancelled, on_token: OnToken = None, prompt_format: str | None = None) -> Outcome:
    """``code`` translated to ``target`` (a key of translate.LANGUAGES), parsed by the target's grammar; the prompt
    in ``prompt_format`` (translate.PROMPT_FORMATS; default: the model's, translate.prompt_format)."""
    format_name = prompt_format or translate.prompt_format(model.manifest)
    prompt = translate.translation_prompt(format_name, source_language_id, target, code)
    max_new_tokens = min(TRANSLATION_MAX_TOKENS, 3 * model.count_tokens(code) + 64)
    prompt_tokens, window = model.count_tokens(prompt), model.manifest.context_length
    if prompt_tokens + max_new_tokens > window:
        return Outcome(None, 0, f"the selection is too long to translate ({prompt_tokens} prompt tokens and "
                                f"{max_new_tokens} to write; the model reads {window}): select less code")
    return generate_until_valid(
        model, prompt, max_new_tokens, translate.answer_complete, translate.extract_code,
        lambda translated: syntax.problems(translated, target), retries, cancelled, on_token)
