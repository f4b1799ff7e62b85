#include "mapper/processors/script_worker.h"

#include <duktape.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "mapper/processors/node_json.h"
#include "mapper/processors/script_event_api.h"

namespace fim::mapper::processors {
namespace {

// ---- The worker's side: everything below runs in the forked child, which only ever leaves
// through _exit (no destructors, no atexit handlers of fimbeat's). ----

constexpr uid_t kNobody = 65534;

// Duktape's allocator with a budget: past kHeapLimit an allocation fails, which Duktape turns into
// a RangeError in the script instead of taking the machine's memory.
struct Budget {
  std::size_t used = 0;
};
struct alignas(std::max_align_t) Header {
  std::size_t size;
};

void* budgetAlloc(void* udata, duk_size_t size) {
  auto* budget = static_cast<Budget*>(udata);
  if (size == 0) return nullptr;
  if (budget->used + size > ScriptWorker::kHeapLimit) return nullptr;
  auto* header = static_cast<Header*>(std::malloc(sizeof(Header) + size));
  if (!header) return nullptr;
  header->size = size;
  budget->used += size;
  return header + 1;
}

void budgetFree(void* udata, void* ptr) {
  if (!ptr) return;
  Header* header = static_cast<Header*>(ptr) - 1;
  static_cast<Budget*>(udata)->used -= header->size;
  std::free(header);
}

void* budgetRealloc(void* udata, void* ptr, duk_size_t size) {
  if (!ptr) return budgetAlloc(udata, size);
  if (size == 0) {
    budgetFree(udata, ptr);
    return nullptr;
  }
  auto* budget = static_cast<Budget*>(udata);
  Header* header = static_cast<Header*>(ptr) - 1;
  const std::size_t old = header->size;
  if (size > old && budget->used + (size - old) > ScriptWorker::kHeapLimit) return nullptr;
  auto* grown = static_cast<Header*>(std::realloc(header, sizeof(Header) + size));
  if (!grown) return nullptr;
  grown->size = size;
  budget->used = budget->used - old + size;
  return grown + 1;
}

[[noreturn]] void onFatal(void*, const char*) { ::_exit(70); }

// Nothing of fimbeat's stays open, privileges are dropped, and the worker dies with fimbeat.
bool confine(int fd, pid_t parent, std::string& problem) {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  if (fd > 3) ::syscall(SYS_close_range, 3u, static_cast<unsigned>(fd - 1), 0u);
  ::syscall(SYS_close_range, static_cast<unsigned>(fd + 1), ~0u, 0u);
  if (::geteuid() == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
        ::setresuid(kNobody, kNobody, kNobody) != 0) {
      problem = fmt::format("cannot switch the script worker to user nobody ({}): {}", kNobody, std::strerror(errno));
      return false;
    }
  }
  ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  // After the switch of user, which clears it; then fimbeat may have died in between.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(0);
  return true;
}

std::string jsonOf(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return buffer.GetString();
}

// __fimbeat[name](args...) on the values pushed after it; leaves the result (or the error) on the
// stack and returns Duktape's status.
duk_int_t callApi(duk_context* ctx, const char* name, std::initializer_list<std::string_view> args) {
  duk_get_global_string(ctx, "__fimbeat");
  duk_push_string(ctx, name);
  for (const auto& arg : args) duk_push_lstring(ctx, arg.data(), arg.size());
  const duk_int_t rc = duk_pcall_prop(ctx, -2 - static_cast<duk_idx_t>(args.size()), static_cast<duk_idx_t>(args.size()));
  duk_remove(ctx, -2);  // __fimbeat
  return rc;
}

// The error on top of the stack, described with its place in the user's files.
std::string describeError(duk_context* ctx) {
  duk_get_global_string(ctx, "__fimbeat");
  duk_push_string(ctx, "describe");
  duk_dup(ctx, -3);
  std::string text;
  if (duk_pcall_prop(ctx, -3, 1) == 0) text = duk_safe_to_string(ctx, -1);
  else text = duk_safe_to_string(ctx, -3);
  duk_pop_3(ctx);
  return text;
}

[[noreturn]] void workerMain(int fd, pid_t parent, const config::ScriptConfig& config, bool runTest) {
  ScriptChannel channel(fd);
  const auto fail = [&](const std::string& message) {
    channel.send('E', message);
    ::_exit(0);
  };
  std::string problem;
  if (!confine(fd, parent, problem)) fail(problem);
  Budget budget;
  duk_context* ctx = duk_create_heap(budgetAlloc, budgetRealloc, budgetFree, &budget, onFatal);
  if (!ctx) fail("cannot create a JavaScript heap");
  if (duk_peval_string(ctx, kScriptEventApi) != 0) fail(std::string("the event API did not load: ") + duk_safe_to_string(ctx, -1));
  duk_pop(ctx);

  rapidjson::Document scratch;
  rapidjson::Value parts(rapidjson::kArrayType);
  for (const auto& part : config.parts) {
    rapidjson::Value p(rapidjson::kObjectType);
    p.AddMember("name", rapidjson::StringRef(part.name.data(), part.name.size()), scratch.GetAllocator());
    p.AddMember("first", part.firstLine, scratch.GetAllocator());
    p.AddMember("lines", part.lines, scratch.GetAllocator());
    parts.PushBack(p, scratch.GetAllocator());
  }
  if (callApi(ctx, "init", {jsonOf(parts)}) != 0) fail(std::string("internal error: ") + duk_safe_to_string(ctx, -1));
  duk_pop(ctx);

  duk_push_string(ctx, "fimbeat-script");
  if (duk_pcompile_lstring_filename(ctx, 0, config.code.data(), config.code.size()) != 0) fail(describeError(ctx));
  if (duk_pcall(ctx, 0) != 0) fail(describeError(ctx));
  duk_pop(ctx);

  const bool hasParams = config.params.isMap() && !config.params.entries.empty();
  const std::string params = hasParams ? jsonOf(nodeToJson(config.params, scratch.GetAllocator())) : "null";
  duk_get_global_string(ctx, "__fimbeat");
  duk_push_string(ctx, "setup");
  duk_push_lstring(ctx, params.data(), params.size());
  duk_push_boolean(ctx, runTest);
  if (duk_pcall_prop(ctx, -4, 2) != 0) fail(describeError(ctx));
  if (const std::string result = duk_safe_to_string(ctx, -1); !result.empty()) fail(result);
  duk_pop_2(ctx);

  if (!channel.send('R', {})) ::_exit(0);
  for (;;) {
    const auto frame = channel.receive();
    if (!frame || frame->type != 'P') ::_exit(0);
    std::string reply;
    if (callApi(ctx, "process", {frame->payload}) == 0) {
      reply = duk_safe_to_string(ctx, -1);
    } else {  // the document did not parse, or the heap ran out: no fields come back
      rapidjson::Document error(rapidjson::kObjectType);
      const std::string text = duk_safe_to_string(ctx, -1);
      error.AddMember("e", rapidjson::Value(text.data(), static_cast<rapidjson::SizeType>(text.size()), error.GetAllocator()),
                      error.GetAllocator());
      reply = jsonOf(error);
    }
    duk_pop(ctx);
    if (!channel.send('D', reply)) ::_exit(0);
  }
}

}  // namespace

// ---- fimbeat's side. ----

core::Result<std::unique_ptr<ScriptWorker>> ScriptWorker::start(const config::ScriptConfig& config, bool runTest) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return std::unexpected(core::errnoError("cannot create the script worker's socket", errno));
  }
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return std::unexpected(core::errnoError("cannot start the script worker", error));
  }
  if (pid == 0) {
    ::close(fds[0]);
    workerMain(fds[1], parent, config, runTest);
  }
  ::close(fds[1]);
  std::unique_ptr<ScriptWorker> worker(new ScriptWorker(pid, fds[0]));
  bool timedOut = false;
  const auto frame = worker->channel_.receive(std::chrono::steady_clock::now() + kLoadTimeout, &timedOut);
  if (!frame) {
    if (timedOut) {
      return core::failf(core::ErrorCode::InvalidArgument,
                         "the script did not finish loading within {} s: its top-level code, register() or test() "
                         "may never end",
                         kLoadTimeout.count());
    }
    worker->stop();
    return core::failf(core::ErrorCode::Internal, "the script worker stopped while loading ({})", worker->exitReason());
  }
  if (frame->type == 'E') return core::fail(core::ErrorCode::InvalidArgument, frame->payload);
  if (frame->type != 'R') return core::fail(core::ErrorCode::Internal, "the script worker answered out of turn");
  return worker;
}

ScriptWorker::~ScriptWorker() { stop(); }

void ScriptWorker::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
  }
  ::close(channel_.fd());
  pid_ = -1;
}

ScriptWorker::Reply ScriptWorker::process(const std::string& documentJson, std::optional<std::chrono::nanoseconds> timeout) {
  if (pid_ <= 0) return {Status::Died, {}};
  if (!channel_.send('P', documentJson)) {
    stop();
    return {Status::Died, {}};
  }
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (timeout) deadline = std::chrono::steady_clock::now() + *timeout;
  bool timedOut = false;
  auto frame = channel_.receive(deadline, &timedOut);
  if (!frame || frame->type != 'D') {
    stop();
    return {timedOut ? Status::TimedOut : Status::Died, {}};
  }
  return {Status::Done, std::move(frame->payload)};
}

std::string ScriptWorker::exitReason() {
  if (status_ < 0) return "still running";
  if (WIFSIGNALED(status_)) return fmt::format("killed by signal {}", WTERMSIG(status_));
  if (WIFEXITED(status_)) return fmt::format("exited with status {}", WEXITSTATUS(status_));
  return "ended";
}

}  // namespace fim::mapper::processors
