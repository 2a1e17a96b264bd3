"""Signal processing shared by the runtime, the data builders, training and evaluation:
``audio`` (the 22,050 Hz log-mel format and resampling), ``onsets`` (when sounds start) and
``motion`` (when something visible happens, on the audio-latent clock). Nothing here imports
the models, the data builders or the evaluation.
"""
