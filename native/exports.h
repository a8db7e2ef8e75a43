// Each part of the addon adds its functions to the module's exports.
#pragma once
#include <napi.h>

namespace infernode {

void ExportTensorKernels(Napi::Env env, Napi::Object exports);
void ExportSecureMemory(Napi::Env env, Napi::Object exports);
void ExportNvml(Napi::Env env, Napi::Object exports);
void ExportThreadPriority(Napi::Env env, Napi::Object exports);

}  // namespace infernode
