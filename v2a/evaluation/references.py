"""The evaluation's reference-sound systems ("sound like this"), for models that take references.

``model_bank``          the model prompted with the caption, its reference retrieved from the
                        sound bank by the prompt (what ``GenerationSettings.use_bank`` turns on);
``model_bank_no_text``  no prompt: the clip's pictures retrieve the reference;
``model_reference``     prompted, with a held-out reference: another recording of the clip's
                        category from the evaluated split, never the clip's own recording (nor a
                        piece or take of it) and never in the bank, which holds train clips only;
``reference_pasted``    the copy baseline: that reference itself, looped, its first onset on the
                        first visible event. Its judge accuracy is what naming the reference
                        itself scores: the bar ``model_reference`` is measured against.

The copy check scores every system's onsets also against ``reference_pasted``'s (``copy_100``):
a model that follows the video lands there no more often than the systems that never heard the
reference (``model``, ``ground_truth``: the chance level); one that copies the reference's own
rhythm lands there far more often.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from .run import place_at_events, visual_events

REFERENCE_SYSTEMS = ("model_bank", "model_bank_no_text", "model_reference", "reference_pasted")
REFERENCE_GENERATED = ("model_bank", "model_bank_no_text", "model_reference")


class HeldoutReferences:
    """Chooses each held-out clip's reference: a recording of its category from the evaluated split."""

    def __init__(self, library: str | Path, records: list[dict], split: str, max_seconds: float = 6.0):
        self.library, self.max_seconds = Path(library), max_seconds
        self.by_id = {r["id"]: r for r in records}
        self.by_category: dict[str, list[dict]] = defaultdict(list)
        for r in sorted(records, key=lambda r: r["id"]):
            if r.get("split") == split:
                self.by_category[r["category"]].append(r)

    def choose(self, item: dict) -> dict | None:
        """Another recording group's clip of ``item``'s category (the same for every run), or None."""
        from ..data.splits import stable_hash

        own = self.by_id.get(item.get("record"))
        group = lambda r: r.get("group") or r["id"]  # noqa: E731 - a record without a group is its own recording
        pool = [r for r in self.by_category.get(item.get("category"), []) if own is None or group(r) != group(own)]
        return pool[stable_hash(f"reference:{item['id']}") % len(pool)] if pool else None

    def load(self, record: dict, sample_rate: int) -> np.ndarray:
        from ..data.library import load_clip

        wave = load_clip(self.library, record)[: int(self.max_seconds * sample_rate)]
        return wave.mean(1) if wave.ndim == 2 else wave


def paste_reference(sound: np.ndarray, sample_rate: int, frames: np.ndarray, times: np.ndarray, duration: float,
                    kind: str | None) -> np.ndarray:
    """The copy baseline: ``sound`` looped over the clip with its first onset on the first visible event.

    An ambience, or a clip where nothing visible happens, is looped from the start: a copy does not
    look at the video.
    """
    if kind == "ambience":
        return place_at_events(sound, sample_rate, [], duration, continuous=True)
    events = visual_events(frames, times)
    first = float(events[0]) if len(events) else 0.0
    sound = np.asarray(sound, np.float32)
    repeats = int(np.ceil(duration * sample_rate / max(1, sound.size))) + 1  # enough to reach the end from any lead
    return place_at_events(np.tile(sound, repeats), sample_rate, [first], duration)
