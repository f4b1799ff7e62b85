#pragma once
// EventIdHasher: the deterministic Elasticsearch _id of an event. It is the first 15 bytes of a
// SHA-256 over agent.id, the event's durable-queue sequence, file.path, the actions and the
// timestamp (nanoseconds), base64url-encoded: 20 characters. Everything it covers is stored with
// the queued event, so a redelivery of the same queued event (after a restart or a retried bulk
// request) gets the same _id and Elasticsearch rejects it as a duplicate instead of storing it
// twice; two different events differ in at least the sequence or the timestamp.

#include <memory>
#include <string>

#include "events/file_event.h"

struct evp_md_ctx_st;

namespace fim::mapper {

class EventIdHasher {
 public:
  EventIdHasher();
  std::string id(const events::EnrichedEvent& event);

 private:
  struct DigestDeleter {
    void operator()(evp_md_ctx_st* ctx) const;
  };
  std::string input_;  // the bytes hashed, reused
  std::unique_ptr<evp_md_ctx_st, DigestDeleter> context_;  // reused: one allocation per hasher
};

}  // namespace fim::mapper
