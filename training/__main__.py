"""`python -m training` = `codegen-train`."""

import sys

from training.cli import main

sys.exit(main())
