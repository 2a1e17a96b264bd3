"""Training: the shared accelerate loop, the autoencoder, the transformer features and the transformer."""
