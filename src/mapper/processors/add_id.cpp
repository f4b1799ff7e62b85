// add_id: puts an id laid out as Elasticsearch's time-based ids (Beats' add_id, type
// elasticsearch) into target_field, @metadata._id by default, which the Elasticsearch output
// then sends as the document's _id.
//
// The 15 bytes are Beats' (libbeat/processors/add_id/generator/es_generator.go): sequence and
// millisecond timestamp interleaved around a 6-byte node id, base64url, 20 characters. Beats fills
// them from a random counter and the clock when the event enters its memory queue. fimbeat runs
// processors when an event leaves its durable queue, possibly again after a restart, so for a
// queued event it uses what that queue keeps: event.created, the queue sequence and a node id
// derived from agent.id. A redelivery therefore carries the same _id and Elasticsearch refuses the
// duplicate, as with fimbeat's own ids. Events that were never queued get Beats' random scheme.

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <string>

#include "core/base64.h"
#include "mapper/processors/event_values.h"
#include "mapper/processors/transform_processors.h"

namespace fim::mapper::processors {
namespace {

using Node = std::array<unsigned char, 6>;

std::string pack(std::uint64_t ts, std::uint64_t seq, const Node& node) {
  std::array<unsigned char, 15> b{};
  b[0] = static_cast<unsigned char>(seq);
  b[1] = static_cast<unsigned char>(seq >> 16);
  b[2] = static_cast<unsigned char>(ts >> 16);
  b[3] = static_cast<unsigned char>(ts >> 24);
  b[4] = static_cast<unsigned char>(ts >> 32);
  b[5] = static_cast<unsigned char>(ts >> 40);
  for (std::size_t i = 0; i < node.size(); ++i) b[6 + i] = node[i];
  b[12] = static_cast<unsigned char>(ts >> 8);
  b[13] = static_cast<unsigned char>(seq >> 8);
  b[14] = static_cast<unsigned char>(ts);
  return core::base64Url(std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
}

// A node id that is not a real MAC address (its multicast bit is set, as Elasticsearch's dummy).
Node nodeOf(std::string_view agentId) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(agentId.data(), agentId.size(), digest.data(), &length, EVP_sha256(), nullptr);
  Node node{};
  for (std::size_t i = 0; i < node.size(); ++i) node[i] = digest[i];
  node[0] |= 0x01;
  return node;
}

// Beats' generator, for events that were never queued: a random start, then +1 per id, and a
// timestamp that never goes back.
class RandomIds {
 public:
  RandomIds() {
    std::uint64_t seed = 0;
    RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed);
    sequence_ = seed;
    RAND_bytes(node_.data(), static_cast<int>(node_.size()));
    node_[0] |= 0x01;
  }

  std::string next() {
    std::lock_guard lock(mutex_);
    const std::uint64_t seq = ++sequence_ & 0xffffff;
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    std::uint64_t ts = std::max(last_, static_cast<std::uint64_t>(now));
    if (seq == 0) ++ts;
    last_ = ts;
    return pack(ts, seq, node_);
  }

 private:
  std::mutex mutex_;
  std::uint64_t sequence_ = 0;
  std::uint64_t last_ = 0;
  Node node_{};
};

class AddId final : public Processor {
 public:
  explicit AddId(const config::AddIdConfig& config) : target_(config.targetField) {}

  Outcome run(rapidjson::Document& document) const override { return run(document, EventContext{}); }

  Outcome run(rapidjson::Document& document, const EventContext& context) const override {
    std::string id;
    if (context.sequence != 0) {
      id = pack(static_cast<std::uint64_t>(context.createdMillis), context.sequence & 0xffffff, nodeOf(context.agentId));
    } else {
      id = random_.next();
    }
    rapidjson::Value value = stringValue(id, document.GetAllocator());
    return setField(document, target_, value, document.GetAllocator()) ? Outcome::Keep : Outcome::Failed;
  }

 private:
  FieldPath target_;
  mutable RandomIds random_;
};

}  // namespace

std::unique_ptr<Processor> makeAddId(const config::AddIdConfig& config) { return std::make_unique<AddId>(config); }

}  // namespace fim::mapper::processors
