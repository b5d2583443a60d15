/* A fake libnvidia-ml.so.1 for tests: two GPUs, loaded through the same dlopen path as the real
 * library. Declarations follow NVIDIA's public nvml.h (C ABI); only what GpuManager uses.
 *   GPU 0: answers every query (42% busy, 55 C, 123.456 W).
 *   GPU 1: NVML_ERROR_NOT_SUPPORTED for utilisation, temperature and power (like many
 *          consumer or virtualised GPUs).
 * Built twice: as is, and with FAKE_NVML_NO_COUNT (no nvmlDeviceGetCount_v2) to test the
 * missing-symbol degradation. */
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef enum {
  NVML_SUCCESS = 0,
  NVML_ERROR_UNINITIALIZED = 1,
  NVML_ERROR_INVALID_ARGUMENT = 2,
  NVML_ERROR_NOT_SUPPORTED = 3,
  NVML_ERROR_INSUFFICIENT_SIZE = 7
} nvmlReturn_t;
typedef struct nvmlDevice_st* nvmlDevice_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef enum { NVML_TEMPERATURE_GPU = 0 } nvmlTemperatureSensors_t;

struct nvmlDevice_st {
  const char* uuid;
  const char* name;
  unsigned long long total, used;
  int full; /* 1: answers optional queries */
};

static struct nvmlDevice_st g_devices[2] = {
    {"GPU-00000000-1111-2222-3333-444444444444", "Fake NVIDIA H100 80GB HBM3", 80ull << 30, 1ull << 30, 1},
    {"GPU-55555555-6666-7777-8888-999999999999", "Fake NVIDIA A10", 24ull << 30, 0, 0},
};
static int g_init = 0;

static nvmlDevice_t lookup(nvmlDevice_t d) {
  if (!g_init) return 0;
  if (d == &g_devices[0] || d == &g_devices[1]) return d;
  return 0;
}

static nvmlReturn_t copy_string(const char* s, char* out, unsigned int length) {
  if (!out) return NVML_ERROR_INVALID_ARGUMENT;
  if (strlen(s) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  strcpy(out, s);
  return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlInit_v2(void) { ++g_init; return NVML_SUCCESS; }
EXPORT nvmlReturn_t nvmlShutdown(void) {
  if (!g_init) return NVML_ERROR_UNINITIALIZED;
  --g_init;
  return NVML_SUCCESS;
}
#ifndef FAKE_NVML_NO_COUNT
EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int* count) {
  if (!g_init) return NVML_ERROR_UNINITIALIZED;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  *count = 2;
  return NVML_SUCCESS;
}
#endif
EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  if (!g_init) return NVML_ERROR_UNINITIALIZED;
  if (index >= 2 || !device) return NVML_ERROR_INVALID_ARGUMENT;
  *device = &g_devices[index];
  return NVML_SUCCESS;
}
EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  if (!lookup(device)) return NVML_ERROR_INVALID_ARGUMENT;
  return copy_string(device->uuid, uuid, length);
}
EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  if (!lookup(device)) return NVML_ERROR_INVALID_ARGUMENT;
  return copy_string(device->name, name, length);
}
EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  if (!lookup(device) || !memory) return NVML_ERROR_INVALID_ARGUMENT;
  memory->total = device->total;
  memory->used = device->used;
  memory->free = device->total - device->used;
  return NVML_SUCCESS;
}
EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t* utilization) {
  if (!lookup(device) || !utilization) return NVML_ERROR_INVALID_ARGUMENT;
  if (!device->full) return NVML_ERROR_NOT_SUPPORTED;
  utilization->gpu = 42;
  utilization->memory = 17;
  return NVML_SUCCESS;
}
EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, nvmlTemperatureSensors_t sensor, unsigned int* temp) {
  if (!lookup(device) || !temp || sensor != NVML_TEMPERATURE_GPU) return NVML_ERROR_INVALID_ARGUMENT;
  if (!device->full) return NVML_ERROR_NOT_SUPPORTED;
  *temp = 55;
  return NVML_SUCCESS;
}
EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int* power) {
  if (!lookup(device) || !power) return NVML_ERROR_INVALID_ARGUMENT;
  if (!device->full) return NVML_ERROR_NOT_SUPPORTED;
  *power = 123456;
  return NVML_SUCCESS;
}
EXPORT nvmlReturn_t nvmlSystemGetDriverVersion(char* version, unsigned int length) {
  if (!g_init) return NVML_ERROR_UNINITIALIZED;
  return copy_string("550.54.15-fake", version, length);
}
EXPORT const char* nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
  }
  return "Unknown Error";
}
