"""Training: the GAN / L1 loop, checkpoints, resume, logging and DDP."""
