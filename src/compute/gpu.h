#pragma once
// GPU discovery and selection through NVML, loaded at run time with dlopen so that the node
// builds, starts and runs without an NVIDIA driver. A missing library, a missing symbol or a
// query a GPU does not support degrades (fewer GPUs, an absent field), never crashes.
//
// GpuManager owns the dlopen handle and the NVML session (nvmlInit_v2 in the constructor,
// nvmlShutdown in the destructor). Every method is thread-safe (one mutex); NVML calls can take
// milliseconds, so callers query it from the blocking-work pool, never from the network thread.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "utils/result.h"

namespace ciro::compute {

/// How much of each GPU's memory the node offers to jobs ([gpu] memory_limit).
struct GpuMemoryLimit {
  double fraction = 1.0;                ///< share of each GPU's total memory ("80%" -> 0.8)
  std::optional<std::uint64_t> bytes;   ///< absolute cap per GPU ("8GB"); the smaller of the two wins
};

/// Parses [gpu] memory_limit: "80%" (a share of each GPU, 0-100%), or an absolute size per GPU:
/// plain bytes, or a number with KB/MB/GB/TB (powers of 1000) or KiB/MiB/GiB/TiB (powers of
/// 1024), e.g. "8GB" = 8,000,000,000 bytes. Fails (invalid_argument) saying what is allowed.
Result<GpuMemoryLimit> parse_gpu_memory_limit(std::string_view text);

struct GpuOptions {
  bool enabled = true;                        ///< false: offer no GPU and do not load NVML
  std::vector<std::string> devices;           ///< empty or ["all"] = all; else indexes ("0") or UUIDs
  GpuMemoryLimit memory_limit;                ///< memory offered per GPU
  double utilization_threshold = 0.9;         ///< choose() skips GPUs busier than this (0..1)
  std::string library = "libnvidia-ml.so.1";  ///< dlopen name or full path (tests load a fake)
};

/// One GPU as seen by the last query. Optional fields are absent when the GPU does not support
/// the query (NVML_ERROR_NOT_SUPPORTED) or the driver lacks the symbol.
struct GpuDevice {
  unsigned index = 0;                         ///< NVML index
  std::string uuid;                           ///< "GPU-xxxxxxxx-...": the Docker device id
  std::string name;                           ///< product name, e.g. "NVIDIA H100 80GB HBM3"
  std::uint64_t memory_total = 0;             ///< bytes
  std::uint64_t memory_used = 0;              ///< bytes, by every process on the GPU
  std::optional<unsigned> utilization_pct;    ///< GPU busy time over the last sample period
  std::optional<unsigned> memory_utilization_pct;
  std::optional<unsigned> temperature_c;
  std::optional<unsigned> power_mw;           ///< board power draw, milliwatts
  bool offered = false;                       ///< enabled and selected by GpuOptions::devices
  std::uint64_t offered_memory_bytes = 0;     ///< memory a job may use on it (after memory_limit)
};

class GpuManager {
 public:
  /// Loads NVML and enumerates GPUs. Never fails: when anything is missing the manager offers
  /// zero GPUs and note() says why.
  explicit GpuManager(GpuOptions options);
  ~GpuManager();
  GpuManager(const GpuManager&) = delete;
  GpuManager& operator=(const GpuManager&) = delete;

  /// True when NVML is loaded and at least one GPU is offered.
  bool available() const;
  /// Why GPUs are unavailable or restricted (disabled, library missing, symbol missing, unknown
  /// device entries); empty when everything went as configured.
  const std::string& note() const;
  /// "550.54.15", or empty when NVML is not loaded or does not say.
  std::string driver_version() const;

  /// Fresh readings of every GPU NVML reports (offered or not); empty when NVML is unavailable.
  /// A GPU whose dynamic queries fail keeps its static fields and loses the optional ones.
  std::vector<GpuDevice> snapshot();

  std::size_t offered_count() const;
  /// The smallest offered_memory_bytes among offered GPUs; 0 when none is offered.
  std::uint64_t offered_memory_per_gpu() const;

  /// Submission-time check of a job's request: fails (limit_exceeded / unavailable) with a reason
  /// a client can act on when GPUs are disabled, when more GPUs are asked than offered, or when
  /// fewer than `gpus` offered GPUs have `memory_per_gpu` bytes to offer. gpus == 0 always passes.
  Result<void> check_request(unsigned gpus, std::uint64_t memory_per_gpu) const;

  /// Run-time choice: `count` offered GPUs not in `busy` (UUIDs or indexes), with at least
  /// `memory_per_gpu` offered and currently free, and utilisation below the threshold (a GPU that
  /// does not report utilisation counts as idle). Least busy first, then by index. Returns their
  /// UUIDs (for the Docker DeviceRequest), or unavailable naming why each GPU was skipped.
  Result<std::vector<std::string>> choose(unsigned count, std::uint64_t memory_per_gpu,
                                          const std::set<std::string>& busy);

 private:
  struct Nvml;        // resolved function pointers (gpu.cpp)
  struct Static {     // what does not change while the process runs
    unsigned index;
    void* handle;     // nvmlDevice_t
    std::string uuid, name;
    std::uint64_t memory_total;
    bool offered;
    std::uint64_t offered_memory;
  };

  void load();
  GpuDevice query_locked(const Static& s) const;

  GpuOptions m_options;
  mutable std::mutex m_mutex;
  void* m_lib = nullptr;            // dlopen handle
  std::unique_ptr<Nvml> m_nvml;     // non-null while NVML is initialised
  std::string m_note;
  std::string m_driver_version;
  std::vector<Static> m_devices;
};

}  // namespace ciro::compute
