"""Where the shipped fixtures live (the repository's fixtures/ folder)."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("FLOWCHECK_FIXTURES", REPO_ROOT / "fixtures"))
REFERENCE_MODEL = FIXTURES / "models" / "reference"
CONTROL_MODELS = {"paper-route": FIXTURES / "models" / "paper-route",
                  "direct-route": FIXTURES / "models" / "direct-route"}
EVAL_SPLIT = FIXTURES / "data" / "synthetic-eval"
