"""Evaluation: metrics (pure functions), the aiSFX sound-effect embedding and the judge classifier."""

from v2a.evaluation.metrics import (  # noqa: F401
    aggregate_onset_scores,
    detect_onsets,
    frechet_distance,
    inception_score,
    kl_divergence,
    multi_resolution_stft_distance,
    onset_f1,
    sound_rate_in_silence,
)
