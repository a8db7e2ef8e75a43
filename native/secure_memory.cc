// Zeroing the compiler cannot drop, and keeping key pages out of swap and core dumps.
#include <napi.h>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "exports.h"

namespace infernode {
namespace {

void ZeroBytes(void* data, size_t length) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 25))
  explicit_bzero(data, length);
#else
  volatile uint8_t* bytes = static_cast<volatile uint8_t*>(data);
  for (size_t i = 0; i < length; ++i) bytes[i] = 0;
#endif
}

Napi::Uint8Array BytesArg(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    throw Napi::TypeError::New(info.Env(), "buffer must be a Buffer or a Uint8Array");
  }
  return info[0].As<Napi::Uint8Array>();
}

size_t PageSize() {
  static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

// secureZero(buf: Uint8Array): void
void SecureZero(const Napi::CallbackInfo& info) {
  auto bytes = BytesArg(info);
  if (bytes.ElementLength() > 0) ZeroBytes(bytes.Data(), bytes.ElementLength());
}

std::string Failure(const char* call) {
  return std::string(call) + ": " + std::strerror(errno);
}

// lockPages(buf: Uint8Array): { locked: boolean, dontDump: boolean, error?: string }
// Locks and marks every page the bytes touch; a page shared with other data gets the same treatment, which
// does no harm (it stays in memory and out of core dumps).
Napi::Value LockPages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto bytes = BytesArg(info);
  Napi::Object result = Napi::Object::New(env);
  if (bytes.ElementLength() == 0) {
    result.Set("locked", true);
    result.Set("dontDump", true);
    return result;
  }
  const uintptr_t page = PageSize();
  const uintptr_t first = reinterpret_cast<uintptr_t>(bytes.Data()) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(bytes.Data()) + bytes.ElementLength() + page - 1) & ~(page - 1);
  void* start = reinterpret_cast<void*>(first);
  const size_t length = end - first;
  std::string errors;
  const bool locked = mlock(start, length) == 0;
  if (!locked) errors = Failure("mlock");
#ifdef MADV_DONTDUMP
  const bool dontDump = madvise(start, length, MADV_DONTDUMP) == 0;
  if (!dontDump) errors += (errors.empty() ? "" : "; ") + Failure("madvise(MADV_DONTDUMP)");
#else
  const bool dontDump = false;
  errors += (errors.empty() ? "" : "; ") + std::string("MADV_DONTDUMP is not available on this system");
#endif
  result.Set("locked", locked);
  result.Set("dontDump", dontDump);
  if (!errors.empty()) result.Set("error", errors);
  return result;
}

struct Slab {
  void* base;
  size_t mapped;
};

void ReleaseSlab(Napi::Env env, uint8_t*, Slab* slab) {
  ZeroBytes(slab->base, slab->mapped);
  munmap(slab->base, slab->mapped);  // also unlocks
  Napi::MemoryManagement::AdjustExternalMemory(env, -static_cast<int64_t>(slab->mapped));
  delete slab;
}

// allocateSlab(bytes: number): Buffer over whole pages of its own, so locking it locks nothing else and
// freeing it (on garbage collection) zeroes and unmaps them.
Napi::Value AllocateSlab(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "bytes must be a positive integer");
  const double requested = info[0].As<Napi::Number>().DoubleValue();
  if (!(requested >= 1 && requested <= 1073741824.0) || static_cast<double>(static_cast<size_t>(requested)) != requested) {
    throw Napi::RangeError::New(env, "bytes must be an integer from 1 to 1 GiB");
  }
  const size_t bytes = static_cast<size_t>(requested);
  const size_t mapped = (bytes + PageSize() - 1) & ~(PageSize() - 1);
  void* base = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) throw Napi::Error::New(env, Failure("mmap"));
  Napi::MemoryManagement::AdjustExternalMemory(env, static_cast<int64_t>(mapped));
  return Napi::Buffer<uint8_t>::New(env, static_cast<uint8_t*>(base), bytes, ReleaseSlab, new Slab{base, mapped});
}

}  // namespace

void ExportSecureMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("secureZero", Napi::Function::New(env, SecureZero, "secureZero"));
  exports.Set("lockPages", Napi::Function::New(env, LockPages, "lockPages"));
  exports.Set("allocateSlab", Napi::Function::New(env, AllocateSlab, "allocateSlab"));
}

}  // namespace infernode
