#pragma once
// FleetState: what fimbeat keeps about its Fleet enrollment, in <path.data>/fleet/state.json
// (directory 0700, file 0600, written whole to a temporary file, fsynced and renamed, so that a
// crash leaves the old or the new state, never a mix). One file makes every step of the protocol
// one atomic write: the ack_token with the actions it delivered, an action's result with its ack.
// Format version 1 (kStateVersion); a newer version is refused, never guessed at.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

namespace fim::management::fleet {

inline constexpr int kStateVersion = 1;

enum class Lifecycle { Enrolling, Enrolled, Unenrolled };
const char* toString(Lifecycle lifecycle);

// What `fimbeat enroll` was given and what Fleet Server answered.
struct Enrollment {
  std::vector<std::string> hosts;         // Fleet Server URLs
  std::vector<std::string> certificateAuthorities;
  bool insecure = false;                  // --insecure: no TLS verification
  std::string proxyUrl;
  std::vector<std::string> tags;
  std::string agentId;                    // = meta.json's agent id (design decision 8)
  std::string replaceToken;               // secret: lets a retried enrollment replace, not duplicate
  std::string tokenFingerprint;           // sha256 of the enrollment token, first 16 hex digits
  std::string accessApiKeyId;
  std::string accessApiKey;               // secret: base64(id:key), sent after "ApiKey "
  std::string policyId;
  std::string enrolledAt;
};

struct PolicyRecord {
  std::string id;
  std::int64_t revision = 0;
  std::string sha256;
  std::string json;    // the policy object as delivered (policy/good only)
  std::string status;  // policy/last: applied | applying | rejected
  std::string error;
  int attempts = 0;
};

struct AckEvent {
  std::string actionId;
  std::string type;
  std::string timestamp;
  std::string error;  // empty: success
  // INPUT_ACTION only (the spec's inputEvent); optional in the state file, absent from older ones.
  std::string inputType;       // the action's input_type
  std::string actionData;      // the action's data, as JSON
  std::string actionResponse;  // what it answered, as JSON
  std::string startedAt;
  std::string completedAt;
};

struct Connectivity {
  std::string state = "never";  // never | connected | backoff | unauthorized | revoked |
                                // identity_mismatch | outdated_client
  std::string lastError;
  std::string lastCheckin;      // time of the last successful checkin
  int failures = 0;
};

struct FleetState {
  Lifecycle lifecycle = Lifecycle::Enrolling;
  Enrollment enrollment;
  std::string ackToken;
  std::vector<std::string> inbox;  // actions received and not executed yet, as JSON
  std::vector<std::string> done;   // ids of executed actions (bounded), to drop re-deliveries
  std::vector<AckEvent> outbox;    // acks not accepted by Fleet Server yet
  std::optional<PolicyRecord> good;  // the policy running (last-good)
  std::optional<PolicyRecord> last;  // the last policy tried
  std::string logLevel;              // SETTINGS override; "" = the config's
  std::vector<std::string> unsupportedInputs;  // input types of the running policy fimbeat cannot run
  Connectivity connectivity;
  std::string unenrollReason;
};

// <path.data>/fleet
std::string stateDirectory(const std::string& dataDir);

// One fimbeat process at a time may own the Fleet state (run, enroll, unenroll): an exclusive,
// non-blocking flock on <path.data>/fleet/lock, held while this object lives.
class StateLock {
 public:
  explicit StateLock(const std::string& dataDir);
  ~StateLock();
  StateLock(const StateLock&) = delete;
  StateLock& operator=(const StateLock&) = delete;
  bool held() const { return held_; }

 private:
  int fd_ = -1;
  bool held_ = false;
};

// nullopt when fimbeat was never enrolled (no state file).
[[nodiscard]] core::Result<std::optional<FleetState>> loadState(const std::string& dataDir);
[[nodiscard]] core::Status saveState(const std::string& dataDir, const FleetState& state);
[[nodiscard]] core::Status removeState(const std::string& dataDir);

// The state as JSON (secrets left out unless `withSecrets`): the file's content and `status --json`.
std::string stateJson(const FleetState& state, bool withSecrets);

}  // namespace fim::management::fleet
