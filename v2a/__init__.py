"""v2a: add a generated soundtrack to video.

    import v2a
    pipe = v2a.load_pipeline()
    waveform, sample_rate = v2a.generate("clip.mp4", prompt="drums", pipeline=pipe)
    v2a.add_sound("clip.mp4", "clip.v2a.mp4", prompt="drums", pipeline=pipe)

Heavy modules (torch) load on first use, so ``import v2a`` and ``v2a --help``
stay instant.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "add_sound": "v2a.api",
    "generate": "v2a.api",
    "write_result": "v2a.api",
    "default_output_path": "v2a.api",
    "load_pipeline": "v2a.presets",
    "V2APipeline": "v2a.pipeline",
    "VideoClip": "v2a.media.decode",
    "VideoFile": "v2a.media.decode",
    "decode_video": "v2a.media.decode",
    "V2AError": "v2a.errors",
    "GenerationSettings": "v2a.settings",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'v2a' has no attribute '{name}'")
