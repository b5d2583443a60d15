#include "compute/gpu.h"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace ciro::compute {

namespace {

// Our own declarations of the NVML entry points we use, from NVIDIA's public nvml.h (the header
// is not a Debian package here, and we must not need it to build). Layouts and calling
// conventions are the C ABI ones documented there.
using nvmlReturn_t = int;  // enum nvmlReturn_enum: an int-sized C enum
constexpr nvmlReturn_t NVML_SUCCESS = 0;
constexpr nvmlReturn_t NVML_ERROR_NOT_SUPPORTED = 3;
using nvmlDevice_t = struct nvmlDevice_st*;
struct nvmlMemory_t {            // nvmlMemory_st (v1), bytes
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
struct nvmlUtilization_t {       // nvmlUtilization_st, percent over the last sample period
  unsigned int gpu;
  unsigned int memory;
};
using nvmlTemperatureSensors_t = int;  // enum; NVML_TEMPERATURE_GPU = 0
constexpr nvmlTemperatureSensors_t NVML_TEMPERATURE_GPU = 0;
constexpr unsigned NVML_DEVICE_UUID_V2_BUFFER_SIZE = 96;
constexpr unsigned NVML_DEVICE_NAME_V2_BUFFER_SIZE = 96;
constexpr unsigned NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE = 80;

using InitFn = nvmlReturn_t (*)();
using ShutdownFn = nvmlReturn_t (*)();
using GetCountFn = nvmlReturn_t (*)(unsigned int*);
using GetHandleByIndexFn = nvmlReturn_t (*)(unsigned int, nvmlDevice_t*);
using GetStringFn = nvmlReturn_t (*)(nvmlDevice_t, char*, unsigned int);  // UUID, Name
using GetMemoryInfoFn = nvmlReturn_t (*)(nvmlDevice_t, nvmlMemory_t*);
using GetUtilizationFn = nvmlReturn_t (*)(nvmlDevice_t, nvmlUtilization_t*);
using GetTemperatureFn = nvmlReturn_t (*)(nvmlDevice_t, nvmlTemperatureSensors_t, unsigned int*);
using GetPowerUsageFn = nvmlReturn_t (*)(nvmlDevice_t, unsigned int*);
using GetDriverVersionFn = nvmlReturn_t (*)(char*, unsigned int);
using ErrorStringFn = const char* (*)(nvmlReturn_t);

std::string fixed_string(const char* buf, std::size_t cap) {
  return std::string(buf, strnlen(buf, cap));
}

std::string human_bytes(std::uint64_t b) {
  char out[64];
  if (b >= (1ull << 30)) {
    std::snprintf(out, sizeof out, "%llu bytes (%.1f GiB)", static_cast<unsigned long long>(b),
                  static_cast<double>(b) / double(1ull << 30));
  } else {
    std::snprintf(out, sizeof out, "%llu bytes", static_cast<unsigned long long>(b));
  }
  return out;
}

void append_note(std::string& note, const std::string& text) {
  if (!note.empty()) note += "; ";
  note += text;
}

}  // namespace

Result<GpuMemoryLimit> parse_gpu_memory_limit(std::string_view text) {
  auto bad = [&]() {
    return make_error(Errc::invalid_argument, "gpu.memory_limit: \"" + std::string(text) +
                                                  "\" is not a percentage (\"80%\") or a size (\"8GB\", \"8GiB\", bytes)");
  };
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  std::size_t digits = 0;
  bool dot = false;
  while (digits < text.size() && ((text[digits] >= '0' && text[digits] <= '9') || (text[digits] == '.' && !dot))) {
    dot = dot || text[digits] == '.';
    ++digits;
  }
  if (digits == 0 || (digits == 1 && dot)) return bad();
  double number = std::strtod(std::string(text.substr(0, digits)).c_str(), nullptr);
  std::string unit(text.substr(digits));
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  GpuMemoryLimit limit;
  if (unit == "%") {
    if (number <= 0.0 || number > 100.0) return bad();
    limit.fraction = number / 100.0;
    return limit;
  }
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  static const std::pair<const char*, double> UNITS[] = {
      {"", 1.0},     {"B", 1.0},           {"KB", 1e3},           {"MB", 1e6},
      {"GB", 1e9},   {"TB", 1e12},         {"KIB", 1024.0},       {"MIB", 1048576.0},
      {"GIB", 1073741824.0}, {"TIB", 1099511627776.0}};
  for (const auto& [name, scale] : UNITS) {
    if (unit == name) {
      double bytes = number * scale;
      if (bytes < 1.0 || bytes > 1.8e19) return bad();
      limit.bytes = static_cast<std::uint64_t>(bytes);
      return limit;
    }
  }
  return bad();
}

struct GpuManager::Nvml {
  InitFn init = nullptr;
  ShutdownFn shutdown = nullptr;
  GetCountFn get_count = nullptr;
  GetHandleByIndexFn get_handle = nullptr;
  GetStringFn get_uuid = nullptr;
  GetStringFn get_name = nullptr;
  GetMemoryInfoFn get_memory = nullptr;
  // Optional: absent symbols leave the matching GpuDevice fields empty.
  GetUtilizationFn get_utilization = nullptr;
  GetTemperatureFn get_temperature = nullptr;
  GetPowerUsageFn get_power = nullptr;
  GetDriverVersionFn get_driver_version = nullptr;
  ErrorStringFn error_string = nullptr;

  std::string error(nvmlReturn_t rc) const {
    const char* s = error_string ? error_string(rc) : nullptr;
    return s ? std::string(s) + " (" + std::to_string(rc) + ")" : "NVML error " + std::to_string(rc);
  }
};

GpuManager::GpuManager(GpuOptions options) : m_options(std::move(options)) {
  if (!m_options.enabled) {
    m_note = "GPUs disabled by configuration (gpu.enabled = false)";
    return;
  }
  load();
}

GpuManager::~GpuManager() {
  std::lock_guard lock(m_mutex);
  if (m_nvml) m_nvml->shutdown();
  m_nvml.reset();
  if (m_lib) dlclose(m_lib);
}

void GpuManager::load() {
  dlerror();
  m_lib = dlopen(m_options.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!m_lib) {
    const char* err = dlerror();
    m_note = "NVML not available (" + std::string(err ? err : m_options.library) +
             "); running without GPUs";
    return;
  }
  auto nvml = std::make_unique<Nvml>();
  std::string missing;
  auto sym = [&](const char* name, auto& fn, bool required) {
    void* p = dlsym(m_lib, name);
    if (!p && required) missing += std::string(missing.empty() ? "" : ", ") + name;
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(p);
  };
  sym("nvmlInit_v2", nvml->init, true);
  sym("nvmlShutdown", nvml->shutdown, true);
  sym("nvmlDeviceGetCount_v2", nvml->get_count, true);
  sym("nvmlDeviceGetHandleByIndex_v2", nvml->get_handle, true);
  sym("nvmlDeviceGetUUID", nvml->get_uuid, true);
  sym("nvmlDeviceGetName", nvml->get_name, true);
  sym("nvmlDeviceGetMemoryInfo", nvml->get_memory, true);
  sym("nvmlDeviceGetUtilizationRates", nvml->get_utilization, false);
  sym("nvmlDeviceGetTemperature", nvml->get_temperature, false);
  sym("nvmlDeviceGetPowerUsage", nvml->get_power, false);
  sym("nvmlSystemGetDriverVersion", nvml->get_driver_version, false);
  sym("nvmlErrorString", nvml->error_string, false);
  if (!missing.empty()) {
    m_note = "NVML library " + m_options.library + " lacks required symbol(s) " + missing +
             " (driver too old?); running without GPUs";
    dlclose(m_lib);
    m_lib = nullptr;
    return;
  }
  if (nvmlReturn_t rc = nvml->init(); rc != NVML_SUCCESS) {
    m_note = "nvmlInit_v2 failed: " + nvml->error(rc) + "; running without GPUs";
    dlclose(m_lib);
    m_lib = nullptr;
    return;
  }
  if (nvml->get_driver_version) {
    char buf[NVML_SYSTEM_DRIVER_VERSION_BUFFER_SIZE] = {};
    if (nvml->get_driver_version(buf, sizeof buf) == NVML_SUCCESS) m_driver_version = fixed_string(buf, sizeof buf);
  }
  unsigned count = 0;
  if (nvmlReturn_t rc = nvml->get_count(&count); rc != NVML_SUCCESS) {
    m_note = "nvmlDeviceGetCount_v2 failed: " + nvml->error(rc) + "; running without GPUs";
    count = 0;
  }

  if (std::find(m_options.devices.begin(), m_options.devices.end(), "all") != m_options.devices.end()) {
    m_options.devices.clear();
  }
  std::vector<bool> entry_matched(m_options.devices.size(), false);
  for (unsigned i = 0; i < count; ++i) {
    nvmlDevice_t handle = nullptr;
    if (nvmlReturn_t rc = nvml->get_handle(i, &handle); rc != NVML_SUCCESS) {
      append_note(m_note, "GPU " + std::to_string(i) + " skipped: " + nvml->error(rc));
      continue;
    }
    Static s{i, handle, {}, {}, 0, false, 0};
    char buf[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
    if (nvmlReturn_t rc = nvml->get_uuid(handle, buf, sizeof buf); rc != NVML_SUCCESS) {
      // Without a UUID Docker cannot be told which GPU to give a container.
      append_note(m_note, "GPU " + std::to_string(i) + " skipped: no UUID: " + nvml->error(rc));
      continue;
    }
    s.uuid = fixed_string(buf, sizeof buf);
    char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = {};
    if (nvml->get_name(handle, name, sizeof name) == NVML_SUCCESS) s.name = fixed_string(name, sizeof name);
    nvmlMemory_t mem{};
    if (nvmlReturn_t rc = nvml->get_memory(handle, &mem); rc == NVML_SUCCESS) {
      s.memory_total = mem.total;
    } else {
      append_note(m_note, "GPU " + std::to_string(i) + ": memory unknown: " + nvml->error(rc));
    }

    bool selected = m_options.devices.empty();
    for (std::size_t e = 0; e < m_options.devices.size(); ++e) {
      const std::string& entry = m_options.devices[e];
      if (entry == std::to_string(i) || entry == s.uuid) {
        selected = true;
        entry_matched[e] = true;
      }
    }
    s.offered = selected && s.memory_total > 0;
    if (s.offered) {
      double fraction = std::clamp(m_options.memory_limit.fraction, 0.0, 1.0);
      auto by_fraction = static_cast<std::uint64_t>(std::floor(static_cast<double>(s.memory_total) * fraction));
      std::uint64_t offered = std::min(s.memory_total, by_fraction);
      if (m_options.memory_limit.bytes) offered = std::min(offered, *m_options.memory_limit.bytes);
      s.offered_memory = offered;
    }
    m_devices.push_back(std::move(s));
  }
  for (std::size_t e = 0; e < m_options.devices.size(); ++e) {
    if (!entry_matched[e]) {
      append_note(m_note, "gpu.devices entry \"" + m_options.devices[e] +
                              "\" matches no GPU (use an index 0.." +
                              (count ? std::to_string(count - 1) : std::string("?")) + " or a UUID)");
    }
  }
  if (count == 0 && m_note.empty()) m_note = "NVML reports no GPUs";
  m_nvml = std::move(nvml);
}

bool GpuManager::available() const { return offered_count() > 0; }

const std::string& GpuManager::note() const { return m_note; }  // written only in the constructor

std::string GpuManager::driver_version() const {
  std::lock_guard lock(m_mutex);
  return m_driver_version;
}

GpuDevice GpuManager::query_locked(const Static& s) const {
  GpuDevice d;
  d.index = s.index;
  d.uuid = s.uuid;
  d.name = s.name;
  d.memory_total = s.memory_total;
  d.offered = s.offered;
  d.offered_memory_bytes = s.offered_memory;
  if (!m_nvml) return d;
  auto handle = static_cast<nvmlDevice_t>(s.handle);
  nvmlMemory_t mem{};
  if (m_nvml->get_memory(handle, &mem) == NVML_SUCCESS) {
    d.memory_total = mem.total;
    d.memory_used = mem.used;
  }
  // Any failure (NOT_SUPPORTED above all, but also GPU_IS_LOST etc.) leaves the field absent.
  if (m_nvml->get_utilization) {
    nvmlUtilization_t u{};
    if (m_nvml->get_utilization(handle, &u) == NVML_SUCCESS) {
      d.utilization_pct = u.gpu;
      d.memory_utilization_pct = u.memory;
    }
  }
  if (m_nvml->get_temperature) {
    unsigned t = 0;
    if (m_nvml->get_temperature(handle, NVML_TEMPERATURE_GPU, &t) == NVML_SUCCESS) d.temperature_c = t;
  }
  if (m_nvml->get_power) {
    unsigned p = 0;
    if (m_nvml->get_power(handle, &p) == NVML_SUCCESS) d.power_mw = p;
  }
  return d;
}

std::vector<GpuDevice> GpuManager::snapshot() {
  std::lock_guard lock(m_mutex);
  std::vector<GpuDevice> out;
  out.reserve(m_devices.size());
  for (const Static& s : m_devices) out.push_back(query_locked(s));
  return out;
}

std::size_t GpuManager::offered_count() const {
  std::lock_guard lock(m_mutex);
  return static_cast<std::size_t>(
      std::count_if(m_devices.begin(), m_devices.end(), [](const Static& s) { return s.offered; }));
}

std::uint64_t GpuManager::offered_memory_per_gpu() const {
  std::lock_guard lock(m_mutex);
  std::optional<std::uint64_t> smallest;
  for (const Static& s : m_devices) {
    if (s.offered && (!smallest || s.offered_memory < *smallest)) smallest = s.offered_memory;
  }
  return smallest.value_or(0);
}

Result<void> GpuManager::check_request(unsigned gpus, std::uint64_t memory_per_gpu) const {
  if (gpus == 0) return {};
  std::lock_guard lock(m_mutex);
  std::size_t offered = 0, big_enough = 0;
  std::uint64_t largest = 0;
  for (const Static& s : m_devices) {
    if (!s.offered) continue;
    ++offered;
    largest = std::max(largest, s.offered_memory);
    if (s.offered_memory >= memory_per_gpu) ++big_enough;
  }
  if (offered == 0) {
    return make_error(Errc::unavailable, "resources.gpus: " + std::to_string(gpus) +
                                             " GPU(s) requested but this node offers none (" +
                                             (m_note.empty() ? std::string("no GPU") : m_note) + ")");
  }
  if (gpus > offered) {
    return make_error(Errc::limit_exceeded, "resources.gpus: " + std::to_string(gpus) +
                                                " GPU(s) requested but this node offers " +
                                                std::to_string(offered));
  }
  if (gpus > big_enough) {
    return make_error(Errc::limit_exceeded,
                      "resources.gpu_memory: " + human_bytes(memory_per_gpu) + " per GPU on " +
                          std::to_string(gpus) + " GPU(s) requested but only " + std::to_string(big_enough) +
                          " offered GPU(s) have that much; the most offered on one GPU is " +
                          human_bytes(largest));
  }
  return {};
}

Result<std::vector<std::string>> GpuManager::choose(unsigned count, std::uint64_t memory_per_gpu,
                                                    const std::set<std::string>& busy) {
  if (count == 0) return std::vector<std::string>{};
  std::lock_guard lock(m_mutex);
  struct Candidate {
    unsigned utilization;
    unsigned index;
    std::string uuid;
  };
  std::vector<Candidate> candidates;
  std::string skipped;
  const double threshold_pct = m_options.utilization_threshold * 100.0;
  for (const Static& s : m_devices) {
    std::string why;
    GpuDevice d;
    if (!s.offered) {
      why = "not offered";
    } else if (busy.count(s.uuid) || busy.count(std::to_string(s.index))) {
      why = "busy with another job";
    } else if (s.offered_memory < memory_per_gpu) {
      why = "offers " + human_bytes(s.offered_memory) + " < " + human_bytes(memory_per_gpu) + " requested";
    } else {
      d = query_locked(s);
      std::uint64_t free = d.memory_total > d.memory_used ? d.memory_total - d.memory_used : 0;
      if (free < memory_per_gpu) {
        why = "only " + human_bytes(free) + " free";
      } else if (d.utilization_pct && static_cast<double>(*d.utilization_pct) >= threshold_pct) {
        why = "utilisation " + std::to_string(*d.utilization_pct) + "% >= threshold " +
              std::to_string(static_cast<int>(std::lround(threshold_pct))) + "%";
      }
    }
    if (why.empty()) {
      candidates.push_back({d.utilization_pct.value_or(0), s.index, s.uuid});
    } else {
      append_note(skipped, "GPU " + std::to_string(s.index) + " " + why);
    }
  }
  if (candidates.size() < count) {
    std::string msg = std::to_string(count) + " GPU(s) with " + human_bytes(memory_per_gpu) +
                      " each requested, " + std::to_string(candidates.size()) + " eligible now";
    if (m_devices.empty()) msg += " (" + (m_note.empty() ? std::string("no GPU") : m_note) + ")";
    if (!skipped.empty()) msg += ": " + skipped;
    return make_error(Errc::unavailable, msg);
  }
  std::sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    return a.utilization != b.utilization ? a.utilization < b.utilization : a.index < b.index;
  });
  std::vector<std::string> ids;
  for (unsigned i = 0; i < count; ++i) ids.push_back(candidates[i].uuid);
  return ids;
}

}  // namespace ciro::compute
