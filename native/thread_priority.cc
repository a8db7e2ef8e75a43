// Lower scheduling priority for the threads that compute (libuv's pool, where sharp and libvips run), so that a
// busy CPU still gives the event loop thread the core the moment it wakes. On Linux a nice value belongs to a
// thread, and threads inherit it from the thread that creates them (libvips' own workers included).
#include <napi.h>

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "exports.h"

namespace infernode {
namespace {

// Every task holds its pool thread until all have arrived, so that each one runs on a thread of its own.
// Lowers thread `tid` (0: the calling thread) to `nice` unless it already runs at that or lower; never raises one,
// which would need a privilege. Returns 0 or an errno.
int LowerThread(id_t tid, int nice) {
  errno = 0;
  const int current = getpriority(PRIO_PROCESS, tid);
  if (errno != 0) return errno;
  if (current >= nice) return 0;
  return setpriority(PRIO_PROCESS, tid, nice) == 0 ? 0 : errno;
}

struct Rendezvous {
  explicit Rendezvous(size_t expected) : expected(expected) {}
  std::mutex mutex;
  std::condition_variable arrived_all;
  const size_t expected;
  size_t arrived = 0;
  size_t finished = 0;
  size_t niced = 0;
  std::string error;
};

constexpr auto kRendezvousTimeout = std::chrono::seconds(2);

class NiceTask : public Napi::AsyncWorker {
 public:
  NiceTask(Napi::Env env, std::shared_ptr<Rendezvous> rendezvous, int nice, std::shared_ptr<Napi::Promise::Deferred> deferred)
      : Napi::AsyncWorker(env), rendezvous_(std::move(rendezvous)), nice_(nice), deferred_(std::move(deferred)) {}

  void Execute() override {
    // PRIO_PROCESS with who = 0 is the calling thread on Linux, not the whole process
    const int failed = LowerThread(0, nice_);
    std::unique_lock<std::mutex> lock(rendezvous_->mutex);
    if (failed) {
      if (rendezvous_->error.empty()) rendezvous_->error = std::strerror(failed);
    } else {
      rendezvous_->niced += 1;
    }
    rendezvous_->arrived += 1;
    if (rendezvous_->arrived == rendezvous_->expected) rendezvous_->arrived_all.notify_all();
    else rendezvous_->arrived_all.wait_for(lock, kRendezvousTimeout, [this] { return rendezvous_->arrived >= rendezvous_->expected; });
  }

  void OnOK() override {
    Rendezvous& r = *rendezvous_;
    if (++r.finished < r.expected) return;
    Napi::Env env = Env();
    Napi::Object result = Napi::Object::New(env);
    result.Set("niced", Napi::Number::New(env, static_cast<double>(r.niced)));
    if (!r.error.empty()) result.Set("error", Napi::String::New(env, r.error));
    deferred_->Resolve(result);
  }

 private:
  std::shared_ptr<Rendezvous> rendezvous_;
  const int nice_;
  std::shared_ptr<Napi::Promise::Deferred> deferred_;
};

// niceThreadPool(nice: number, threads: number): Promise<{ niced: number, error?: string }>
Napi::Value NiceThreadPool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber() || !info[1].IsNumber()) throw Napi::TypeError::New(env, "niceThreadPool(nice, threads) takes two numbers");
  const int nice = info[0].As<Napi::Number>().Int32Value();
  const int threads = info[1].As<Napi::Number>().Int32Value();
  if (nice < 0 || nice > 19) throw Napi::RangeError::New(env, "nice must be 0 to 19");
  if (threads < 1 || threads > 1024) throw Napi::RangeError::New(env, "threads must be 1 to 1024 (libuv's bound)");
  auto deferred = std::make_shared<Napi::Promise::Deferred>(env);
  auto rendezvous = std::make_shared<Rendezvous>(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) (new NiceTask(env, rendezvous, nice, deferred))->Queue();
  return deferred->Promise();
}

// niceOtherThreads(nice: number): number — every thread of the process but the main one, as they are now;
// returns how many are at `nice` or lower now
Napi::Value NiceOtherThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "niceOtherThreads(nice) takes a number");
  const int nice = info[0].As<Napi::Number>().Int32Value();
  if (nice < 0 || nice > 19) throw Napi::RangeError::New(env, "nice must be 0 to 19");
  DIR* tasks = opendir("/proc/self/task");
  if (!tasks) throw Napi::Error::New(env, std::string("cannot list threads: ") + std::strerror(errno));
  const long main_thread = static_cast<long>(getpid());
  double niced = 0;
  while (const dirent* entry = readdir(tasks)) {
    const long tid = std::strtol(entry->d_name, nullptr, 10);
    if (tid <= 0 || tid == main_thread) continue;
    if (LowerThread(static_cast<id_t>(tid), nice) == 0) niced += 1;
  }
  closedir(tasks);
  return Napi::Number::New(env, niced);
}

}  // namespace

void ExportThreadPriority(Napi::Env env, Napi::Object exports) {
  exports.Set("niceThreadPool", Napi::Function::New(env, NiceThreadPool, "niceThreadPool"));
  exports.Set("niceOtherThreads", Napi::Function::New(env, NiceOtherThreads, "niceOtherThreads"));
}

}  // namespace infernode
