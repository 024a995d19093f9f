// parallel.cpp — the default ParallelFor implementations (std::thread, and serial).
#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "comix_dcn_cpu/deform_conv_cpu.h"

namespace comix {
namespace dcn {
namespace cpu {

ParallelFor serial_parallel_for() {
  return [](std::size_t count, const std::function<void(std::size_t)>& body) {
    for (std::size_t i = 0; i < count; ++i) body(i);
  };
}

ParallelFor make_thread_parallel_for(int num_threads) {
  unsigned threads =
      num_threads > 0 ? static_cast<unsigned>(num_threads) : std::thread::hardware_concurrency();
  threads = std::max(1u, threads);
  return [threads](std::size_t count, const std::function<void(std::size_t)>& body) {
    const std::size_t workers = std::min<std::size_t>(threads, count);
    if (workers <= 1) {
      for (std::size_t i = 0; i < count; ++i) body(i);
      return;
    }
    std::atomic<std::size_t> next{0};
    auto work = [&]() {
      for (std::size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) body(i);
    };
    std::vector<std::thread> pool;
    pool.reserve(workers - 1);
    for (std::size_t t = 1; t < workers; ++t) pool.emplace_back(work);
    work();
    for (std::thread& t : pool) t.join();
  };
}

}  // namespace cpu
}  // namespace dcn
}  // namespace comix
