"""SHIP's runtime: whole-scene fusion behind any backend (:mod:`.fuse`) and its image products
(:mod:`.image_outputs`)."""
