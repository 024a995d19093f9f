"""Native DCN kernels: shared headers, CPU + ONNX Runtime op, CUDA, TensorRT plugins, PyTorch extension."""
