# fetch_ort_headers.cmake — ONNX Runtime C/C++ API headers for the custom-op library.
#
# ORT's headers are in no PyPI or Debian package. Unless ONNXRUNTIME_INCLUDE_DIR points at a folder with
# onnxruntime_cxx_api.h, they are fetched at configure time from the npm package
# com.github.asus4.onnxruntime (MIT, ships the official ORT headers) with `npm pack`, into
# <build>/third_party/onnxruntime (git-ignored; never commit them). Only the headers and LICENSE are
# extracted. The headers' ORT_API_VERSION must not exceed the runtime's (checked at load time).
set(COMIX_ORT_NPM_PACKAGE "com.github.asus4.onnxruntime" CACHE STRING "npm package carrying the ORT headers")
set(COMIX_ORT_NPM_VERSION "0.4.9" CACHE STRING "npm package version (0.4.9 carries ORT API 29 = ORT 1.29 headers)")
set(ONNXRUNTIME_INCLUDE_DIR "" CACHE PATH "Folder with onnxruntime_cxx_api.h (empty: fetch with npm)")

function(comix_fetch_ort_headers out_var)
  if(ONNXRUNTIME_INCLUDE_DIR)
    if(NOT EXISTS "${ONNXRUNTIME_INCLUDE_DIR}/onnxruntime_cxx_api.h")
      message(FATAL_ERROR "ONNXRUNTIME_INCLUDE_DIR: got ${ONNXRUNTIME_INCLUDE_DIR}, expected a folder with onnxruntime_cxx_api.h")
    endif()
    set(${out_var} "${ONNXRUNTIME_INCLUDE_DIR}" PARENT_SCOPE)
    return()
  endif()
  set(root "${CMAKE_BINARY_DIR}/third_party/onnxruntime-${COMIX_ORT_NPM_VERSION}")
  set(include_dir "${root}/include")
  if(EXISTS "${include_dir}/onnxruntime_cxx_api.h")
    set(${out_var} "${include_dir}" PARENT_SCOPE)
    return()
  endif()
  find_program(COMIX_NPM_EXECUTABLE npm)
  find_program(COMIX_TAR_EXECUTABLE tar)
  if(NOT COMIX_NPM_EXECUTABLE OR NOT COMIX_TAR_EXECUTABLE)
    message(FATAL_ERROR "ONNX Runtime headers: got npm='${COMIX_NPM_EXECUTABLE}' tar='${COMIX_TAR_EXECUTABLE}', "
                        "expected both (apt-get install -y npm tar), or pass -DONNXRUNTIME_INCLUDE_DIR=<dir>")
  endif()
  file(MAKE_DIRECTORY "${root}")
  set(tarball "${root}/${COMIX_ORT_NPM_PACKAGE}-${COMIX_ORT_NPM_VERSION}.tgz")
  if(NOT EXISTS "${tarball}")
    message(STATUS "Fetching ONNX Runtime headers: npm pack ${COMIX_ORT_NPM_PACKAGE}@${COMIX_ORT_NPM_VERSION}")
    execute_process(
      COMMAND "${COMIX_NPM_EXECUTABLE}" pack "${COMIX_ORT_NPM_PACKAGE}@${COMIX_ORT_NPM_VERSION}" --silent
      WORKING_DIRECTORY "${root}"
      RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
    if(NOT rc EQUAL 0 OR NOT EXISTS "${tarball}")
      message(FATAL_ERROR "npm pack ${COMIX_ORT_NPM_PACKAGE}@${COMIX_ORT_NPM_VERSION}: got exit ${rc} (${err}), "
                          "expected ${tarball}")
    endif()
  endif()
  set(headers "package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64/onnxruntime.framework/Headers")
  execute_process(
    COMMAND "${COMIX_TAR_EXECUTABLE}" xzf "${tarball}" --wildcards "${headers}/*.h" package/LICENSE
    WORKING_DIRECTORY "${root}"
    RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT EXISTS "${root}/${headers}/onnxruntime_cxx_api.h")
    message(FATAL_ERROR "extracting ORT headers from ${tarball}: got exit ${rc} (${err}), expected ${headers}/*.h")
  endif()
  file(MAKE_DIRECTORY "${include_dir}")
  file(GLOB header_files "${root}/${headers}/*.h")
  file(COPY ${header_files} "${root}/package/LICENSE" DESTINATION "${include_dir}")
  file(REMOVE "${tarball}")
  file(REMOVE_RECURSE "${root}/package")
  set(${out_var} "${include_dir}" PARENT_SCOPE)
endfunction()
