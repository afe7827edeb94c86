"""Small helpers shared across the package: atomic writes and the output guard (`io`), the
torch device (`device`), subset sampling (`sampling`)."""
