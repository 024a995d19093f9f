# architectures.cmake — the default CUDA architectures of the CoMiX kernels, from what the nvcc in use
# accepts (its `nvcc --list-gpu-arch` output): SASS for each of Turing (75), Orin (87), Hopper (90),
# Blackwell data center (100) and Thor (110, CUDA 13 numbering) that this nvcc knows, plus PTX of the
# newest of them for later GPUs. nvcc 12.6 (JetPack 6) lists up to compute_90, so it builds 75/87/90 +
# PTX 90; nvcc 13.0 builds all five + PTX 100. Override with
# -DCOMIX_CUDA_ARCHITECTURES="87-real;...".
#
# Include it and call comix_default_cuda_architectures(<list output> <out var>), or run it as a script:
#   cmake -DNVCC_LIST="$(nvcc --list-gpu-arch)" -P plugins/cuda/architectures.cmake
# which prints "SASS <a b c> PTX <p>" (tools/check_tensorrt_headers.sh and the tests read that).
if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  cmake_minimum_required(VERSION 3.18)
endif()
set(COMIX_WANTED_CUDA_ARCHITECTURES 75 87 90 100 110)
# PTX target: the newest wanted architecture this nvcc knows, except 110 (Thor's own; 100 PTX runs there).
set(COMIX_PTX_CANDIDATES 100 90 87 75)

function(comix_default_cuda_architectures list_output out_var)
  string(REGEX MATCHALL "compute_[0-9]+" known "${list_output}")
  set(sass "")
  foreach(arch IN LISTS COMIX_WANTED_CUDA_ARCHITECTURES)
    if("compute_${arch}" IN_LIST known)
      list(APPEND sass ${arch})
    endif()
  endforeach()
  set(ptx "")
  foreach(arch IN LISTS COMIX_PTX_CANDIDATES)
    if(NOT ptx AND "compute_${arch}" IN_LIST known)
      set(ptx ${arch})
    endif()
  endforeach()
  if(NOT sass)
    message(FATAL_ERROR "CUDA architectures: nvcc lists ${known}, expected at least one of "
                        "${COMIX_WANTED_CUDA_ARCHITECTURES}; set COMIX_CUDA_ARCHITECTURES yourself")
  endif()
  set(result "")
  foreach(arch IN LISTS sass)
    list(APPEND result "${arch}-real")
  endforeach()
  list(APPEND result "${ptx}-virtual")
  set(${out_var} "${result}" PARENT_SCOPE)
  set(${out_var}_SASS "${sass}" PARENT_SCOPE)
  set(${out_var}_PTX "${ptx}" PARENT_SCOPE)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  # script mode: print the choice for the given list
  comix_default_cuda_architectures("${NVCC_LIST}" archs)
  string(REPLACE ";" " " sass_text "${archs_SASS}")
  message("SASS ${sass_text} PTX ${archs_PTX}")
endif()
