"""python -m codegen_lsp: the same as the codegen-lsp console script."""

import sys

from .cli import main

sys.exit(main())
