"""Training and evaluation of SHIP fusion models: recipe, losses, classic baselines, image-quality scoring."""
