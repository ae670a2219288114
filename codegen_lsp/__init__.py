"""codegen-lsp: a local Copilot language server (pygls). Never imports torch."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("codegen-lsp")
except PackageNotFoundError:  # running from a checkout that was not installed
    __version__ = "0+unknown"
