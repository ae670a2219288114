"""The runtime on an exported model agrees with transformers' PyTorch model, for every supported family."""

import pytest

import model
from tests.fixtures.factory import FAMILIES
from training.export import RELATIVE_TOLERANCE, compare_logits, torch_greedy

# (family, FIM style): each family with its own FIM tokens, plus the default test model's Llama + StarCoder tokens.
VARIANTS = [(family, None) for family in FAMILIES] + [("llama", "starcoder")]
NEW_TOKENS = 24
PROMPTS = (
    "def parse_args(argv):\n    parser = ",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n",
)


def variant_id(variant):
    family, fim = variant
    return family if fim is None else f"{family}-{fim}"


@pytest.fixture(scope="module")
def torch_models():
    """Cached transformers models (and tokenizers) by checkpoint directory."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    cache = {}

    def get(checkpoint):
        if checkpoint not in cache:
            cache[checkpoint] = (
                AutoModelForCausalLM.from_pretrained(checkpoint).eval(),
                AutoTokenizer.from_pretrained(checkpoint),
            )
        return cache[checkpoint]

    return get


def prompts_for(runtime):
    """Plain prompts plus a FIM prompt built by the runtime, when the family has FIM tokens."""
    if runtime.manifest.fim is None:
        return PROMPTS
    return (*PROMPTS, runtime.fim_prompt("def mean(values):\n    return ", " / len(values)\n", path="stats.py"))


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_runtime_greedy_tokens_equal_transformers_generate(variant, tiny_hf_checkpoint, tiny_model_dir, torch_models):
    family, fim = variant
    runtime = model.load(tiny_model_dir(family, "none", fim=fim), device="cpu")
    torch_model, tokenizer = torch_models(tiny_hf_checkpoint(family, fim))
    end_ids = sorted(runtime.end_ids)
    for text in prompts_for(runtime):
        ids = runtime.tokenize(text)
        assert ids == tokenizer(text)["input_ids"]
        expected = torch_greedy(torch_model, ids, end_ids, NEW_TOKENS)
        assert runtime.generate_detailed(text, max_new_tokens=NEW_TOKENS).token_ids == expected
        # The same prompt extended (as typing does) reuses the cache and still matches PyTorch.
        typed = text + "x"
        continued = runtime.generate_detailed(typed, max_new_tokens=NEW_TOKENS)
        assert continued.reused_tokens > 0
        assert continued.token_ids == torch_greedy(torch_model, runtime.tokenize(typed), end_ids, NEW_TOKENS)


# int8 (the CPU default) for every family; fp16 (meant for CUDA, checked here on CPU) for both cache layouts.
QUANTIZED = [(family, "int8") for family in FAMILIES] + [("llama", "fp16"), ("gpt_bigcode", "fp16")]


@pytest.mark.parametrize(("family", "quantization"), QUANTIZED)
def test_quantized_export_logits_are_within_tolerance(family, quantization, tiny_hf_checkpoint, tiny_model_dir, torch_models):
    import torch

    runtime = model.load(tiny_model_dir(family, quantization), device="cpu")
    assert runtime.manifest.quantization == quantization
    torch_model, _ = torch_models(tiny_hf_checkpoint(family))
    prompts = [runtime.tokenize(text) for text in prompts_for(runtime)]
    with torch.no_grad():
        reference = [torch_model(torch.tensor([ids])).logits[0].numpy() for ids in prompts]
    comparison = compare_logits(reference, [runtime.decoder.all_logits(ids) for ids in prompts])
    assert comparison["max_abs_logit_diff"] <= RELATIVE_TOLERANCE[quantization] * comparison["max_abs_logit"]
    assert comparison["top1_agreement"] >= 0.5
    recorded = runtime.manifest.validation
    assert recorded["max_abs_logit_diff"] <= recorded["tolerance"]
    print(f"{family} {quantization}: {comparison}")
