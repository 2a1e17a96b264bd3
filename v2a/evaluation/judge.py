"""The "judge": a linear probe that names the category of a sound from its embedding.

Multinomial logistic regression on standardised embeddings (for example aiSFX clip
embeddings from ``v2a.evaluation.embedding``), fitted full-batch with L-BFGS (scipy, exact
gradients) and an L2 penalty, with class-balanced weights by default so that rare categories
count. Plain numpy; deterministic. Saved as ``<name>.safetensors`` (mean, std, weight, bias) beside
``<name>.json`` (labels, embedding size, fit settings and statistics).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np


class LinearJudge:
    def __init__(self, labels: Sequence[str], dim: int, *, l2: float = 1e-3, balanced: bool = True):
        self.labels = [str(x) for x in labels]
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must be unique")
        self.dim = int(dim)
        self.l2 = float(l2)
        self.balanced = bool(balanced)
        self.mean = np.zeros(self.dim)
        self.std = np.ones(self.dim)
        self.weight = np.zeros((len(self.labels), self.dim))
        self.bias = np.zeros(len(self.labels))
        self.info: dict = {}

    # ---- fitting --------------------------------------------------------------------------

    @classmethod
    def fit(cls, embeddings, labels: Sequence[str], *, l2: float = 1e-3, balanced: bool = True,
            max_iter: int = 500, label_order: Sequence[str] | None = None) -> "LinearJudge":
        """Fit on (n, dim) embeddings and n string labels; returns the fitted judge.

        ``l2`` is the penalty on the weights (per standardised feature, averaged loss);
        ``label_order`` fixes the class order (default: sorted unique labels).
        """
        from scipy.optimize import minimize

        x = np.asarray(embeddings, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] != len(labels):
            raise ValueError(f"need (n, dim) embeddings and n labels, got {x.shape} and {len(labels)}")
        names = list(label_order) if label_order is not None else sorted({str(y) for y in labels})
        index = {name: i for i, name in enumerate(names)}
        unknown = {str(y) for y in labels} - set(index)
        if unknown:
            raise ValueError(f"labels not in label_order: {sorted(unknown)}")
        y = np.array([index[str(v)] for v in labels])
        n_cls, dim = len(names), x.shape[1]
        judge = cls(names, dim, l2=l2, balanced=balanced)
        judge.mean = x.mean(0)
        judge.std = np.maximum(x.std(0), 1e-6)
        z = (x - judge.mean) / judge.std
        counts = np.bincount(y, minlength=n_cls).astype(np.float64)
        class_w = counts.sum() / (n_cls * np.maximum(counts, 1)) if balanced else np.ones(n_cls)
        sample_w = class_w[y] / class_w[y].sum()
        onehot = np.eye(n_cls)[y]

        def loss_and_grad(theta):
            w, b = theta[:n_cls * dim].reshape(n_cls, dim), theta[n_cls * dim:]
            logits = z @ w.T + b
            logits -= logits.max(1, keepdims=True)
            log_p = logits - np.log(np.exp(logits).sum(1, keepdims=True))
            loss = -(sample_w * (log_p * onehot).sum(1)).sum() + 0.5 * l2 * (w ** 2).sum()
            g_logits = (np.exp(log_p) - onehot) * sample_w[:, None]
            grad_w = g_logits.T @ z + l2 * w
            return loss, np.concatenate([grad_w.ravel(), g_logits.sum(0)])

        result = minimize(loss_and_grad, np.zeros(n_cls * (dim + 1)), jac=True, method="L-BFGS-B",
                          options={"maxiter": max_iter, "gtol": 1e-8})
        judge.weight = result.x[:n_cls * dim].reshape(n_cls, dim)
        judge.bias = result.x[n_cls * dim:]
        train_acc = float((judge._logits(x).argmax(1) == y).mean())
        judge.info = {"n_train": int(x.shape[0]), "train_accuracy": train_acc,
                      "final_loss": float(result.fun), "converged": bool(result.success),
                      "class_counts": {n: int(c) for n, c in zip(names, counts)}}
        return judge

    # ---- inference ------------------------------------------------------------------------

    def _logits(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mean) / self.std) @ self.weight.T + self.bias

    def predict_proba(self, embeddings) -> np.ndarray:
        """(n, n_classes) class probabilities, columns in ``self.labels`` order."""
        x = np.asarray(embeddings, dtype=np.float64)
        single = x.ndim == 1
        x = x.reshape(1, -1) if single else x
        if x.shape[1] != self.dim:
            raise ValueError(f"expected embeddings of size {self.dim}, got {x.shape[1]}")
        logits = self._logits(x)
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        return p[0] if single else p

    def predict(self, embeddings) -> list[str]:
        p = np.atleast_2d(self.predict_proba(embeddings))
        return [self.labels[i] for i in p.argmax(1)]

    def accuracy(self, embeddings, labels: Sequence[str]) -> float:
        return float(np.mean([a == str(b) for a, b in zip(self.predict(embeddings), labels)]))

    def label_index(self, label: str) -> int:
        return self.labels.index(label)

    def family_proba(self, probs: np.ndarray) -> dict[str, float]:
        """One clip's class probabilities summed per family of the taxonomy ("dog" and "cat" are both
        "animals"): the coarser question a listener answers first."""
        from ..data.captions import family_of

        families: dict[str, float] = {}
        for label, p in zip(self.labels, probs):
            families[family_of(label)] = families.get(family_of(label), 0.0) + float(p)
        return families

    def predict_family(self, probs: np.ndarray) -> str:
        families = self.family_proba(probs)
        return max(families, key=families.get)

    # ---- storage --------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.safetensors) and the JSON beside it; returns the safetensors path."""
        from safetensors.numpy import save_file

        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_suffix(".safetensors")
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {"mean": self.mean, "std": self.std, "weight": self.weight, "bias": self.bias}
        save_file({k: np.ascontiguousarray(v, dtype=np.float32) for k, v in tensors.items()}, str(path))
        config = {"type": "linear_judge", "labels": self.labels, "dim": self.dim, "l2": self.l2,
                  "balanced": self.balanced, "info": self.info}
        path.with_suffix(".json").write_text(json.dumps(config, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> "LinearJudge":
        from safetensors.numpy import load_file

        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_suffix(".safetensors")
        config = json.loads(path.with_suffix(".json").read_text())
        judge = cls(config["labels"], config["dim"], l2=config.get("l2", 1e-3),
                    balanced=config.get("balanced", True))
        state = load_file(str(path))
        judge.mean, judge.std = state["mean"].astype(np.float64), state["std"].astype(np.float64)
        judge.weight, judge.bias = state["weight"].astype(np.float64), state["bias"].astype(np.float64)
        judge.info = config.get("info", {})
        return judge
