"""ONNX inference runtime for codegen-lsp. Never imports torch.

    import model
    m = model.load(path, device="auto")
    m.generate(m.fim_prompt(prefix, suffix), max_new_tokens=64)
"""

from model.errors import ModelError
from model.generate import Generation
from model.manifest import FimTokens, Manifest
from model.runtime import Model, default_model_path, load

__all__ = ["FimTokens", "Generation", "Manifest", "Model", "ModelError", "default_model_path", "load"]
