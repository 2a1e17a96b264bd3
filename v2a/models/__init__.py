"""The networks, one module each, in the order a clip meets them: ``text_encoder`` (MiniLM),
``frame_encoder`` (EfficientNet-lite0), ``transformer`` (the flow-matching denoiser and its
conditioning), ``autoencoder`` (audio latent <-> log-mel) and ``vocoder`` (log-mel -> waveform).
Each is a diffusers ``ModelMixin`` (the vocoder is transformers' ``SpeechT5HifiGan``), saved as a
folder of safetensors plus JSON.
"""
