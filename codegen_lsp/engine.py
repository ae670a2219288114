"""The completion pipeline, shared by the server and ``codegen-lsp complete``: context -> model -> postprocess."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from .context import CompletionContext, Neighbour, build_context, completes_line_end
from .postprocess import finalize, should_stop
from .settings import Settings

# Tokens kept free in the model's context window besides the prompt budget and the answer.
CONTEXT_MARGIN = 8


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
        neighbours=request.neighbours,
        suffix_in_prompt=model.manifest.fim is not None,
    )
    return model.fim_prompt(context.prefix, context.suffix, path=request.path), context


def _cut_at_stop_strings(text: str, stops: Sequence[str]) -> str:
    cuts = [text.find(stop) for stop in stops if stop and stop in text]
    return text[: min(cuts)] if cuts else text


def suggest(model: Any, request: CompletionRequest, settings: Settings, cancelled: Callable[[], bool]) -> Suggestion:
    """Run the model for ``request`` and shape its answer; stops early when ``cancelled()`` turns true.

    The time budget (timeBudgetMs) starts with the first generated text and ends generation, the text produced so
    far still used: computing the prompt is never cut short by it, for the next keystrokes reuse that computation
    (only a newer request cancels it). A cancelled request gets no suggestion.
    """
    if model.manifest.fim is None and not completes_line_end(request.text[request.offset:].split("\n", 1)[0]):
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
        stop=stop,
        on_token=start_budget,
        cancel=lambda: cancelled() or bool(deadline and time.monotonic() > deadline[0]),
        heal=True,  # a prefix-only prompt ends in the document's text (FIM prompts end in a special token)
    )
    if cancelled():
        return Suggestion(None, generation.prompt_tokens, generation.reused_tokens, "cancelled")
    text = finalize(_cut_at_stop_strings(generation.text, stops), context)
    return Suggestion(text, generation.prompt_tokens, generation.reused_tokens, generation.finish_reason)
