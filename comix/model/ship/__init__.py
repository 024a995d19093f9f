"""SHIP / SHIP++: multi-modal image fusion (infrared-visible, pan-sharpening) — config, layers, network.

Variants live in the one model registry (:mod:`comix.model.registry`) beside CoMiX's; ``docs/ship.md`` says
what the sources state and what is our reading.
"""

from comix.model.ship.config import ShipConfig, ShipConfigError
from comix.model.ship.network import ShipInputError, ShipNet

__all__ = ["ShipConfig", "ShipConfigError", "ShipInputError", "ShipNet"]
