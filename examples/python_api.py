"""The Python API, as an editing tool would use it.

    python examples/python_api.py
"""

from pathlib import Path

import numpy as np

import v2a

here = Path(__file__).parent
pipe = v2a.load_pipeline()  # the shipped default; load once, reuse for every call

# 1. From a file: waveform and sample rate back, nothing written.
waveform, sample_rate = v2a.generate(here / "bigbuckbunny.mp4", prompt="birds chirping", seed=1, pipeline=pipe)
print(f"{len(waveform) / sample_rate:.2f} s of audio at {sample_rate} Hz")

# 2. From frames already in memory (an editor's timeline), with their frame rate.
frames = np.zeros((48, 120, 160, 3), np.uint8)
frames[24:, 40:80, 60:100] = 255  # a white square appears at t = 1 s
waveform, sample_rate = v2a.generate(frames, fps=24, prompt="a door slams", pipeline=pipe)

# 3. Write the muxed file: the video stream is copied untouched, the write is atomic.
out = v2a.add_sound(here / "bigbuckbunny.mp4", here / "bunny_api.mp4", prompt="birds chirping", overwrite=True,
                    pipeline=pipe)
print("wrote", out)
