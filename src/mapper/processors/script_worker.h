#pragma once
// ScriptWorker: one process that runs a script processor's JavaScript (Duktape, ECMAScript 5.1)
// for fimbeat, which talks to it over a socket (ScriptChannel).
//
// Why a process: Debian's libduktape is built without an execution-timeout hook, so a script in an
// endless loop cannot be interrupted inside fimbeat; a worker can be killed. A worker also cannot
// crash fimbeat (a Duktape fatal error or a runaway allocation ends only the worker), holds no
// privileges (forked, then every descriptor but its socket closed, switched to nobody when fimbeat
// runs as root, no_new_privs) and its heap is limited to kHeapLimit bytes.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/processors_config.h"
#include "core/result.h"
#include "mapper/processors/script_channel.h"

namespace fim::mapper::processors {

class ScriptWorker {
 public:
  static constexpr std::size_t kHeapLimit = 256u << 20;
  static constexpr std::chrono::seconds kLoadTimeout{30};  // register() and test() must end within it

  // Forks the worker and loads the script in it (its code, register(params), and test() when
  // `runTest`). Fails with the script's error, naming the file and line, or why no worker started.
  [[nodiscard]] static core::Result<std::unique_ptr<ScriptWorker>> start(const config::ScriptConfig& config, bool runTest);

  ~ScriptWorker();  // kills the worker and reaps it
  ScriptWorker(const ScriptWorker&) = delete;
  ScriptWorker& operator=(const ScriptWorker&) = delete;

  enum class Status { Done, TimedOut, Died };
  struct Reply {
    Status status = Status::Died;
    std::string json;  // Done: {"c": cancelled, "f": fields, "e": exception}
  };
  // Runs process() on one document (its JSON). Without a timeout, waits as long as it takes.
  // After TimedOut or Died the worker is gone: throw this object away.
  Reply process(const std::string& documentJson, std::optional<std::chrono::nanoseconds> timeout);

  // Why the worker ended, for error.message ("exited with status 70", "killed by signal 9").
  std::string exitReason();

 private:
  ScriptWorker(pid_t pid, int fd) : pid_(pid), channel_(fd) {}
  void stop();

  pid_t pid_;
  ScriptChannel channel_;
  int status_ = -1;  // waitpid status once reaped
};

}  // namespace fim::mapper::processors
