"""The evaluation run end to end on a tiny synthetic library, and the retrieval baseline's parts."""

import json
from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

RATE = 22050


def _burst(kind: str, rng, n: int) -> np.ndarray:
    env = np.exp(-np.arange(n) / (0.03 * RATE))
    if kind == "bell":
        return (0.5 * env * np.sin(2 * np.pi * 660 * np.arange(n) / RATE)).astype(np.float32)
    return (0.4 * env * rng.normal(0, 1, n)).astype(np.float32)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Knocks and bells (impacts with 2-3 hits) and wind (ambience); train and test splits; one picture."""
    from PIL import Image

    root = tmp_path_factory.mktemp("library")
    (root / "clips").mkdir()
    (root / "pictures").mkdir()
    Image.new("RGBA", (32, 32), (200, 120, 40, 255)).save(root / "pictures" / "bell.png")
    rng = np.random.default_rng(0)
    records = []
    specs = ([("knock", "impact", "train")] * 3 + [("bell", "impact", "train")] * 3
             + [("wind", "ambience", "train")] * 2
             + [("knock", "impact", "test"), ("bell", "impact", "test"), ("knock", "impact", "test"),
                ("wind", "ambience", "test")])
    for i, (category, kind, split) in enumerate(specs):
        seconds = 1.0
        if kind == "ambience":
            wav = (0.05 * rng.normal(0, 1, int(seconds * RATE))).astype(np.float32)
        else:
            wav = np.zeros(int(seconds * RATE), np.float32)
            for start in (0.1, 0.45, 0.8)[: 2 + i % 2]:
                a = int(start * RATE)
                wav[a:a + int(0.15 * RATE)] += _burst(category, rng, int(0.15 * RATE))
        path = f"clips/c{i}.flac"
        sf.write(root / path, wav, RATE)
        records.append({"id": f"c{i}-{category}", "path": path, "duration": seconds,
                        "captions": [f"a {category}", f"{category} sound"], "category": category, "kind": kind,
                        "split": split, "source": "test", "license": "CC0",
                        "picture": "pictures/bell.png" if category == "bell" and split == "test" else None})
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return root


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """Shared by the tests below: the held-out set is rendered once."""
    return tmp_path_factory.mktemp("cache")


def test_heldout_set_is_rendered_from_the_test_split_and_resumable(library, cache):
    from v2a.evaluation.heldout import SEED_BASE, build_heldout

    items = build_heldout(library, cache / "heldout", clips=5, real=False)
    assert [it["scene"] for it in items].count("silent") == 1 and [it["scene"] for it in items].count("ambience") == 1
    events = [it for it in items if it["scene"] == "events"]
    assert len(events) == 3 and events[0]["style"] == "pulse" and events[0]["heldout_style"]
    assert all(it["seed"] >= SEED_BASE and it["record"].endswith(("knock", "bell", "wind")) for it in items)
    assert all(it["record"] in {"c8-knock", "c9-bell", "c10-knock", "c11-wind"} for it in items)  # test split only
    assert all(it["event_times"] for it in events) and not any(it["event_times"] for it in items if it not in events)
    index = json.loads((cache / "heldout" / "heldout.json").read_text())
    assert {"path", "event_times", "category", "captions", "style", "kind", "picture", "duration"} <= set(index[0])
    mtime = (cache / "heldout" / index[0]["path"]).stat().st_mtime_ns
    assert build_heldout(library, cache / "heldout", clips=5, real=False) == items  # resumed, not re-rendered
    assert (cache / "heldout" / index[0]["path"]).stat().st_mtime_ns == mtime
    # an item rendered by an older renderer version is rendered again
    meta = cache / "heldout" / "items" / f"{index[0]['id']}.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "render_version": 1, "event_times": [99.0]}))
    assert build_heldout(library, cache / "heldout", clips=5, real=False) == items
    assert (cache / "heldout" / index[0]["path"]).stat().st_mtime_ns != mtime


def test_plan_draws_only_from_the_chosen_split():
    from v2a.evaluation.heldout import plan

    records = [{"id": f"{split}-{i}", "category": c, "kind": k, "split": split}
               for split in ("train", "val", "test")
               for i, (c, k) in enumerate([("knock", "impact"), ("bell", "impact"), ("dog", "call"), ("wind", "ambience")])]
    for split in ("val", "test"):
        chosen = plan(records, 8, split)
        assert chosen and {r["split"] for _, r, _ in chosen} == {split}
        assert {scene for scene, _, _ in chosen} == {"events", "silent", "ambience"}
    with pytest.raises(ValueError, match="val split"):
        plan([r for r in records if r["split"] != "val"], 8, "val")


def test_items_are_prompted_with_their_categorys_phrasing_not_a_sources_description():
    from v2a.data.captions import CATEGORY_BY_NAME
    from v2a.evaluation.heldout import item_prompt

    bell = CATEGORY_BY_NAME["bell"].captions[0]
    assert item_prompt({"category": "bell", "captions": ["if the dreidel lands on hei, take half", bell]}) == bell
    assert item_prompt({"category": "not_in_the_taxonomy", "captions": ["a user's own label"]}) == "a user's own label"
    assert item_prompt({"category": None, "captions": []}) is None  # a real video: no prompt


def test_place_at_events_puts_the_onset_on_each_event():
    from v2a.evaluation.metrics import onset_f1
    from v2a.signal.onsets import detect_onsets
    from v2a.evaluation.run import place_at_events

    rng = np.random.default_rng(1)
    sound = np.zeros(int(0.4 * RATE), np.float32)
    a, n = int(0.05 * RATE), int(0.15 * RATE)
    sound[a:a + n] = _burst("knock", rng, n)  # the onset is 50 ms into the clip
    events = [0.5, 1.2, 1.35, 2.0]
    wave = place_at_events(sound, RATE, events, 2.5)
    assert wave.shape == (int(2.5 * RATE),)
    score = onset_f1(detect_onsets(wave, RATE), events, 0.02)
    assert score["f1"] == 1.0 and score["mean_abs_offset"] < 0.015
    assert np.abs(wave[: int(0.4 * RATE)]).max() == 0  # nothing before the first event's sound
    assert not place_at_events(sound, RATE, [], 1.0).any()  # no events: silence
    looped = place_at_events(sound, RATE, [], 1.0, continuous=True)
    assert looped.shape == (RATE,) and np.abs(looped).max() > 0


def test_visual_events_find_rendered_events():
    from v2a.data.render import render_pair
    from v2a.evaluation.metrics import onset_f1
    from v2a.evaluation.run import visual_events

    rng = np.random.default_rng(2)
    wav = np.zeros(int(1.5 * RATE), np.float32)
    for start in (0.2, 0.7, 1.1):
        a = int(start * RATE)
        wav[a:a + int(0.15 * RATE)] += _burst("knock", rng, int(0.15 * RATE))
    for style in ("pulse", "flash", "drop"):
        pair = render_pair(wav, 100_003, styles=(style,), fps=25, short_side=96, clean=True)
        found = visual_events(pair.frames, pair.times)
        assert onset_f1(found, pair.event_times, 0.1)["f1"] == 1.0, (style, found, pair.event_times)
    static = render_pair(wav, 100_004, kind="ambience", fps=25, short_side=96)
    assert len(visual_events(static.frames, static.times)) == 0


def test_evaluate_end_to_end(library, cache, tmp_path, debug_pipe):
    from v2a.evaluation.run import SYSTEMS, EvalOptions, evaluate, format_table
    from v2a.settings import GenerationSettings

    out = tmp_path / "eval"
    options = EvalOptions(clips=3, grid_clips=2, progress=False, print_table=False, real_clips=False,
                          resynthesis_clips=1)
    settings = GenerationSettings(steps=2, seed=0)
    results = evaluate(library, out, pipe=debug_pipe, settings=settings, cache=cache, options=options)
    saved = json.loads((out / "results.json").read_text())
    assert set(saved["systems"]) == set(SYSTEMS)
    metrics = {"onset_f1_50ms", "onset_f1_100ms", "mean_abs_offset_ms", "onset_f1_100ms_heldout_style",
               "sound_rate_static", "judge_accuracy", "judge_top5", "judge_accuracy_pictured", "kl_to_ground_truth",
               "frechet_distance", "seconds_per_second"}
    for name, m in saved["systems"].items():
        assert metrics <= set(m), name
        assert m["judge_top5"] >= m["judge_accuracy"], name  # naming it first puts it in the top 5
    gt = saved["systems"]["ground_truth"]
    assert gt["onset_f1_100ms"] >= 0.9 and gt["sound_rate_static"] == 0.0 and gt["kl_to_ground_truth"] == 0.0
    assert gt["mean_abs_offset_ms"] < 30
    for name in ("model", "model_no_video", "model_no_text", "untrained"):
        assert saved["systems"][name]["seconds_per_second"] > 0
    assert saved["judge"]["test_accuracy"] is not None and saved["judge"]["classes"] == 3
    assert {"model", "untrained"} == set(saved["negative_prompt"])
    assert {"vocoder", "griffin_lim", "autoencoder_vocoder"} <= set(saved["resynthesis"])
    assert saved["memory"]["peak_rss_mib"] > 0
    assert (out / "spectrograms.png").stat().st_size > 0 and (out / "table.txt").is_file()
    assert "ground_truth" in format_table(results) and "untrained" in format_table(results)
    # every finished clip is stored: a second run (or one resumed after a crash) reuses them
    assert len(list((out / "clips").glob("*.json"))) == 3
    debug_pipe.vocoder.save_pretrained(tmp_path / "same_vocoder")
    again = evaluate(library, out, pipe=debug_pipe, settings=settings, cache=cache,
                     options=replace(options, reference_vocoder=tmp_path / "same_vocoder"))
    assert again["systems"] == results["systems"]
    # a reference vocoder with the same weights resynthesises exactly as well
    assert again["resynthesis"]["reference_vocoder"]["total"] == pytest.approx(again["resynthesis"]["vocoder"]["total"],
                                                                               rel=1e-4)


def test_reference_systems_join_for_a_model_with_reference_tokens(library, cache, tmp_path, reference_pipe):
    from v2a.bank import BankEntry, build_bank
    from v2a.data.library import load_clip, read_manifest
    from v2a.evaluation.references import REFERENCE_SYSTEMS, HeldoutReferences, paste_reference
    from v2a.evaluation.run import SYSTEMS, EvalOptions, evaluate, format_table
    from v2a.settings import GenerationSettings

    records = read_manifest(library)
    train = [r for r in records if r["split"] == "train"]
    bank = build_bank(reference_pipe, [(load_clip(library, r), BankEntry(r["captions"][0], r["category"]))
                                       for r in train]).save(tmp_path / "bank.safetensors")
    # a held-out reference is another test recording of the category, never the clip's own
    references = HeldoutReferences(library, records, "test")
    knock = references.choose({"id": "x", "record": "c8-knock", "category": "knock"})
    assert knock["id"] == "c10-knock"
    assert references.choose({"id": "x", "record": "c9-bell", "category": "bell"}) is None  # the only test bell
    options = EvalOptions(clips=3, grid_clips=1, progress=False, print_table=False, real_clips=False,
                          resynthesis_clips=1, bank=bank)
    results = evaluate(library, tmp_path / "eval", pipe=reference_pipe, settings=GenerationSettings(steps=2),
                       cache=cache, options=options)
    assert tuple(results["systems"]) == SYSTEMS + REFERENCE_SYSTEMS
    assert results["heldout"]["with_reference"] >= 1
    clips = json.loads((tmp_path / "eval" / "results.json").read_text())["clips"]
    with_reference = [c for c in clips if "model_reference" in c["systems"]]
    assert with_reference and all(c["category"] == "knock" and c["retrieval"]["reference"].endswith("knock")
                                  for c in with_reference)
    assert all("model_bank" in c["systems"] for c in clips)  # the bank serves every clip
    assert any(c["retrieval"].get("bank", {}).get("model_bank") for c in clips)
    pasted = results["systems"]["reference_pasted"]
    if any(c["scene"] == "events" for c in with_reference):
        assert pasted["copy_f1_100ms"] == 1.0  # the copy baseline lands on its own onsets
        assert results["systems"]["model"]["copy_f1_100ms"] is not None  # the chance level beside it
    table = format_table(results)
    assert "F1 copy" in table and "held-out reference" in table
    print(table)
    # the copy baseline starts the looped reference on the first visible event
    from v2a.data.render import render_pair

    a, n = int(0.05 * RATE), int(0.15 * RATE)
    sound = np.zeros(int(0.3 * RATE), np.float32)
    sound[a:a + n] = _burst("knock", np.random.default_rng(3), n)  # its onset 50 ms in
    track = np.zeros(int(2.0 * RATE), np.float32)
    track[16 * a:16 * a + n] = _burst("knock", np.random.default_rng(4), n)  # one event, at 0.8 s
    pair = render_pair(track, 100_005, styles=("flash",), fps=25, short_side=96, clean=True)
    wave = paste_reference(sound, RATE, pair.frames, pair.times, pair.duration, "impact")
    from v2a.signal.onsets import detect_onsets

    onsets = detect_onsets(wave, RATE)
    assert abs(onsets[0] - pair.event_times[0]) < 0.05 and len(onsets) >= 3  # then looped to the end


def test_negative_prompt_effect_counts_the_clips_it_lowers_beside_the_means():
    from v2a.evaluation.run import negative_prompt_effect

    def clip(without, with_negative, scene="events"):
        return {"scene": scene, "systems": {"model_no_text": {"p_category": without},
                                            "model_negative": {"p_category": with_negative}}}

    # four clips fall to a tenth, one rises far enough to outweigh them in the means
    rows = [clip(0.002, 0.0002)] * 4 + [clip(0.03, 0.17), clip(0.5, 0.0, scene="silent")]
    effect = negative_prompt_effect(rows, "model_no_text", "model_negative")
    assert effect["clips"] == 5  # silent scenes have no category to lower
    assert effect["drop"] < 0 and effect["p_with"] > effect["p_without"]
    assert effect["lowered"] == 4
    assert effect["median_ratio"] == pytest.approx(0.1)
