"""The training loop every ``v2a train`` command shares, built on HF accelerate.

The same code runs on a CPU, one GPU, or many GPUs and machines (``accelerate launch -m
v2a.cli train ...``). A run folder holds everything: ``checkpoints/step-N`` (model, optimiser,
EMA, RNG and data-sampler state through ``accelerator.save_state``), ``samples/`` written
by the validation hook, and ``log.jsonl``. Starting a run on an existing folder resumes from its
newest checkpoint, so an interrupted run loses at most ``checkpoint_every`` steps.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    """How a run trains (what it trains is the model and its data)."""

    run_dir: Path  # checkpoints/, log.jsonl, samples/ and the final model/
    steps: int = 10_000  # the run's total; a resumed run continues to it
    batch_size: int = 16
    learning_rate: float = 3e-4  # the peak, reached after warmup_steps, then a cosine decay to 10 %
    weight_decay: float = 0.01  # AdamW
    warmup_steps: int = 500  # linear warm-up to the peak learning rate
    ema_decay: float = 0.999  # the EMA weights are what validation samples and the run saves
    grad_clip: float = 1.0  # global norm; 0 turns clipping off
    checkpoint_every: int = 500  # steps between resumable checkpoints
    validate_every: int = 1000  # steps between validations (with the EMA weights)
    keep_checkpoints: int = 2  # older checkpoints are deleted
    seed: int = 0  # data order and initialisation; a resume continues with seed + step
    mixed_precision: str = "no"  # "no", "fp16" or "bf16" (GPU)
    quiet: bool = False  # no progress bar


class EMA:
    """Exponential moving average of a model's parameters (what gets exported)."""

    def __init__(self, model: torch.nn.Module, decay: float):
        self.decay = decay
        self.shadow = {k: v.detach().clone().float() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int):
        # warm up the decay so early EMA weights are not dominated by the random init
        decay = min(self.decay, (1 + step) / (10 + step))
        state = model.state_dict()
        floats = [k for k, v in state.items() if v.dtype.is_floating_point]
        # one fused kernel per group instead of one per tensor (launches dominate small models on a GPU)
        torch._foreach_lerp_([self.shadow[k] for k in floats], [state[k].detach().float() for k in floats], 1 - decay)
        for k, v in state.items():
            if not v.dtype.is_floating_point:
                self.shadow[k].copy_(v)

    def copy_to(self, model: torch.nn.Module):
        model.load_state_dict({k: v.to(model.state_dict()[k].dtype) for k, v in self.shadow.items()})

    def state_dict(self):
        return {"decay": self.decay, "shadow": self.shadow}

    def load_state_dict(self, state):
        self.decay = state["decay"]
        # accelerate loads custom state onto the CPU; keep each average where the model is
        self.shadow = {k: v.to(self.shadow[k].device) for k, v in state["shadow"].items()}


class _ModelWithLoss(torch.nn.Module):
    """The model with its loss as ``forward``: accelerate wraps ``forward`` (in autocast for
    bf16/fp16, in DistributedDataParallel across GPUs), and the losses call other methods of
    the model too (``encode``, ``prepare_conditions``), which would otherwise run outside both."""

    def __init__(self, model: torch.nn.Module, loss_fn):
        super().__init__()
        self.model, self.loss_fn = model, loss_fn

    def forward(self, batch: dict):
        return self.loss_fn(self.model, batch)


def prefetched(batches: Iterator[dict], depth: int = 4) -> Iterator[dict]:
    """Makes the next batches in a background thread while the accelerator runs the current step.

    Collating a batch of 128 crops takes about as long as a small model's GPU step; numpy's
    copies release the GIL, so the two overlap. Same batches, same order.
    """
    ready: queue.Queue = queue.Queue(maxsize=depth)
    finished = object()

    def work():
        try:
            for batch in batches:
                ready.put(batch)
            ready.put(finished)
        except BaseException as error:  # re-raised in the training thread
            ready.put(error)

    threading.Thread(target=work, daemon=True).start()
    while (item := ready.get()) is not finished:
        if isinstance(item, BaseException):
            raise item
        yield item


def _lr_lambda(settings: TrainSettings):
    def fn(step):
        if step < settings.warmup_steps:
            return (step + 1) / settings.warmup_steps
        progress = (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))  # cosine to 10%

    return fn


def _cpu_only() -> bool:
    return not torch.cuda.is_available()


def training_device() -> torch.device:
    """The device ``train`` puts this process's model on (its own GPU under ``accelerate launch``)."""
    from accelerate import PartialState

    return PartialState(cpu=_cpu_only()).device


def latest_checkpoint(run_dir: Path) -> Path | None:
    folders = sorted((run_dir / "checkpoints").glob("step-*"), key=lambda p: int(p.name.split("-")[1]))
    return folders[-1] if folders else None


def param_groups(model: torch.nn.Module, extra_params, learning_rate: float, lr_scales: dict[str, float] | None):
    """The optimiser's parameter groups: one, or one per ``lr_scales`` name prefix (its learning
    rate scaled) plus one for the rest. The schedule multiplies every group's rate alike."""
    trainable = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    if not lr_scales:  # a single group, as checkpoints written before scales existed expect
        return [p for _, p in trainable] + list(extra_params or [])
    groups = []
    for prefix, scale in lr_scales.items():
        chosen = [p for name, p in trainable if name.startswith(prefix)]
        if not chosen:
            raise ValueError(f"no trainable parameters under {prefix!r} to scale the learning rate of")
        groups.append({"params": chosen, "lr": learning_rate * scale})
    rest = [p for name, p in trainable if not any(name.startswith(prefix) for prefix in lr_scales)]
    return groups + [{"params": rest + list(extra_params or [])}]


def train(
    settings: TrainSettings,
    model: torch.nn.Module,
    batches: Callable[[int], Iterator[dict]],
    loss_fn: Callable[[torch.nn.Module, dict], tuple[torch.Tensor, dict]],
    validate: Callable[[torch.nn.Module, int, Path], dict] | None = None,
    extra_params: list[torch.nn.Parameter] | None = None,
    lr_scales: dict[str, float] | None = None,
) -> tuple[torch.nn.Module, EMA]:
    """Trains ``model`` and returns it with its EMA.

    Args:
        settings: see ``TrainSettings``.
        model: the network; its EMA copy is what the run saves to ``run_dir/model``.
        batches: ``batches(seed)`` yields dict batches forever; called with a new seed after a
            resume so the data order continues rather than repeats.
        loss_fn: ``loss_fn(model, batch) -> (loss, logs)``.
        validate: ``validate(ema_model, step, folder)``, called every ``validate_every`` steps
            with the EMA weights loaded; writes samples into ``folder`` and returns numbers to log.
        lr_scales: learning-rate multipliers by parameter-name prefix, e.g. ``{"discriminator.": 4}``
            (a GAN's discriminator learning faster than its generator).
    """
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    run_dir = Path(settings.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    accelerator = Accelerator(mixed_precision=settings.mixed_precision, cpu=_cpu_only())
    torch.backends.cudnn.benchmark = True  # crops have fixed shapes: let cuDNN pick the fastest convolutions
    set_seed(settings.seed)
    optimizer = torch.optim.AdamW(param_groups(model, extra_params, settings.learning_rate, lr_scales),
                                  lr=settings.learning_rate, weight_decay=settings.weight_decay, betas=(0.9, 0.99))
    params = [p for group in optimizer.param_groups for p in group["params"]]  # what gets clipped
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(settings))
    trained, optimizer, scheduler = accelerator.prepare(_ModelWithLoss(model, loss_fn), optimizer, scheduler)
    model = accelerator.unwrap_model(trained).model  # on the accelerator's device now
    ema = EMA(model, settings.ema_decay)
    accelerator.register_for_checkpointing(ema)

    step = _resume(accelerator, run_dir, settings)
    data = batches(settings.seed + step)
    if accelerator.device.type != "cpu":  # on a CPU the thread would only take cores from the step
        data = prefetched(data)
    bar = tqdm(total=settings.steps, initial=step, disable=settings.quiet or not accelerator.is_main_process,
               desc=run_dir.name, dynamic_ncols=True)
    log = (run_dir / "log.jsonl").open("a") if accelerator.is_main_process else None
    started, smoothed = time.perf_counter(), None
    trained.train()
    while step < settings.steps:
        batch = {k: v.to(accelerator.device) if torch.is_tensor(v) else v for k, v in next(data).items()}
        with accelerator.accumulate(trained):
            loss, logs = trained(batch)
            accelerator.backward(loss)
            if accelerator.sync_gradients and settings.grad_clip:
                accelerator.clip_grad_norm_(params, settings.grad_clip)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
        step += 1
        ema.update(model, step)
        value = loss.item()
        smoothed = value if smoothed is None else 0.98 * smoothed + 0.02 * value
        bar.update(1)
        bar.set_postfix(loss=f"{smoothed:.4f}", it_s=f"{bar.format_dict['rate'] or 0:.2f}")
        if step % 50 == 0 or step == settings.steps:
            # the last group has the base rate (lr_scales' groups come first)
            _log(log, {"step": step, "loss": value, "smoothed": smoothed, "lr": scheduler.get_last_lr()[-1],
                       "seconds": round(time.perf_counter() - started, 1), **{k: float(v) for k, v in logs.items()}})
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            _checkpoint(accelerator, run_dir, step, settings.keep_checkpoints)
        if validate is not None and accelerator.is_main_process and (step % settings.validate_every == 0 or step == settings.steps):
            numbers = _validate(model, ema, validate, step, run_dir)
            _log(log, {"step": step, **{f"val_{k}": float(v) for k, v in numbers.items()}})
            trained.train()
    bar.close()
    if log is not None:
        log.close()
    accelerator.wait_for_everyone()
    return model, ema


def _resume(accelerator, run_dir: Path, settings: TrainSettings) -> int:
    """Loads the newest checkpoint of the run, if any, and records the settings; the step reached."""
    step = 0
    resume = latest_checkpoint(run_dir)
    if resume is not None:
        accelerator.load_state(str(resume))
        step = int(resume.name.split("-")[1])
        logger.info("resumed from %s", resume)
    if accelerator.is_main_process:
        (run_dir / "settings.json").write_text(json.dumps({k: str(v) for k, v in asdict(settings).items()}, indent=1))
    return step


def _log(log, record: dict) -> None:
    """Appends one JSON line to the run's log (only the main process has one)."""
    if log is not None:
        log.write(json.dumps(record) + "\n")
        log.flush()


def _checkpoint(accelerator, run_dir: Path, step: int, keep: int):
    folder = run_dir / "checkpoints" / f"step-{step}"
    accelerator.save_state(str(folder))
    if accelerator.is_main_process:
        old = sorted((run_dir / "checkpoints").glob("step-*"), key=lambda p: int(p.name.split("-")[1]))[:-keep]
        for path in old:
            shutil.rmtree(path, ignore_errors=True)


@torch.no_grad()
def _validate(model, ema: EMA, validate, step: int, run_dir: Path) -> dict:
    backup = {k: v.detach().clone() for k, v in model.state_dict().items()}
    ema.copy_to(model)
    model.eval()
    folder = run_dir / "samples" / f"step-{step}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return validate(model, step, folder)
    finally:
        model.load_state_dict(backup)


def ema_model(model: torch.nn.Module, ema: EMA) -> torch.nn.Module:
    """``model`` with the EMA weights loaded (what a run saves as its model)."""
    ema.copy_to(model)
    return model.eval()
