"""Training and evaluation of CoMiX on HSI-X scenes: tile sampling, schedule, trainer, metrics."""
