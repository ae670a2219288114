"""ONNX inference runtime for codegen-lsp. Never imports torch."""

from model.errors import ModelError
from model.manifest import FimTokens, Manifest

__all__ = ["FimTokens", "Manifest", "ModelError"]
