"""torch -> ONNX export of CoMiX: op translations, ONNX schema, portable lowering, passes, metadata,
validation.

The model is exported as built for training: its DCNs call the ``comix::deform_conv2d/3d`` ops
(:mod:`comix.ops.library`), which :mod:`comix.export.translation` maps to ONNX nodes (canonical graph) or
the exporter decomposes into standard ops (``--portable``). See docs/export.md.
"""
