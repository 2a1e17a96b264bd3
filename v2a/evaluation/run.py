"""One evaluation run: every number, for every system, on the same held-out set.

    results = evaluate(".cache/library", "runs/eval", settings=GenerationSettings(steps=16),
                       options=EvalOptions(clips=24))

Systems, side by side on each held-out clip (:mod:`v2a.evaluation.heldout`):

``ground_truth``    the real recording the video was rendered from;
``retrieval``       a TRAIN-split library clip of the prompted category placed at the events
                    detected from the video's motion (:func:`visual_events`); a continuous
                    sound (ambience) is looped over the whole clip instead;
``vocoded``         the ground truth's log-mel through the model's vocoder alone: what the mel
                    format and the vocoder keep of a sound;
``autoencoded``     the ground truth's log-mel through the model's autoencoder and vocoder:
                    the best any generated latent can sound (the decoder's ceiling); the
                    step from ``vocoded`` to ``autoencoded`` is what the autoencoder loses;
``model``           the pipeline prompted with the clip's category's first phrasing (``item_prompt``);
``model_no_video``  the same, frames ignored (``use_video=False``);
``model_no_text``   the same, no prompt (video only);
``untrained``       the same pipeline with freshly initialised transformer and autoencoder,
                    prompted like ``model``: what the numbers look like before learning;
``model_bank``, ``model_bank_no_text``, ``model_reference``, ``reference_pasted``
                    for a model that takes reference sounds only: its reference retrieved from
                    the sound bank, or a held-out recording of the category, and that recording
                    pasted as the copy baseline (:mod:`v2a.evaluation.references`).

Metrics (each computed on the clips it makes sense for):

* timing, on event clips: onset F1 at +-50 / +-100 ms and mean absolute offset of matched
  onsets against the ground-truth visible events, also split by held-out style (PULSE) vs
  the styles training saw; on silent static scenes: the fraction of time that is audible;
  with a held-out reference, the copy check: onset F1 at +-100 ms against the pasted
  reference's own onsets;
* semantics: a judge (:class:`~v2a.evaluation.judge.LinearJudge` on aiSFX embeddings,
  fitted on the library's train split; its own accuracy on the test split's real recordings
  is reported) names each clip's category: accuracy overall and on clips showing the
  source's picture (for ``model_no_text`` that is the no-prompt accuracy), KL(judge(ground
  truth) || judge(system)) per clip, and how much a negative prompt naming the category
  lowers its probability (video-only generation with vs without the negative prompt);
* quality: Fréchet distance of aiSFX embeddings to the test split's real recordings (all
  audio at 22,050 Hz through the same path), and the resynthesis error (multi-resolution
  STFT distance) of the vocoder, of autoencoder + vocoder, and of Griffin-Lim from the same
  mel as a baseline, on the held-out real recordings;
* speed: seconds of compute per second of audio per system, and the run's peak memory.

A spectrogram grid (reference vs each system, ground-truth events ticked) and the audio of
those clips are written for a person to look at and listen to; ``results.json`` holds
everything (per clip too) and ``table.txt`` the printed table.
"""

from __future__ import annotations

import json
import logging
import math
import resource
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from ..data.captions import family_of
from ..settings import DEFAULTS, GenerationSettings
from ..signal.audio import DEFAULT_AUDIO, log_mel
from .heldout import item_prompt

logger = logging.getLogger(__name__)

SYSTEMS = ("ground_truth", "vocoded", "autoencoded", "retrieval", "model", "model_no_video", "model_no_text", "untrained")
# generated only for the negative-prompt measurement: video-only with the caption as negative prompt
NEGATIVE_SYSTEMS = ("model_negative", "untrained_no_text", "untrained_negative")
GENERATED = ("model", "model_no_video", "model_no_text", "untrained", *NEGATIVE_SYSTEMS)
SILENCE_THRESHOLD_DB = -50.0


# ---------------------------------------------------------------------------------------------
# the retrieval baseline


def visual_events(frames: np.ndarray, times: np.ndarray, *, min_gap: float = 0.1) -> np.ndarray:
    """Times (s) of visible events: peaks of the sudden change of motion between frames.

    Uses the motion measurements of :func:`v2a.signal.motion.frame_motion` (the features the model
    sees): per grid cell the change of normal-flow velocity (relative to the median cell, so
    camera motion cancels) from one frame to the next, weighted by the cell's motion energy,
    plus the global brightness change. An impact (velocity reverses), a flash, the start of
    a shake or a pulse all give a peak; smooth motion and camera drift do not. Peaks must
    stand out from the clip's median by 6 median absolute deviations, reach 20 % of the
    largest and 0.25 (on held-out renders this gave F1 0.84 at +-100 ms, and no event in 14
    static scenes with distractors and camera shake). Each event is placed half a frame
    before the frame that shows it (the sound started at most a frame earlier).
    """
    from ..signal.motion import GRID, frame_motion
    from ..signal.onsets import peak_pick

    times = np.asarray(times, dtype=np.float64)
    if len(frames) < 4:
        return np.zeros(0)
    g = GRID * GRID
    m = frame_motion(frames)
    energy, vx, vy, brightness = m[:, :g], m[:, g:2 * g], m[:, 2 * g:3 * g], m[:, -1]
    # camera motion moves every cell alike: keep each cell's motion relative to the median cell
    vx = vx - np.median(vx, axis=1, keepdims=True)
    vy = vy - np.median(vy, axis=1, keepdims=True)
    dv = np.abs(np.diff(vx, axis=0, prepend=vx[:1])) + np.abs(np.diff(vy, axis=0, prepend=vy[:1]))
    strength = (dv * np.minimum(1.0, energy)).sum(1) + np.abs(brightness)
    strength[:2] = 0.0  # the first frames have no motion history
    frame_s = float(np.median(np.diff(times)))
    w = max(1, int(round(min_gap / frame_s)))
    base = float(np.median(strength))
    mad = float(np.median(np.abs(strength - base))) + 1e-6
    threshold = max(base + 6 * mad, 0.2 * float(strength.max()), 0.25)
    peaks = [p for p in peak_pick(strength, w, w, 2 * w, w, 0.0, w) if strength[p] > threshold]
    return np.maximum(0.0, times[peaks] - 0.5 * frame_s)


def place_at_events(sound: np.ndarray, sample_rate: int, events: Sequence[float], duration: float, *,
                    continuous: bool = False, fade: float = 0.005) -> np.ndarray:
    """A soundtrack of ``duration`` s with ``sound`` starting so that its first onset is on each event.

    Each copy is cut (with a ``fade`` s fade-out) where the next one starts. ``continuous``
    loops the sound over the whole clip instead (ambience: no events to place it on).
    """
    from ..signal.onsets import detect_onsets

    n = int(round(duration * sample_rate))
    out = np.zeros(n, np.float32)
    sound = np.asarray(sound, np.float32)
    if sound.size == 0 or n == 0:
        return out
    if continuous:
        return np.resize(sound, n).astype(np.float32)
    onsets = detect_onsets(sound, sample_rate)
    lead = int(round((onsets[0] if onsets.size else 0.0) * sample_rate))
    starts = sorted(int(round(t * sample_rate)) - lead for t in events)
    n_fade = max(1, int(fade * sample_rate))
    for k, start in enumerate(starts):
        end = min(n, start + sound.size, starts[k + 1] if k + 1 < len(starts) else n)
        a = max(0, start)
        if end <= a:
            continue
        piece = sound[a - start:end - start].copy()
        if end < min(n, start + sound.size):  # cut short: fade out
            m = min(n_fade, piece.size)
            piece[-m:] *= np.linspace(1.0, 0.0, m, dtype=np.float32)
        out[a:end] = piece
    return out


class RetrievalBaseline:
    """Picks a train-split clip of the category (by a hash of the item id) and places it on the visual events."""

    def __init__(self, library: str | Path, records: list[dict], max_seconds: float = 6.0):
        self.library = Path(library)
        self.train = [r for r in records if r.get("split") == "train"]
        if not self.train:
            raise ValueError("the library has no train split for the retrieval baseline")
        self.max_seconds = max_seconds

    def choose(self, category: str, kind: str | None, key: str) -> dict:
        from ..data.splits import stable_hash

        pool = ([r for r in self.train if r["category"] == category] or
                [r for r in self.train if r.get("kind") == kind] or self.train)
        return sorted(pool, key=lambda r: r["id"])[stable_hash(key) % len(pool)]

    def __call__(self, frames, times, duration: float, category: str, kind: str | None, key: str,
                 sample_rate: int) -> tuple[np.ndarray, dict]:
        from ..data.library import load_clip

        record = self.choose(category, kind, key)
        sound = load_clip(self.library, record)[: int(self.max_seconds * sample_rate)]
        sound = sound.mean(1) if sound.ndim == 2 else sound
        events = visual_events(frames, times)
        wave = place_at_events(sound, sample_rate, events, duration, continuous=kind == "ambience")
        return wave, {"record": record["id"], "visual_events": [round(float(t), 4) for t in events]}


# ---------------------------------------------------------------------------------------------
# models


def untrained_pipeline(pipe, seed: int = 0):
    """``pipe`` with a freshly initialised transformer and autoencoder, a scheduler of its own (it
    keeps state while sampling) and the other components shared."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        fresh = {}
        for name in ("transformer", "autoencoder"):
            m = getattr(pipe, name)
            config = {k: v for k, v in dict(m.config).items() if not k.startswith("_")}
            module = type(m)(**config).to(m.device)
            fresh[name] = (module if m.dtype == module.dtype else module.to(m.dtype)).eval()
    finally:
        torch.random.set_rng_state(state)
    scheduler = type(pipe.scheduler).from_config(pipe.scheduler.config)
    other = type(pipe)(**{**pipe.components, **fresh, "scheduler": scheduler})
    other.set_progress_bar_config(disable=True)
    return other


# ---------------------------------------------------------------------------------------------
# the judge


def library_embeddings(library: Path, records: list[dict], embedding, cache_file: Path | None,
                       max_seconds: float = 10.0, progress: bool = False) -> dict[str, np.ndarray]:
    """aiSFX clip embeddings of library records, cached by id in an ``.npz``."""
    from tqdm.auto import tqdm

    from ..signal.audio import DEFAULT_AUDIO
    from ..data.library import load_clip

    cached: dict[str, np.ndarray] = {}
    if cache_file is not None and cache_file.is_file():
        with np.load(cache_file) as data:
            cached = dict(zip(data["ids"].tolist(), data["vectors"]))
    def save():
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        ids = sorted(cached)
        tmp = cache_file.with_name(cache_file.stem + ".tmp.npz")
        np.savez(tmp, ids=np.array(ids), vectors=np.stack([cached[i] for i in ids]))
        tmp.replace(cache_file)

    missing = [r for r in records if r["id"] not in cached]
    for k, r in enumerate(tqdm(missing, desc="embedding library", disable=not progress)):
        wav = load_clip(library, r)[: int(max_seconds * DEFAULT_AUDIO.sample_rate)]
        cached[r["id"]] = embedding.embed_clip(wav, DEFAULT_AUDIO.sample_rate).astype(np.float32)
        if cache_file is not None and (k + 1) % 200 == 0:  # an interrupted run keeps its work
            save()
    if missing and cache_file is not None:
        save()
    return {r["id"]: cached[r["id"]] for r in records}


def fit_judge(library: Path, records: list[dict], embedding, cache_dir: Path | None, progress: bool = False,
              split: str = "test"):
    """The judge fitted on the train split (cached), its accuracy on ``split``'s recordings, and their embeddings."""
    import hashlib

    from .judge import LinearJudge

    train = [r for r in records if r.get("split") == "train"]
    heldout = [r for r in records if r.get("split") == split]
    cache_file = cache_dir / "library_embeddings.npz" if cache_dir else None
    vectors = library_embeddings(library, train + heldout, embedding, cache_file, progress=progress)
    digest = hashlib.sha1("\n".join(sorted(f"{r['id']}:{r['category']}" for r in train)).encode()).hexdigest()[:16]
    judge_path = cache_dir / f"judge-{digest}.safetensors" if cache_dir else None
    if judge_path is not None and judge_path.is_file():
        judge = LinearJudge.load(judge_path)
    else:
        judge = LinearJudge.fit(np.stack([vectors[r["id"]] for r in train]), [r["category"] for r in train])
        if judge_path is not None:
            judge.save(judge_path)
    known = [r for r in heldout if r["category"] in judge.labels]
    accuracy = (judge.accuracy(np.stack([vectors[r["id"]] for r in known]), [r["category"] for r in known])
                if known else float("nan"))
    # the keys keep their "test_" names for every split: results.json files stay comparable
    info = {"classes": len(judge.labels), "train_clips": len(train), "test_clips": len(known),
            "test_accuracy": accuracy, "train_accuracy": judge.info.get("train_accuracy"),
            "chance": 1.0 / max(1, len(judge.labels))}
    return judge, info, np.stack([vectors[r["id"]] for r in heldout]) if heldout else np.zeros((0, judge.dim))


# ---------------------------------------------------------------------------------------------
# resynthesis


def griffin_lim_from_log_mel(mel: np.ndarray, n_iter: int = 32) -> np.ndarray:
    """Griffin-Lim waveform from a log-mel in the vocoder's format (the classic baseline)."""
    import librosa

    from ..signal.audio import DEFAULT_AUDIO as A
    from ..signal.audio import mel_filters

    magnitude = np.exp(np.asarray(mel, dtype=np.float64).T)  # (n_mels, frames)
    # least-squares inverse of the mel filters, clipped at 0 (librosa's NNLS is far slower)
    inverse = np.linalg.pinv(mel_filters(A).numpy().astype(np.float64))
    linear = np.maximum(0.0, inverse @ magnitude)
    wave = librosa.griffinlim(linear, n_iter=n_iter, hop_length=A.hop_length, win_length=A.win_length,
                              n_fft=A.n_fft, center=True, random_state=0)
    # librosa centres frame k on sample k*hop; the vocoder's mel (reflect padding of (n_fft-hop)/2,
    # no centring) centres it on k*hop + n_fft/2 - (n_fft-hop)/2: delay by the difference
    shift = A.n_fft // 2 - (A.n_fft - A.hop_length) // 2
    return np.concatenate([np.zeros(shift), wave]).astype(np.float32)


@torch.no_grad()
def resynthesize(pipe, wave: np.ndarray, through_autoencoder: bool, vocoder=None, autoencoder=None) -> np.ndarray:
    """``wave``'s log-mel back to audio with the pipeline's vocoder (or ``vocoder``), optionally
    through its autoencoder (or ``autoencoder``) first; the result has ``wave``'s length."""
    from ..models.vocoder import vocode
    from ..signal.audio import log_mel

    hop = pipe.audio_settings.hop_length * pipe.audio_settings.latent_downsample
    n = max(hop, int(math.ceil(len(wave) / hop)) * hop)
    mel = log_mel(torch.from_numpy(np.pad(np.asarray(wave, np.float32), (0, n - len(wave))))).to(pipe.device)[None]
    if through_autoencoder:
        autoencoder = autoencoder if autoencoder is not None else pipe.autoencoder
        mel = autoencoder(mel.to(autoencoder.device, autoencoder.dtype))
    vocoder = vocoder if vocoder is not None else pipe.vocoder
    wave_out = vocode(vocoder, mel.to(vocoder.device), pipe.audio_settings.mel_rate)  # the pipeline's own decode
    return _fit_length(wave_out[0].cpu().numpy(), len(wave))


@torch.no_grad()
def resynthesis_errors(waves: list[np.ndarray], pipe, untrained, sample_rate: int, reference_vocoder=None) -> dict:
    """MR-STFT distance to each real recording of: vocoder(mel), vocoder(AE(mel)), Griffin-Lim(mel),
    and ``reference_vocoder(mel)`` when given (e.g. the universal vocoder a fine-tune started from)."""
    from ..signal.audio import log_mel
    from .metrics import multi_resolution_stft_distance

    rows: dict[str, list[dict]] = {}
    for wave in waves:
        griffin_lim = griffin_lim_from_log_mel(log_mel(torch.from_numpy(wave)).numpy())
        outputs = {"vocoder": resynthesize(pipe, wave, False), "autoencoder_vocoder": resynthesize(pipe, wave, True),
                   "untrained_autoencoder_vocoder": resynthesize(untrained, wave, True),
                   "griffin_lim": _fit_length(griffin_lim, len(wave))}
        if reference_vocoder is not None:
            outputs["reference_vocoder"] = resynthesize(pipe, wave, False, vocoder=reference_vocoder)
        for name, y in outputs.items():
            rows.setdefault(name, []).append(multi_resolution_stft_distance(y, wave, sample_rate))
    return {name: {k: float(np.mean([r[k] for r in rs])) for k in ("total", "spectral_convergence", "log_magnitude")}
            | {"clips": len(rs)} for name, rs in rows.items() if rs}


# ---------------------------------------------------------------------------------------------
# the run


def _peak_memory_mib() -> dict:
    out = {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    if torch.cuda.is_available():
        out["peak_cuda_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def _fit_length(wave: np.ndarray, n: int) -> np.ndarray:
    wave = np.asarray(wave, np.float32).reshape(-1)
    return np.pad(wave, (0, max(0, n - wave.size)))[:n]


def _clean(value):
    """JSON-safe: NaN/inf -> None, numpy scalars and arrays -> Python."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.floating, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def _mean(values) -> float:
    values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(values)) if values else float("nan")


# Noise seeds: clip i of a run with seed s draws its noise from s * CLIP_SEED_STRIDE + i, the same
# for every system on that clip (so systems differ only in their conditions); the stride is a prime
# larger than any held-out set, so runs with different seeds never share a clip's noise. The real
# videos count on from REAL_CLIP_SEED_OFFSET, past every rendered clip's index.
CLIP_SEED_STRIDE = 100003
REAL_CLIP_SEED_OFFSET = 99991
# the untrained baseline's fresh weights are drawn with the run's seed plus this
UNTRAINED_SEED_OFFSET = 1
WARM_UP_SEED = 0


def clip_seed(seed: int, index: int) -> int:
    """The noise seed of rendered clip ``index`` in a run with ``seed``."""
    return seed * CLIP_SEED_STRIDE + index


def real_clip_seed(seed: int, index: int) -> int:
    """The noise seed of real video ``index`` in a run with ``seed``."""
    return seed * CLIP_SEED_STRIDE + REAL_CLIP_SEED_OFFSET + index


@dataclass(frozen=True)
class EvalOptions:
    """What the evaluation covers (the sampler settings are a ``GenerationSettings``)."""

    clips: int = 24  # rendered held-out clips (about 3/4 with events, 1/8 silent static, 1/8 ambience)
    split: str = "test"  # library split of the clips, the judge's accuracy and the FD reference: val to tune
    max_seconds: float = 6.0  # longest library recording used (longer ones are cut)
    real_clips: bool = True  # also run the model on the real videos shipped in packages
    resynthesis_clips: int = 12  # real recordings for the resynthesis errors
    grid_clips: int = 4  # event clips in the spectrogram grid (plus one silent and one ambience scene)
    reference_vocoder: str | Path | None = None  # a HiFi-GAN folder to compare the vocoder with
    bank: str | Path | None = None  # the sound bank of the model_bank systems (default: the shipped bank)
    vocoder: str | Path | None = None  # a HiFi-GAN folder that replaces the model's vocoder (load_pipeline)
    device: str = "cpu"
    float32: bool = False  # float32 throughout (default: the precision load_pipeline picks for the machine)
    progress: bool = True
    print_table: bool = True


@dataclass
class Systems:
    """Everything that makes or judges a soundtrack in one run."""

    pipe: object  # the model's V2APipeline
    untrained: object  # the same pipeline with fresh transformer and autoencoder
    retrieval: RetrievalBaseline
    embedding: object  # AisfxEmbedding
    judge: object  # LinearJudge
    model_name: str
    bank: object = None  # the SoundBank of model_bank*, for a model that takes reference sounds
    references: object = None  # HeldoutReferences, likewise

    @property
    def names(self) -> tuple[str, ...]:
        """The systems of the table: the reference systems join when the model takes references."""
        from .references import REFERENCE_SYSTEMS

        return SYSTEMS + (REFERENCE_SYSTEMS if self.references is not None else ())

    @property
    def generated_names(self) -> tuple[str, ...]:
        from .references import REFERENCE_GENERATED

        return GENERATED + (REFERENCE_GENERATED if self.references is not None else ())

    def generated(self, item: dict, reference: np.ndarray | None = None) -> dict[str, tuple[object, dict]]:
        """The generated systems for a held-out item: name -> (pipeline, keywords); ``reference`` is
        its held-out reference sound, if it has one."""
        caption = item_prompt(item)
        calls = {"model": (self.pipe, dict(prompt=caption)),
                 "model_no_video": (self.pipe, dict(prompt=caption, use_video=False)),
                 "model_no_text": (self.pipe, dict(prompt=None)), "untrained": (self.untrained, dict(prompt=caption))}
        if item["scene"] != "silent" and caption:
            calls.update({"model_negative": (self.pipe, dict(prompt=None, negative_prompt=caption)),
                          "untrained_no_text": (self.untrained, dict(prompt=None)),
                          "untrained_negative": (self.untrained, dict(prompt=None, negative_prompt=caption))})
        if self.bank is not None:
            calls.update({"model_bank": (self.pipe, dict(prompt=caption, bank=self.bank)),
                          "model_bank_no_text": (self.pipe, dict(prompt=None, bank=self.bank))})
        if reference is not None:
            calls["model_reference"] = (self.pipe, dict(prompt=caption, reference=reference))
        return calls


def evaluate(library: str | Path, out: str | Path, *, model: str | None = None, pipe=None,
             settings: GenerationSettings = DEFAULTS, cache: str | Path | None = None,
             options: EvalOptions = EvalOptions()) -> dict:
    """Runs the whole evaluation and writes ``out/results.json``, ``out/table.txt``, ``out/spectrograms.png``.

    The stages: build the systems, generate and score every held-out clip (resumable: each
    finished clip is stored under ``out/clips``), the real videos, aggregate, report.

    Args:
        library: sound library folder (``manifest.jsonl`` with train and test splits).
        out: results folder.
        model: the pipeline to load (None = shipped default, ``"debug"``, or a folder), unless
            ``pipe`` is given.
        settings: the sampler settings; clip ``i`` draws its noise from ``clip_seed(settings.seed, i)``.
        cache: where the held-out set, library embeddings and judge are kept (default
            ``out/cache``); reused across runs and models.
        options: what the run covers (:class:`EvalOptions`).
    """
    from ..data.library import read_manifest
    from .heldout import build_heldout

    if settings.text_guidance == settings.guidance:
        settings = replace(settings, text_guidance=None)  # the same sampling: same results, same cache
    started = time.perf_counter()
    library, out = Path(library), Path(out)
    cache = Path(cache) if cache is not None else out / "cache"
    out.mkdir(parents=True, exist_ok=True)
    records = read_manifest(library)
    heldout_dir = cache / ("heldout" if options.split == "test" else f"heldout-{options.split}")
    items = build_heldout(library, heldout_dir, options.clips, max_seconds=options.max_seconds, real=options.real_clips,
                          progress=options.progress, split=options.split)
    rendered = [it for it in items if it["scene"] != "real"]
    systems, judge_info, reference_embeddings = build_systems(library, records, model, pipe, settings, options, cache)
    per_clip, grid = evaluate_rendered(rendered, systems, settings, options, out)
    real_rows = evaluate_real([it for it in items if it["scene"] == "real"], systems, settings, out, grid)
    results = aggregate(per_clip, real_rows, systems, settings, options, library, records, rendered,
                        reference_embeddings, judge_info)
    clips = results.pop("clips")
    results.update(wall_seconds=time.perf_counter() - started, clips=clips)
    return report(results, grid, out, options.print_table)


def build_systems(library: Path, records: list[dict], model, pipe, settings: GenerationSettings,
                  options: EvalOptions, cache: Path):
    """The judge (with its info and the reference embeddings of the split) and every system."""
    from ..presets import load_pipeline
    from .embedding import AisfxEmbedding
    from .references import HeldoutReferences

    embedding = AisfxEmbedding(device=options.device if options.device != "auto" else "cpu")
    judge, judge_info, reference_embeddings = fit_judge(library, records, embedding, cache, progress=options.progress,
                                                        split=options.split)
    model_name = "given pipeline" if pipe is not None else (str(model) if model else "default (weights/)")
    if pipe is None:
        pipe = load_pipeline(model, device=options.device, vocoder=options.vocoder,
                             dtype=torch.float32 if options.float32 else None)
        if options.vocoder is not None:  # the name keys the stored clips: another vocoder's are not reused
            model_name += f" with vocoder {options.vocoder}"
    pipe.set_progress_bar_config(disable=True)
    untrained = untrained_pipeline(pipe, seed=settings.seed + UNTRAINED_SEED_OFFSET)
    retrieval = RetrievalBaseline(library, records, max_seconds=options.max_seconds)
    bank = references = None
    if pipe.takes_reference:
        from ..bank import check_bank, open_bank

        bank = open_bank(options.bank if options.bank is not None else True)
        check_bank(pipe, bank)
        references = HeldoutReferences(library, records, options.split, max_seconds=options.max_seconds)
    torch.manual_seed(settings.seed)
    return (Systems(pipe, untrained, retrieval, embedding, judge, model_name, bank, references), judge_info,
            reference_embeddings)


def evaluate_rendered(rendered: list[dict], systems: Systems, settings: GenerationSettings, options: EvalOptions,
                      out: Path) -> tuple[list[dict], dict]:
    """Generates and scores every rendered clip (resuming stored ones); the per-clip rows and the grid."""
    import soundfile as sf
    from tqdm.auto import tqdm

    from ..media.decode import decode_video

    sr = DEFAULT_AUDIO.sample_rate
    run_key = json.dumps({"model": systems.model_name, "split": options.split, "steps": settings.steps,
                          "guidance": settings.guidance,
                          **({"text_guidance": settings.text_guidance} if settings.text_guidance is not None else {}),
                          "seed": settings.seed, "max_seconds": options.max_seconds, "judge": systems.judge.labels,
                          "window_seconds": settings.window_seconds, "prompt": "category phrasing",
                          **_bank_key(systems, settings),
                          **_precision_key(systems.pipe)}, sort_keys=True)
    done_dir = out / "clips"
    done_dir.mkdir(exist_ok=True)
    (out / "audio").mkdir(exist_ok=True)
    want_grid = [it["id"] for it in [it for it in rendered if it["scene"] == "events"][:options.grid_clips]
                 + [it for it in rendered if it["scene"] == "silent"][:1]
                 + [it for it in rendered if it["scene"] == "ambience"][:1]]
    warmed = False
    per_clip = []
    for i, item in enumerate(tqdm(rendered, desc="evaluating", disable=not options.progress)):
        done = done_dir / f"{item['id']}.json"
        if done.is_file():
            row = json.loads(done.read_text())
            if row.get("run_key") == run_key and "seconds" in row and (item["id"] not in want_grid or all(
                    (out / "audio" / f"{item['id']}.{name}.wav").is_file()
                    for name in systems.names if name in row["systems"])):
                per_clip.append(row)
                continue
        clip = decode_video(item["path"])
        if not warmed:  # first-call costs are not generation speed
            systems.pipe(clip, prompt="warm up", num_inference_steps=1,
                         generator=torch.Generator().manual_seed(WARM_UP_SEED))
            warmed = True
        waves, retrieval_info, seconds = generate_clip(item, clip, systems, settings, clip_seed(settings.seed, i))
        row = {"id": item["id"], "scene": item["scene"], "style": item["style"], "category": item["category"],
               "heldout_style": item["heldout_style"], "picture": bool(item["picture"]),
               "events": item["event_times"], "duration": clip.duration, "retrieval": retrieval_info,
               "seconds": seconds, "run_key": run_key, "systems": score_clip(item, clip, waves, systems, sr)}
        if item["id"] in want_grid:
            for name in systems.names:
                if name in waves:  # a clip without a held-out reference has no reference systems
                    sf.write(out / "audio" / f"{item['id']}.{name}.wav", waves[name], sr)
        row = _clean(row)
        tmp = done.with_suffix(".tmp")
        tmp.write_text(json.dumps(row) + "\n")
        tmp.replace(done)
        per_clip.append(row)
    return per_clip, spectrogram_rows(per_clip, rendered, want_grid, out, systems.names)


def _bank_key(systems: Systems, settings: GenerationSettings) -> dict:
    """What the reference systems' results depend on beyond the sampler (nothing for other models),
    so that stored clips are not reused after the bank changes."""
    if systems.bank is None:
        return {}
    import hashlib

    digest = hashlib.sha1(json.dumps([e.caption + e.category for e in systems.bank.entries]).encode()).hexdigest()
    return {"bank": f"{len(systems.bank.entries)}:{digest[:16]}", "bank_entries": settings.bank_entries}


def _precision_key(pipe) -> dict:
    """The transformer's and the vocoder's precision where it is not float32 (chosen per machine
    by ``load_pipeline``; keys of float32 runs stay as they were)."""
    from ..presets import dtype_name

    dtypes = {"transformer_dtype": pipe.transformer.dtype, "vocoder_dtype": pipe.vocoder.dtype}
    return {k: dtype_name(v) for k, v in dtypes.items() if v != torch.float32}


def generate_clip(item: dict, clip, systems: Systems, settings: GenerationSettings, seed: int):
    """Every system's soundtrack of one held-out clip, the retrieval's choice and the generation seconds."""
    import soundfile as sf

    sr = DEFAULT_AUDIO.sample_rate
    n = int(round(clip.duration * sr))
    gt, gt_rate = sf.read(item["audio"], dtype="float32")
    if gt_rate != sr:
        raise ValueError(f"{item['audio']}: {gt_rate} Hz, expected {sr}")
    waves = {"ground_truth": _fit_length(gt, n)}
    waves["vocoded"] = resynthesize(systems.pipe, waves["ground_truth"], False)
    waves["autoencoded"] = resynthesize(systems.pipe, waves["ground_truth"], True)
    wave, info = systems.retrieval(clip.frames, clip.times, clip.duration, item["category"], item["kind"], item["id"], sr)
    waves["retrieval"] = wave
    reference = None
    record = systems.references.choose(item) if systems.references is not None else None
    if record is not None:
        from .references import paste_reference

        reference = systems.references.load(record, sr)
        waves["reference_pasted"] = _fit_length(paste_reference(reference, sr, clip.frames, clip.times, clip.duration,
                                                                item["kind"]), n)
        info["reference"] = record["id"]
    seconds = {}
    for name, (p, kwargs) in systems.generated(item, reference).items():
        generator = torch.Generator().manual_seed(seed)
        t0 = time.perf_counter()
        result = p(clip, generator=generator, **settings.pipeline_kwargs(), **kwargs)
        seconds[name] = time.perf_counter() - t0
        waves[name] = _fit_length(result.waveforms[0], n)
        if result.retrieved and result.retrieved[0]:  # what the bank gave, for a person to check
            info.setdefault("bank", {})[name] = [systems.bank.entries[i].category for i in result.retrieved[0]]
    return waves, info, seconds


def score_clip(item: dict, clip, waves: dict[str, np.ndarray], systems: Systems, sr: int) -> dict[str, dict]:
    """Per system: its onsets and, where they apply, onset F1, sound in silence, late starts, gaps
    at window joins and the judge's verdict."""
    from ..pipeline import window_joins
    from ..signal.onsets import detect_onsets
    from .metrics import gap_within, kl_divergence, onset_f1, sound_rate_in_silence, starts_silent

    judge = systems.judge
    p_gt = None
    gt = waves["ground_truth"]
    sounds_from_start = item["scene"] != "silent" and not starts_silent(gt, sr)
    # the copy check: the pasted reference's own onsets, where the clip has events and a reference
    copied = (detect_onsets(waves["reference_pasted"], sr)
              if item["scene"] == "events" and "reference_pasted" in waves else None)
    joins = window_joins(clip.duration, systems.pipe.audio_settings) if item["scene"] != "silent" else []
    scores = {}
    for name, wave in waves.items():
        s = {"onsets": [round(float(t), 4) for t in detect_onsets(wave, sr)]}
        if sounds_from_start:
            s["silent_start"] = starts_silent(wave, sr)
        if joins:
            s["join_gap"] = gap_within(wave, gt, sr, joins)
        if item["scene"] == "events":
            s["onset_50"] = onset_f1(s["onsets"], item["event_times"], 0.05)
            s["onset_100"] = onset_f1(s["onsets"], item["event_times"], 0.1)
        if copied is not None:
            s["copy_100"] = onset_f1(s["onsets"], copied, 0.1)
        if item["scene"] in ("silent", "ambience"):
            s["sound_rate"] = sound_rate_in_silence(wave, sr, threshold_db=SILENCE_THRESHOLD_DB)
        if item["scene"] != "silent":
            e = systems.embedding.embed_clip(wave, sr)
            probs = judge.predict_proba(e)
            s["embedding"] = [float(v) for v in e]
            s.update(judge_verdict(judge, probs, item["category"]))
            if name == "ground_truth":
                p_gt = probs
            s["kl"] = kl_divergence(p_gt, probs) if p_gt is not None else float("nan")
        scores[name] = s
    return scores


def judge_verdict(judge, probs: np.ndarray, category: str) -> dict:
    """The judge's category, and how it ranks the prompted ``category`` and its family."""
    s = {"judge": judge.labels[int(np.argmax(probs))]}
    if category in judge.labels:
        s["p_category"] = float(probs[judge.label_index(category)])
        s["correct"] = s["judge"] == category
        # how many categories the judge ranks above the prompted one (0 = correct)
        s["category_rank"] = int((probs > probs[judge.label_index(category)]).sum())
        if family_of(category):
            s["family_correct"] = judge.predict_family(probs) == family_of(category)
    return s


def spectrogram_rows(per_clip: list[dict], rendered: list[dict], want_grid: list[str], out: Path,
                     names: Sequence[str] = SYSTEMS) -> dict:
    """The grid's rows (reference and every system's log-mel) and ground-truth events of the grid clips."""
    import soundfile as sf

    grid = {"rows": [], "events": []}
    for row in per_clip:
        if row["id"] in want_grid:
            item = next(it for it in rendered if it["id"] == row["id"])
            shown = [name for name in names if name in row["systems"]]
            mels = [log_mel(torch.from_numpy(sf.read(out / "audio" / f"{row['id']}.{name}.wav",
                                                      dtype="float32")[0])).numpy() for name in shown]
            labels = [f"reference: {item['category']} ({item['style']})", *shown[1:]]
            grid["rows"].append(list(zip(labels, mels)))
            grid["events"].append(np.asarray(item["event_times"]))
    return grid


def evaluate_real(real: list[dict], systems: Systems, settings: GenerationSettings, out: Path, grid: dict) -> list[dict]:
    """Real videos shipped in packages: speed and a look (no ground-truth events); adds them to ``grid``."""
    import soundfile as sf

    from ..media.decode import decode_video
    from ..signal.onsets import detect_onsets

    sr = DEFAULT_AUDIO.sample_rate
    rows = []
    for k, item in enumerate(real):
        try:
            clip = decode_video(item["path"])
        except Exception as err:  # noqa: BLE001 - a missing optional clip must not stop the run
            logger.warning("skipping %s: %s", item["path"], err)
            continue
        generator = torch.Generator().manual_seed(real_clip_seed(settings.seed, k))
        t0 = time.perf_counter()
        wave = systems.pipe(clip, prompt=None, generator=generator, **settings.pipeline_kwargs()).waveforms[0]
        dt = time.perf_counter() - t0
        probs = systems.judge.predict_proba(systems.embedding.embed_clip(wave, sr))
        top = np.argsort(probs)[::-1][:3]
        rows.append({"id": item["id"], "duration": clip.duration, "seconds": dt, "seconds_per_second": dt / clip.duration,
                     "judge_top3": [[systems.judge.labels[j], float(probs[j])] for j in top],
                     "onsets": [round(float(t), 3) for t in detect_onsets(wave, sr)],
                     "visual_events": [round(float(t), 3) for t in visual_events(clip.frames, clip.times)]})
        sf.write(out / "audio" / f"{item['id']}.model.wav", wave, sr)
        grid["rows"].append([(f"model, no prompt: {item['id']}", log_mel(torch.from_numpy(wave)).numpy())])
        grid["events"].append(None)
    return rows


def system_numbers(per_clip: list[dict], name: str, reference_embeddings: np.ndarray, seconds: float,
                   audio_seconds: float) -> dict:
    """One system's row of the table, over every clip it applies to."""
    from .metrics import aggregate_onset_scores, frechet_distance

    per_clip = [r for r in per_clip if name in r["systems"]]  # the reference systems skip clips without one
    events = [r for r in per_clip if r["scene"] == "events"]
    sounding = [r for r in per_clip if r["scene"] != "silent"]
    of = lambda r: r["systems"][name]  # noqa: E731
    none = dict.fromkeys(("f1", "precision", "recall", "mean_abs_offset"), float("nan"))  # no clip to score
    agg = lambda rows, key: aggregate_onset_scores([of(r)[key] for r in rows]) if rows else none  # noqa: E731
    s50, s100 = agg(events, "onset_50"), agg(events, "onset_100")
    held = [r for r in events if r["heldout_style"]]
    seen = [r for r in events if not r["heldout_style"]]
    judged = [r for r in sounding if "correct" in of(r)]
    copied = [r for r in events if "copy_100" in of(r)]
    emb = [np.asarray(of(r)["embedding"]) for r in sounding]
    rate = lambda key, rows=per_clip: _mean(float(of(r)[key]) for r in rows if key in of(r))  # noqa: E731
    return {
        "onset_f1_50ms": s50["f1"], "onset_f1_100ms": s100["f1"],
        "precision_100ms": s100["precision"], "recall_100ms": s100["recall"],
        "mean_abs_offset_ms": s100["mean_abs_offset"] * 1000.0,
        "onset_f1_100ms_heldout_style": agg(held, "onset_100")["f1"],
        "onset_f1_100ms_seen_styles": agg(seen, "onset_100")["f1"],
        "copy_f1_100ms": agg(copied, "copy_100")["f1"],
        "sound_rate_static": _mean(of(r)["sound_rate"] for r in per_clip if r["scene"] == "silent"),
        "sound_rate_ambience": _mean(of(r)["sound_rate"] for r in per_clip if r["scene"] == "ambience"),
        "judge_accuracy": _mean(float(of(r)["correct"]) for r in judged),
        "judge_top5": _mean(float(of(r)["category_rank"] < 5) for r in judged if "category_rank" in of(r)),
        "judge_accuracy_pictured": _mean(float(of(r)["correct"]) for r in judged if r["picture"]),
        "silent_start_rate": rate("silent_start"),
        "join_gap_rate": rate("join_gap"),
        "judge_family_accuracy": rate("family_correct", judged),
        "judge_family_accuracy_pictured": rate("family_correct", [r for r in judged if r["picture"]]),
        "kl_to_ground_truth": _mean(of(r)["kl"] for r in sounding),
        "frechet_distance": (frechet_distance(np.stack(emb), reference_embeddings)
                             if len(emb) >= 2 and len(reference_embeddings) >= 2 else float("nan")),
        "seconds_per_second": seconds / audio_seconds if audio_seconds else float("nan"),
    }


def negative_prompt_effect(per_clip: list[dict], plain: str, negative: str) -> dict:
    """How much the judge's probability of the category drops when the negative prompt names it.

    The means are the issue's measure; the count of clips it lowers and the median clip's ratio
    are there too, because with probabilities of a few thousandths one clip that rises from 0.03
    to 0.17 outweighs twenty that fall."""
    rows = [r for r in per_clip if r["scene"] != "silent" and negative in r["systems"]
            and "p_category" in r["systems"][negative]]
    before = np.array([r["systems"][plain]["p_category"] for r in rows], dtype=float)
    after = np.array([r["systems"][negative]["p_category"] for r in rows], dtype=float)
    positive = before > 0
    p_without, p_with = _mean(before), _mean(after)
    return {"p_without": p_without, "p_with": p_with,
            "drop": _mean(before - after) if rows else float("nan"),
            "relative_drop": (1 - p_with / p_without) if rows and p_without > 0 else float("nan"),
            "lowered": int((after < before).sum()),
            "median_ratio": float(np.median(after[positive] / before[positive])) if positive.any() else float("nan"),
            "clips": len(rows)}


def separation(systems: dict) -> dict:
    """Whether each headline metric tells the ground truth from the untrained model."""
    out = {}
    for key, margin in (("onset_f1_100ms", 0.1), ("sound_rate_static", 0.1), ("judge_accuracy", 0.1),
                        ("kl_to_ground_truth", 0.1), ("frechet_distance", None)):
        g, u = systems["ground_truth"][key], systems["untrained"][key]
        gap = abs(g - u) if not (math.isnan(g) or math.isnan(u)) else float("nan")
        separates = (gap >= margin) if margin is not None else (u > 1.25 * g)
        out[key] = {"ground_truth": g, "untrained": u, "separates": bool(separates) if gap == gap else None}
    return out


def aggregate(per_clip: list[dict], real_rows: list[dict], systems: Systems, settings: GenerationSettings,
              options: EvalOptions, library: Path, records: list[dict], rendered: list[dict],
              reference_embeddings: np.ndarray, judge_info: dict) -> dict:
    """Every number of the run (before ``_clean``): per system, the negative prompt, resynthesis, speed."""
    from ..data.library import load_clip

    sr = DEFAULT_AUDIO.sample_rate
    pipe = systems.pipe
    generated = systems.generated_names
    seconds = {name: sum(r["seconds"].get(name, 0.0) for r in per_clip) for name in generated}
    audio_seconds = {name: sum(r["duration"] for r in per_clip if name in r["seconds"]) for name in generated}
    numbers = {name: system_numbers(per_clip, name, reference_embeddings, seconds.get(name, 0.0),
                                    audio_seconds.get(name, 0.0)) for name in systems.names}
    negative = {"model": negative_prompt_effect(per_clip, "model_no_text", "model_negative"),
                "untrained": negative_prompt_effect(per_clip, "untrained_no_text", "untrained_negative")}
    by_id = {r["id"]: r for r in records}
    recordings = [load_clip(library, by_id[it["record"]])[: int(options.max_seconds * sr)]
                  for it in rendered if it["scene"] != "silent" and it["record"] in by_id][:options.resynthesis_clips]
    reference = None
    if options.reference_vocoder is not None:
        from ..models.vocoder import HifiGan

        # in the model's vocoder's precision, so the two rows differ in their weights alone
        reference = HifiGan.from_pretrained(options.reference_vocoder).to(pipe.device).set_precision(pipe.vocoder.dtype)
    resynthesis = resynthesis_errors([w.mean(1) if w.ndim == 2 else w for w in recordings], pipe, systems.untrained,
                                     sr, reference_vocoder=reference)
    speed = {name: {"seconds": seconds[name], "audio_seconds": audio_seconds[name],
                    "seconds_per_second": seconds[name] / audio_seconds[name] if audio_seconds[name] else float("nan")}
             for name in generated}
    events = [r for r in per_clip if r["scene"] == "events"]
    sounding = [r for r in per_clip if r["scene"] != "silent"]
    config = {"model": systems.model_name, "split": options.split, "steps": settings.steps,
              "guidance": settings.guidance, "text_guidance": settings.text_guidance,
              "window_seconds": settings.window_seconds, "seed": settings.seed, "device": str(pipe.device),
              "transformer_dtype": "float32", "vocoder_dtype": "float32", **_precision_key(pipe),
              "clips": len(rendered), "torch_threads": torch.get_num_threads(), "library": str(library),
              "max_seconds": options.max_seconds,
              "transformer_parameters": sum(p.numel() for p in pipe.transformer.parameters()),
              **({"bank_entries": settings.bank_entries, "bank_size": len(systems.bank.entries)}
                 if systems.bank is not None else {})}
    heldout = {"events": len(events), "heldout_style": sum(r["heldout_style"] for r in events),
               "silent_static": sum(r["scene"] == "silent" for r in per_clip),
               "ambience": sum(r["scene"] == "ambience" for r in per_clip), "real": len(real_rows),
               "pictured": sum(r["picture"] for r in sounding),
               "ground_truth_events": sum(len(r["events"]) for r in events),
               "with_reference": sum("model_reference" in r["systems"] for r in per_clip),
               "styles": {s: sum(r["style"] == s for r in events) for s in sorted({r["style"] for r in events})}}
    per_clip = [dict(row, systems={name: {k: v for k, v in s.items() if k != "embedding"}
                                   for name, s in row["systems"].items()}) for row in per_clip]
    return {"config": config, "heldout": heldout, "judge": judge_info, "systems": numbers,
            "negative_prompt": negative, "resynthesis": resynthesis, "speed": speed,
            "real_clips": real_rows, "separation": separation(numbers),
            "memory": _peak_memory_mib(), "clips": per_clip}


def report(results: dict, grid: dict, out: Path, print_table: bool = True) -> dict:
    """Writes the spectrogram grid, ``results.json`` and ``table.txt``; returns the JSON-safe results."""
    if grid["rows"]:
        from .pictures import spectrogram_grid

        spectrogram_grid(grid["rows"], out / "spectrograms.png", DEFAULT_AUDIO.mel_rate, events=grid["events"])
    results = _clean(results)
    (out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    table = format_table(results)
    (out / "table.txt").write_text(table + "\n")
    if print_table:
        print(table)
    return results


# ---------------------------------------------------------------------------------------------
# the table


def _fmt(value, spec: str = ".2f") -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


COLUMNS = (  # key, header, format
    ("onset_f1_50ms", "F1@50", ".2f"), ("onset_f1_100ms", "F1@100", ".2f"), ("mean_abs_offset_ms", "off ms", ".0f"),
    ("onset_f1_100ms_heldout_style", "F1 pulse", ".2f"), ("onset_f1_100ms_seen_styles", "F1 seen", ".2f"),
    ("copy_f1_100ms", "F1 copy", ".2f"),
    ("sound_rate_static", "static", ".2f"), ("silent_start_rate", "late", ".2f"), ("join_gap_rate", "gap", ".2f"),
    ("judge_accuracy", "judge", ".2f"),
    ("judge_top5", "top5", ".2f"), ("judge_accuracy_pictured", "judge pic", ".2f"),
    ("judge_family_accuracy", "family", ".2f"), ("judge_family_accuracy_pictured", "family pic", ".2f"),
    ("kl_to_ground_truth", "KL", ".2f"),
    ("frechet_distance", "FD", ".1f"), ("seconds_per_second", "s/s", ".2f"),
)


def format_table(results: dict) -> str:
    """The readable summary of ``results`` (as returned by :func:`evaluate` or read from its JSON)."""
    c, h, j = results["config"], results["heldout"], results["judge"]
    split = c.get("split", "test")  # results written before the split option were all test
    lines = [f"v2a eval: model {c['model']}, {split} split, {c['steps']} steps, guidance {c['guidance']}"
             f"{'' if c.get('text_guidance') is None else ', text guidance %s' % c['text_guidance']}, seed {c['seed']}, "
             f"device {c['device']}, {c['torch_threads']} threads"
             + "".join(f", {part} in {c[f'{part}_dtype']}" for part in ("transformer", "vocoder")
                       if c.get(f"{part}_dtype", "float32") != "float32"),
             f"held-out set: {h['events']} event clips ({h['heldout_style']} in the held-out PULSE style, "
             f"{h['ground_truth_events']} events), {h['silent_static']} silent static, {h['ambience']} ambience, "
             f"{h['pictured']} showing the source's picture, {h['real']} real videos", ""]
    width = max(len(n) for n in results["systems"]) + 2
    lines.append(f"{'system':<{width}}" + "".join(f" {hdr:>10}" for _, hdr, _ in COLUMNS))  # a space apart: "family pic" fills 10
    for name, m in results["systems"].items():
        lines.append(f"{name:<{width}}" + "".join(f" {_fmt(m.get(k), f):>10}" for k, _, f in COLUMNS))
    lines += ["",
              "F1@50/F1@100: onset F1 vs the visible events within +-50/100 ms (event clips); off ms: mean |offset|",
              "of matched onsets; F1 pulse/seen: held-out style vs training styles; F1 copy: onset F1 at +-100 ms",
              "against the pasted held-out reference's own onsets (clips with one; near the ground truth's is",
              "chance, far above it is copying); static: audible fraction of",
              "silent static scenes (lower is better); late: the first 0.5 s silent (40 dB under the peak) where",
              "the true soundtrack sounds from the start; gap: 0.25 s or more silent inside a window cross-fade",
              "where the true soundtrack sounds; judge: judge names the prompted category (model_no_text:",
              "no prompt); top5: the prompted category is among the judge's 5 likeliest; judge pic: on clips",
              "showing the source; family (pic): the judge's likeliest family (its categories' probabilities",
              "summed) is the prompted category's; KL: judge(ground truth) || judge(system);",
              f"FD: Frechet distance of aiSFX embeddings to the {split} split's real recordings; s/s: compute",
              "seconds per second of audio.", ""]
    lines.append(f"judge: linear probe on aiSFX embeddings, {j['classes']} categories from {j['train_clips']} train "
                 f"clips; accuracy on {j['test_clips']} {split}-split real recordings {_fmt(j['test_accuracy'])} "
                 f"(chance {_fmt(j['chance'], '.3f')})")
    if "model_reference" in results["systems"]:
        m, r = results["systems"]["model_reference"], results["systems"]["reference_pasted"]
        lines.append(f"held-out reference ({h.get('with_reference', '-')} clips): the judge names the category in "
                     f"model_reference {_fmt(m['judge_accuracy'])}, in the reference itself (pasted) "
                     f"{_fmt(r['judge_accuracy'])}; bank of {c.get('bank_size', '-')} entries, "
                     f"{c.get('bank_entries', '-')} retrieved per clip")
    for name, n in results["negative_prompt"].items():
        lines.append(f"negative prompt naming the category ({name}, video only): p(category) "
                     f"{_fmt(n['p_without'], '.3f')} -> {_fmt(n['p_with'], '.3f')}, drop {_fmt(n['drop'], '.3f')}; "
                     f"lower in {n.get('lowered', '-')} of {n['clips']} clips, median clip's ratio "
                     f"{_fmt(n.get('median_ratio', float('nan')), '.2f')}")
    r = results["resynthesis"]
    lines.append("resynthesis MR-STFT distance (lower is better): " + ", ".join(
        f"{k} {_fmt(v['total'])}" for k, v in r.items()))
    for row in results["real_clips"]:
        lines.append(f"real video {row['id']} ({row['duration']:.1f} s, no prompt): "
                     f"{row['seconds_per_second']:.2f} s/s, judge hears "
                     + ", ".join(f"{lab} {p:.2f}" for lab, p in row["judge_top3"]))
    sep = results["separation"]
    lines.append("ground truth vs untrained: " + ", ".join(
        f"{k} {_fmt(v['ground_truth'])}/{_fmt(v['untrained'])}"
        f"{' (does NOT separate)' if v['separates'] is False else ''}"
        for k, v in sep.items()))
    mem = results["memory"]
    lines.append(f"peak memory {mem['peak_rss_mib']:.0f} MiB RSS" +
                 (f", {mem['peak_cuda_mib']:.0f} MiB CUDA" if mem.get("peak_cuda_mib") is not None else "") +
                 f"; wall time {results['wall_seconds']:.0f} s")
    return "\n".join(lines)
