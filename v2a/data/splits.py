"""Train / validation / test split by recording group.

The unit of the split is a *group*: every clip cut from one recording, all takes of one
sound (``horse_neigh_1`` .. ``_4``), or a whole drum kit. A group never spans two splits, so
a model cannot score well on the test set by remembering a recording it trained on.

Groups are ordered by a hash of their name (stable across runs and machines, independent of
the order files were found in) and dealt out within each stratum until the validation and
test shares are reached; a group that would overshoot a share more than twice stays in
training, so a stratum of a few long recordings does not lose most of its audio to evaluation. A stratum is a source and, where every group of the source holds
one category, that category: so each category of a source gets its own val/test groups
when it has enough of them, instead of whole categories landing in one split by chance.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

def stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "big")


def assign_splits(items: Sequence[dict], val_fraction: float = 0.1, test_fraction: float = 0.1,
                  min_groups_for_holdout: int = 3, seed: str = "v2a") -> dict[str, str]:
    """Maps each group to a split.

    Args:
        items: dicts with ``group``, ``source``, ``category`` and ``duration`` (one per clip).
        val_fraction, test_fraction: target shares of each stratum's audio duration.
        min_groups_for_holdout: a stratum with fewer groups goes entirely to train (one
            recording of a category can't be both learnt and tested).
        seed: changes the deal without changing the rules.

    Returns:
        ``{group: split}`` for every group in ``items``.
    """
    group_duration: dict[str, float] = defaultdict(float)
    group_categories: dict[str, set[str]] = defaultdict(set)
    group_source: dict[str, str] = {}
    for item in items:
        group = item["group"]
        group_duration[group] += float(item["duration"])
        group_categories[group].add(item["category"])
        group_source.setdefault(group, item["source"])

    single_category_sources = {src for src in set(group_source.values())
                               if all(len(group_categories[g]) == 1 for g, s in group_source.items() if s == src)}
    strata: dict[str, list[str]] = defaultdict(list)
    for group, source in group_source.items():
        key = source
        if source in single_category_sources:
            key = f"{source}/{next(iter(group_categories[group]))}"
        strata[key].append(group)

    result: dict[str, str] = {}
    for key, groups in strata.items():
        groups = sorted(groups, key=lambda g: (stable_hash(f"{seed}:{g}"), g))
        if len(groups) < min_groups_for_holdout:
            result.update({g: "train" for g in groups})
            continue
        total = sum(group_duration[g] for g in groups)
        remaining = list(groups)
        for split, fraction in (("test", test_fraction), ("val", val_fraction)):
            target, taken = fraction * total, 0.0
            for g in list(remaining):
                if taken >= target or len(remaining) <= 1:
                    break  # share reached, or only the training group is left
                # a group that would overshoot the share badly stays in training (a stratum of
                # three big recordings should not lose two thirds of its audio to evaluation)
                if taken + group_duration[g] > 2 * target:
                    continue
                result[g] = split
                taken += group_duration[g]
                remaining.remove(g)
        for g in remaining:
            result[g] = "train"
    return result
