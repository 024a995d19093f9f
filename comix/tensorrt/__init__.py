"""TensorRT engines for CoMiX: build them from our ONNX graph with our DCN plugins, describe them, run them.

One job per module:

* :mod:`~comix.tensorrt.version` — the installed TensorRT version and what it supports (the one place
  where 10.3, 10.13 and 11.x differ);
* :mod:`~comix.tensorrt.onnx_prep` — make TensorRT's ONNX parser use *our* 2-D DeformConv plugin;
* :mod:`~comix.tensorrt.profiles` — optimisation profiles (batch, tile) from options and the model record;
* :mod:`~comix.tensorrt.plugin_library` — find, hash and load ``libcomix_trt_plugins.so``;
* :mod:`~comix.tensorrt.engine_record` — the JSON file beside an engine and the compatibility check;
* :mod:`~comix.tensorrt.build_options` — the options of a build (workspace, TF32, compatibility, ...);
* :mod:`~comix.tensorrt.builder` — ``comix build``: parse, configure, build, write;
* :mod:`~comix.tensorrt.trtexec` — the equivalent ``trtexec`` command line;
* :mod:`~comix.tensorrt.cuda_memory` — device/pinned memory, streams, CUDA graphs (cuda-python or
  pycuda), and which GPU, driver and CUDA runtime this machine has (``CudaApi.device_info``);
* :mod:`~comix.tensorrt.runner` — load an engine and run it (named I/O, buffers sized from the
  profiles, async copies, CUDA graphs);
* :mod:`~comix.tensorrt.layer_profiler` — per-layer times through TensorRT's IProfiler.

Nothing here imports TensorRT or CUDA at module import time: a CPU-only install can import the package,
compute profiles, check records and print a ``trtexec`` line. See docs/tensorrt.md.
"""
