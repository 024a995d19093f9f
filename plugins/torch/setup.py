"""Build the CoMiX CUDA DCN PyTorch extension (needs a CUDA build of torch and nvcc).

    cd plugins/torch && python setup.py build_ext --inplace      # -> plugins/torch/_C*.so
    # or, without this script: comix.plugins.torch.load_extension() JIT-builds the same sources.

Architectures follow TORCH_CUDA_ARCH_LIST (e.g. "8.7;9.0;10.0+PTX"); by default torch picks the GPUs
it sees. The kernels are plugins/cuda/src/*.cu, shared with the TensorRT plugin.
"""

from __future__ import annotations

from build_config import extension_kwargs
from setuptools import setup
from torch.utils.cpp_extension import BuildExtension, CUDAExtension

setup(
    name="comix_dcn_torch",
    ext_modules=[CUDAExtension(name="_C", **extension_kwargs())],
    cmdclass={"build_ext": BuildExtension},
)
