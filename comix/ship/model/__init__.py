"""SHIP / SHIP++: multi-modal image fusion (infrared-visible, pan-sharpening) — config, layers, network.

Importing this package registers the SHIP variants and config class with the one model registry
(:mod:`comix.ship.model.variants`); ``docs/ship.md`` says what the sources state and what is our reading.
"""

from comix.ship.model import variants  # noqa: F401  (registers the variants)
from comix.ship.model.config import ShipConfig, ShipConfigError
from comix.ship.model.network import ShipInputError, ShipNet

__all__ = ["ShipConfig", "ShipConfigError", "ShipInputError", "ShipNet"]
