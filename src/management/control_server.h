#pragma once
// ControlServer: the running agent's local control socket, <path.data>/fimbeat.sock (a unix
// stream socket, mode 0600 in the 0700 data directory). It answers root only: the peer's
// credentials (SO_PEERCRED) are checked on every connection, whatever the file's mode. One
// request per connection (control_protocol.h), served one at a time on a thread of its own.

#include <memory>
#include <string>
#include <thread>

#include "core/result.h"
#include "management/approval_store.h"

namespace fim::management {

class ControlServer {
 public:
  // Binds `socketPath` (a socket left by an agent that died is replaced; anything else there is
  // an error) and starts answering.
  [[nodiscard]] static core::Result<std::unique_ptr<ControlServer>> start(const std::string& socketPath,
                                                                         ApprovalStore& approvals);
  ~ControlServer();  // stop()
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Stops answering, joins the thread and removes the socket file. Idempotent.
  void stop();

 private:
  ControlServer(std::string socketPath, ApprovalStore& approvals, int listener, int wake);
  void serve(std::stop_token stop);
  void answer(int connection);
  std::string handle(std::string_view request);

  const std::string socketPath_;
  ApprovalStore& approvals_;
  int listener_ = -1;
  int wake_ = -1;  // an eventfd: stop() wakes the thread's poll
  std::jthread thread_;
};

}  // namespace fim::management
