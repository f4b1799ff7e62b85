#pragma once
// EventIdHasher: the deterministic Elasticsearch _id of an event. It is the first 15 bytes of a
// SHA-256 over agent.id, the event's durable-queue sequence, file.path, the actions and the
// timestamp (nanoseconds), base64url-encoded: 20 characters. Everything it covers is stored with
// the queued event, so a redelivery of the same queued event (after a restart or a retried bulk
// request) gets the same _id and Elasticsearch rejects it as a duplicate instead of storing it
// twice; two different events differ in at least the sequence or the timestamp.

#include <string>

#include "core/event.h"

struct evp_md_ctx_st;
struct evp_md_st;

namespace fim::mapper {

class EventIdHasher {
 public:
  EventIdHasher();
  ~EventIdHasher();
  EventIdHasher(const EventIdHasher&) = delete;
  EventIdHasher& operator=(const EventIdHasher&) = delete;

  std::string id(const core::EnrichedEvent& event);

 private:
  evp_md_ctx_st* context_;
  evp_md_st* sha256_;
  std::string input_;  // the bytes hashed, reused
};

}  // namespace fim::mapper
