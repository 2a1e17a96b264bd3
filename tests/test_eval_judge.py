"""The judge: a linear probe with save/load."""

import numpy as np
import pytest

from v2a.evaluation.judge import LinearJudge


def _clusters(n_per=(60, 30, 10), dim=16, seed=0):
    rng = np.random.RandomState(seed)
    centres = rng.randn(len(n_per), dim) * 3
    x = np.concatenate([c + rng.randn(n, dim) for c, n in zip(centres, n_per)])
    y = sum([[name] * n for name, n in zip(["dog", "drum", "rain"], n_per)], [])
    return x, y


def test_fit_predict_and_probabilities():
    x, y = _clusters()
    judge = LinearJudge.fit(x, y)
    assert judge.labels == ["dog", "drum", "rain"]
    xt, yt = _clusters(n_per=(20, 20, 20), seed=0)  # same centres, new draws
    xt = xt + np.random.RandomState(5).randn(*xt.shape) * 0.1
    assert judge.accuracy(xt, yt) > 0.95
    p = judge.predict_proba(xt)
    assert p.shape == (60, 3) and np.allclose(p.sum(1), 1.0)
    assert judge.predict_proba(xt[0]).shape == (3,)
    assert judge.info["train_accuracy"] > 0.95


def test_fit_is_deterministic_and_save_load_round_trips(tmp_path):
    x, y = _clusters()
    a, b = LinearJudge.fit(x, y), LinearJudge.fit(x, y)
    assert np.array_equal(a.predict_proba(x), b.predict_proba(x))
    path = a.save(tmp_path / "judge")
    assert path.name == "judge.safetensors" and path.with_suffix(".json").is_file()
    c = LinearJudge.load(path)
    assert c.labels == a.labels
    assert np.allclose(c.predict_proba(x), a.predict_proba(x), atol=1e-5)


def test_errors():
    x, y = _clusters()
    with pytest.raises(ValueError):
        LinearJudge.fit(x, y[:-1])
    judge = LinearJudge.fit(x, y)
    with pytest.raises(ValueError):
        judge.predict_proba(np.zeros((2, 5)))


def test_family_probabilities_add_up_the_family_members():
    # horses and cattle are both animals, rain is weather: two weak animal guesses beat one strong rain guess
    x, y = _clusters()
    judge = LinearJudge.fit(x, [{"dog": "horse", "drum": "cattle", "rain": "rain"}[label] for label in y])
    probs = np.array([0.3, 0.3, 0.4])  # columns in judge.labels order: cattle, horse, rain
    assert judge.labels == ["cattle", "horse", "rain"]
    families = judge.family_proba(probs)
    assert families == pytest.approx({"animals": 0.6, "weather": 0.4})
    assert judge.predict_family(probs) == "animals" and judge.labels[int(np.argmax(probs))] == "rain"
