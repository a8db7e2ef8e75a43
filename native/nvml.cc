// GPU telemetry from NVML, loaded with dlopen so that the addon builds and loads without the NVIDIA driver.
// Reads run on the libuv thread pool; JS gets a Promise.
#include <napi.h>

#include <dlfcn.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "exports.h"

namespace infernode {
namespace {

// The subset of nvml.h we call; these types and values are NVML's stable ABI.
using nvmlReturn_t = int;
using nvmlDevice_t = struct nvmlDevice_st*;
struct nvmlUtilization_t {
  unsigned int gpu;
  unsigned int memory;
};
struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
constexpr nvmlReturn_t NVML_SUCCESS = 0;
constexpr int NVML_TEMPERATURE_GPU = 0;
constexpr unsigned int kNameBytes = 96;  // NVML_DEVICE_NAME_V2_BUFFER_SIZE
constexpr unsigned int kUuidBytes = 96;  // NVML_DEVICE_UUID_V2_BUFFER_SIZE

struct NvmlLibrary {
  void* handle = nullptr;
  nvmlReturn_t (*init)() = nullptr;
  nvmlReturn_t (*shutdown)() = nullptr;
  const char* (*errorString)(nvmlReturn_t) = nullptr;
  nvmlReturn_t (*deviceCount)(unsigned int*) = nullptr;
  nvmlReturn_t (*deviceByIndex)(unsigned int, nvmlDevice_t*) = nullptr;
  nvmlReturn_t (*name)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*uuid)(nvmlDevice_t, char*, unsigned int) = nullptr;
  nvmlReturn_t (*utilization)(nvmlDevice_t, nvmlUtilization_t*) = nullptr;
  nvmlReturn_t (*memory)(nvmlDevice_t, nvmlMemory_t*) = nullptr;
  nvmlReturn_t (*temperature)(nvmlDevice_t, int, unsigned int*) = nullptr;
  nvmlReturn_t (*power)(nvmlDevice_t, unsigned int*) = nullptr;
  nvmlReturn_t (*energy)(nvmlDevice_t, unsigned long long*) = nullptr;
};

struct Gpu {
  unsigned int index;
  nvmlDevice_t device;
  std::string name;
  std::string uuid;
};

struct Reading {
  const Gpu* gpu;
  std::optional<double> utilizationPercent;
  std::optional<double> memoryUsedBytes;
  std::optional<double> memoryTotalBytes;
  std::optional<double> temperatureCelsius;
  std::optional<double> powerWatts;
  std::optional<double> energyJoules;
};

// One NVML session per process, shared by every thread that loads the addon; `users` counts opens and
// polls in flight so the library is shut down and unloaded only after the last of them.
struct Session {
  NvmlLibrary lib;
  std::vector<Gpu> gpus;
  int users = 0;
};
std::mutex g_mutex;
Session* g_session = nullptr;

template <typename Fn>
bool Bind(void* handle, const char* symbol, Fn& fn, std::string& missing) {
  fn = reinterpret_cast<Fn>(dlsym(handle, symbol));
  if (fn == nullptr) missing = symbol;
  return fn != nullptr;
}

std::string NvmlError(const NvmlLibrary& lib, const char* call, nvmlReturn_t code) {
  const char* text = lib.errorString ? lib.errorString(code) : nullptr;
  return std::string(call) + " failed: " + (text ? text : "error " + std::to_string(code));
}

Session* OpenSession(const std::string& path, std::string& reason) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* error = dlerror();
    reason = error ? error : "dlopen failed";
    return nullptr;
  }
  auto* session = new Session();
  NvmlLibrary& lib = session->lib;
  lib.handle = handle;
  std::string missing;
  const bool bound = Bind(handle, "nvmlInit_v2", lib.init, missing) && Bind(handle, "nvmlShutdown", lib.shutdown, missing) &&
                     Bind(handle, "nvmlErrorString", lib.errorString, missing) &&
                     Bind(handle, "nvmlDeviceGetCount_v2", lib.deviceCount, missing) &&
                     Bind(handle, "nvmlDeviceGetHandleByIndex_v2", lib.deviceByIndex, missing) &&
                     Bind(handle, "nvmlDeviceGetName", lib.name, missing) && Bind(handle, "nvmlDeviceGetUUID", lib.uuid, missing) &&
                     Bind(handle, "nvmlDeviceGetUtilizationRates", lib.utilization, missing) &&
                     Bind(handle, "nvmlDeviceGetMemoryInfo", lib.memory, missing) &&
                     Bind(handle, "nvmlDeviceGetTemperature", lib.temperature, missing) &&
                     Bind(handle, "nvmlDeviceGetPowerUsage", lib.power, missing) &&
                     Bind(handle, "nvmlDeviceGetTotalEnergyConsumption", lib.energy, missing);
  if (!bound) {
    reason = path + " lacks " + missing;
    dlclose(handle);
    delete session;
    return nullptr;
  }
  nvmlReturn_t rc = lib.init();
  if (rc != NVML_SUCCESS) {
    reason = NvmlError(lib, "nvmlInit_v2", rc);
    dlclose(handle);
    delete session;
    return nullptr;
  }
  unsigned int count = 0;
  rc = lib.deviceCount(&count);
  for (unsigned int i = 0; rc == NVML_SUCCESS && i < count; ++i) {
    Gpu gpu{i, nullptr, "", ""};
    rc = lib.deviceByIndex(i, &gpu.device);
    if (rc != NVML_SUCCESS) {
      reason = NvmlError(lib, "nvmlDeviceGetHandleByIndex_v2", rc);
      break;
    }
    char text[kNameBytes > kUuidBytes ? kNameBytes : kUuidBytes] = {0};
    if (lib.name(gpu.device, text, kNameBytes) == NVML_SUCCESS) gpu.name = text;
    text[0] = 0;
    if (lib.uuid(gpu.device, text, kUuidBytes) == NVML_SUCCESS) gpu.uuid = text;
    session->gpus.push_back(gpu);
  }
  if (rc != NVML_SUCCESS) {
    if (reason.empty()) reason = NvmlError(lib, "nvmlDeviceGetCount_v2", rc);
    lib.shutdown();
    dlclose(handle);
    delete session;
    return nullptr;
  }
  return session;
}

// Caller holds g_mutex.
void ReleaseLocked() {
  if (g_session == nullptr || --g_session->users > 0) return;
  g_session->lib.shutdown();
  dlclose(g_session->lib.handle);
  delete g_session;
  g_session = nullptr;
}

Session* Acquire() {
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_session != nullptr) ++g_session->users;
  return g_session;
}

void Release() {
  std::lock_guard<std::mutex> lock(g_mutex);
  ReleaseLocked();
}

template <typename T, typename Fn>
std::optional<T> Query(Fn fn) {
  T value{};
  if (fn(&value) != NVML_SUCCESS) return std::nullopt;
  return value;
}

// Fields the GPU does not support (energy on older boards, power on some) are left out, not failed.
Reading Read(const NvmlLibrary& lib, const Gpu& gpu) {
  Reading r{&gpu, {}, {}, {}, {}, {}, {}};
  if (auto u = Query<nvmlUtilization_t>([&](nvmlUtilization_t* v) { return lib.utilization(gpu.device, v); })) {
    r.utilizationPercent = u->gpu;
  }
  if (auto m = Query<nvmlMemory_t>([&](nvmlMemory_t* v) { return lib.memory(gpu.device, v); })) {
    r.memoryUsedBytes = static_cast<double>(m->used);
    r.memoryTotalBytes = static_cast<double>(m->total);
  }
  if (auto t = Query<unsigned int>([&](unsigned int* v) { return lib.temperature(gpu.device, NVML_TEMPERATURE_GPU, v); })) {
    r.temperatureCelsius = *t;
  }
  if (auto p = Query<unsigned int>([&](unsigned int* v) { return lib.power(gpu.device, v); })) r.powerWatts = *p / 1000.0;
  if (auto e = Query<unsigned long long>([&](unsigned long long* v) { return lib.energy(gpu.device, v); })) {
    r.energyJoules = static_cast<double>(*e) / 1000.0;
  }
  return r;
}

Napi::Value OrNull(Napi::Env env, const std::optional<double>& value) {
  return value ? Napi::Number::New(env, *value) : env.Null();
}

class PollWorker : public Napi::AsyncWorker {
 public:
  PollWorker(Napi::Env env, Session* session)
      : Napi::AsyncWorker(env, "infernode:nvmlPoll"), session_(session), deferred_(Napi::Promise::Deferred::New(env)) {}
  ~PollWorker() override { Release(); }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    readings_.reserve(session_->gpus.size());
    for (const Gpu& gpu : session_->gpus) readings_.push_back(Read(session_->lib, gpu));
  }

  void OnOK() override {
    Napi::Env env = Env();
    Napi::Array list = Napi::Array::New(env, readings_.size());
    for (uint32_t i = 0; i < readings_.size(); ++i) {
      const Reading& r = readings_[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("index", r.gpu->index);
      o.Set("name", r.gpu->name);
      o.Set("uuid", r.gpu->uuid);
      o.Set("utilizationPercent", OrNull(env, r.utilizationPercent));
      o.Set("memoryUsedBytes", OrNull(env, r.memoryUsedBytes));
      o.Set("memoryTotalBytes", OrNull(env, r.memoryTotalBytes));
      o.Set("temperatureCelsius", OrNull(env, r.temperatureCelsius));
      o.Set("powerWatts", OrNull(env, r.powerWatts));
      o.Set("energyJoules", OrNull(env, r.energyJoules));
      list.Set(i, o);
    }
    deferred_.Resolve(list);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Session* session_;
  Napi::Promise::Deferred deferred_;
  std::vector<Reading> readings_;
};

// nvmlOpen(path: string): number of GPUs; throws with the reason NVML cannot be used.
Napi::Value NvmlOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "path must be a string");
  const std::string path = info[0].As<Napi::String>().Utf8Value();
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_session == nullptr) {
    std::string reason;
    g_session = OpenSession(path, reason);
    if (g_session == nullptr) throw Napi::Error::New(env, reason);
  }
  ++g_session->users;
  return Napi::Number::New(env, static_cast<double>(g_session->gpus.size()));
}

// nvmlPoll(): Promise<Array<{index, name, uuid, utilizationPercent, memoryUsedBytes, memoryTotalBytes,
//   temperatureCelsius, powerWatts, energyJoules}>>, a field null where the GPU does not report it.
Napi::Value NvmlPoll(const Napi::CallbackInfo& info) {
  Session* session = Acquire();
  if (session == nullptr) throw Napi::Error::New(info.Env(), "NVML is not open");
  auto* worker = new PollWorker(info.Env(), session);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// nvmlClose(): undoes one nvmlOpen.
void NvmlClose(const Napi::CallbackInfo&) { Release(); }

}  // namespace

void ExportNvml(Napi::Env env, Napi::Object exports) {
  exports.Set("nvmlOpen", Napi::Function::New(env, NvmlOpen, "nvmlOpen"));
  exports.Set("nvmlPoll", Napi::Function::New(env, NvmlPoll, "nvmlPoll"));
  exports.Set("nvmlClose", Napi::Function::New(env, NvmlClose, "nvmlClose"));
}

}  // namespace infernode
