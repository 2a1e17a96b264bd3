"""Where generated artefacts live: ``$V2A_CACHE`` or ``~/.cache/v2a`` (never inside git)."""

import os
from pathlib import Path


def cache_root() -> Path:
    return Path(os.environ.get("V2A_CACHE", Path.home() / ".cache" / "v2a"))
