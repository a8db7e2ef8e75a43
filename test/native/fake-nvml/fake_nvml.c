/*
 * A stand-in for libnvidia-ml.so.1 with the functions infernode calls, so the real dlopen path runs without
 * a GPU. Values come from the environment at each call, so a test can change them between polls:
 *   FAKE_NVML_INIT_ERROR=<nvmlReturn_t>   nvmlInit_v2 fails with it
 *   FAKE_NVML_GPUS=<n>                    number of GPUs (default 0)
 *   FAKE_NVML_GPU<i>="name=...;uuid=...;util=37;mem_used=...;mem_total=...;temp=45;power_mw=...;energy_mj=..."
 *   FAKE_NVML_DELAY_US=<n>                nvmlDeviceGetUtilizationRates sleeps that long, as a slow driver would
 * A key left out makes its call return NVML_ERROR_NOT_SUPPORTED.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int nvmlReturn_t;
typedef struct fake_device *nvmlDevice_t;
typedef struct { unsigned int gpu, memory; } nvmlUtilization_t;
typedef struct { unsigned long long total, free, used; } nvmlMemory_t;

enum { OK = 0, UNINITIALIZED = 1, INVALID_ARGUMENT = 2, NOT_SUPPORTED = 3, INSUFFICIENT_SIZE = 7 };

#define MAX_GPUS 16
static struct fake_device { unsigned int index; } devices[MAX_GPUS];
static int initialized;

static unsigned int gpu_count(void) {
  const char *n = getenv("FAKE_NVML_GPUS");
  unsigned int count = n ? (unsigned int)strtoul(n, NULL, 10) : 0;
  return count > MAX_GPUS ? MAX_GPUS : count;
}

/* Copies the value of `key` in this GPU's spec into out; 0 when absent. */
static int field(nvmlDevice_t device, const char *key, char *out, size_t size) {
  char var[32];
  snprintf(var, sizeof var, "FAKE_NVML_GPU%u", device->index);
  const char *spec = getenv(var);
  size_t key_len = strlen(key);
  while (spec && *spec) {
    const char *end = strchr(spec, ';');
    size_t len = end ? (size_t)(end - spec) : strlen(spec);
    if (len > key_len && strncmp(spec, key, key_len) == 0 && spec[key_len] == '=') {
      size_t value_len = len - key_len - 1;
      if (value_len >= size) value_len = size - 1;
      memcpy(out, spec + key_len + 1, value_len);
      out[value_len] = 0;
      return 1;
    }
    spec = end ? end + 1 : NULL;
  }
  return 0;
}

static nvmlReturn_t number(nvmlDevice_t device, const char *key, unsigned long long *out) {
  char text[32];
  if (!initialized) return UNINITIALIZED;
  if (!field(device, key, text, sizeof text)) return NOT_SUPPORTED;
  *out = strtoull(text, NULL, 10);
  return OK;
}

static nvmlReturn_t text(nvmlDevice_t device, const char *key, char *out, unsigned int size) {
  char value[256];
  if (!initialized) return UNINITIALIZED;
  if (!field(device, key, value, sizeof value)) return NOT_SUPPORTED;
  if (strlen(value) + 1 > size) return INSUFFICIENT_SIZE;
  strcpy(out, value);
  return OK;
}

nvmlReturn_t nvmlInit_v2(void) {
  const char *error = getenv("FAKE_NVML_INIT_ERROR");
  if (error) return (nvmlReturn_t)strtol(error, NULL, 10);
  for (unsigned int i = 0; i < MAX_GPUS; ++i) devices[i].index = i;
  initialized = 1;
  return OK;
}

nvmlReturn_t nvmlShutdown(void) {
  initialized = 0;
  return OK;
}

const char *nvmlErrorString(nvmlReturn_t result) {
  switch (result) {
    case OK: return "Success";
    case UNINITIALIZED: return "Uninitialized";
    case INVALID_ARGUMENT: return "Invalid Argument";
    case NOT_SUPPORTED: return "Not Supported";
    case 9: return "Driver Not Loaded";
    default: return "Unknown Error";
  }
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
  if (!initialized) return UNINITIALIZED;
  *count = gpu_count();
  return OK;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
  if (!initialized) return UNINITIALIZED;
  if (index >= gpu_count()) return INVALID_ARGUMENT;
  *device = &devices[index];
  return OK;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
  return text(device, "name", name, length);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
  return text(device, "uuid", uuid, length);
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization) {
  unsigned long long gpu;
  const char *delay = getenv("FAKE_NVML_DELAY_US");
  if (delay) usleep((useconds_t)strtoul(delay, NULL, 10));
  nvmlReturn_t rc = number(device, "util", &gpu);
  if (rc == OK) {
    utilization->gpu = (unsigned int)gpu;
    utilization->memory = 0;
  }
  return rc;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
  unsigned long long used, total;
  nvmlReturn_t rc = number(device, "mem_used", &used);
  if (rc == OK) rc = number(device, "mem_total", &total);
  if (rc == OK) {
    memory->used = used;
    memory->total = total;
    memory->free = total - used;
  }
  return rc;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *temperature) {
  unsigned long long value;
  if (sensor != 0) return INVALID_ARGUMENT;
  nvmlReturn_t rc = number(device, "temp", &value);
  if (rc == OK) *temperature = (unsigned int)value;
  return rc;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *milliwatts) {
  unsigned long long value;
  nvmlReturn_t rc = number(device, "power_mw", &value);
  if (rc == OK) *milliwatts = (unsigned int)value;
  return rc;
}

nvmlReturn_t nvmlDeviceGetTotalEnergyConsumption(nvmlDevice_t device, unsigned long long *millijoules) {
  return number(device, "energy_mj", millijoules);
}
