"""Small helpers shared across the package (atomic writes, devices, seeding)."""
