#include <napi.h>

#include "exports.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  infernode::ExportTensorKernels(env, exports);
  infernode::ExportSecureMemory(env, exports);
  infernode::ExportNvml(env, exports);
  infernode::ExportThreadPriority(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(infernode_native, Init)
