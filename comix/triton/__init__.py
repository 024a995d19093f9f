"""Triton Inference Server model repositories for CoMiX: the ONNX Runtime backend (with our custom-op library
named in the model config) and the TensorRT backend (engine + our plugin library loaded by the server).
See :mod:`comix.triton.repository` and docs/triton.md."""
