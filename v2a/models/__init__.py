"""The networks, one module each, in the order a clip meets them: ``text_encoder`` (MiniLM),
``frame_encoder`` (EfficientNet-lite0), ``transformer`` (the flow-matching denoiser and its
conditioning), ``autoencoder`` (audio latent <-> log-mel) and ``vocoder`` (log-mel -> waveform).
Each is a ``base.ConfigModule``: its ``__init__`` keywords are its ``config.json``, saved beside
its safetensors in the folder layout of diffusers (transformers' for the vocoder), without
importing either.
"""
