#pragma once
// DirectEncoder: the JSON of an event's ECS document written straight from the EnrichedEvent,
// with no rapidjson Document and no schema walk: DocumentBuilder's fast path when no processor
// can change the document. Its output is byte for byte what DocumentEncoder writes for
// DocumentBuilder::buildDocument's document (tests/mapper/test_direct_encoder.cpp compares them
// over generated events):
// - agent, cloud, data_stream, ecs, host and service are spliced from MetadataFragments, which
//   the checked path (builder + schema walk) encoded once per metadata snapshot;
// - the per-event fields are written as the types fields.yml declares for them; covers() tells
//   whether a schema declares every one of them so (the builder uses the checked path if not);
// - strings are copied when plain ASCII, else escaped with invalid UTF-8 replaced; a date the
//   schema walk would reject or a size beyond a long is dropped and counted (mapper.fields.invalid).
// Not thread-safe: one per mapper thread.

#include <array>
#include <cassert>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <rapidjson/stringbuffer.h>

#include "core/clock.h"
#include "core/event.h"
#include "core/metrics.h"
#include "mapper/iso_time.h"
#include "mapper/json_text_writer.h"
#include "mapper/schema.h"

namespace fim::mapper {

// The top-level members that depend only on the metadata snapshot and the configuration,
// encoded by the schema walk, grouped by where they go among the per-event members.
struct MetadataFragments {
  struct Members {
    std::string json;         // "agent":{...},"cloud":{...}: complete members, no braces
    std::size_t count = 0;    // how many
  };
  Members beforeContainer;  // agent, cloud
  Members beforeError;      // data_stream, ecs
  Members beforeProcess;    // host
  Members beforeTags;       // service
  // What the schema walk dropped while encoding them: counted again for every event, as
  // encoding each event's whole document would.
  std::int64_t undeclared = 0;
  std::int64_t invalid = 0;
};

class DirectEncoder {
 public:
  explicit DirectEncoder(core::Metrics& metrics);

  // True when `schema` declares every per-event field this encoder writes, with the type it
  // writes, under groups (not object or flattened fields).
  static bool covers(const Schema& schema);

  // The document's JSON in `out`, replacing its contents.
  void encode(const core::EnrichedEvent& event, const MetadataFragments& fragments, rapidjson::StringBuffer& out);

 private:
  struct Pending {
    std::string_view key;
    bool isArray;
  };

  void splice(const MetadataFragments::Members& members);
  void eventObject(const core::FileEvent& e);
  void fileObject(const core::FileInfo& f);
  void attribute(const core::FileInfo& f, std::size_t index, bool always, std::string_view path);  // index into kAttributes
  void hashObject(const core::FileInfo& f, const std::vector<std::string>* changed);
  void fileIntegrityObject(const core::FileEvent& e);
  void processObject(const core::ProcessInfo& p);
  void idAndName(std::string_view object, const std::optional<std::uint32_t>& id, std::string_view name);
  void stringArray(std::string_view key, const std::vector<std::string>& items);

  void open(std::string_view key, bool isArray = false) {
    assert(depth_ < pending_.size());  // the document nests at most file_integrity.previous.hash
    pending_[depth_++] = Pending{key, isArray};
  }
  void close();
  void openPending();              // writes out the containers opened since the last value
  void key(std::string_view key);  // opens what is pending, then writes the key
  void text(std::string_view key, std::string_view value);
  void textIfSet(std::string_view key, std::string_view value) {
    if (!value.empty()) text(key, value);
  }
  void plain(std::string_view key, std::string_view value);  // value: a constant needing no escaping
  template <typename Integer>
  void decimalText(std::string_view key, Integer n);
  void integer(std::string_view key, std::int64_t n);
  void boolean(std::string_view key, bool b);
  void date(std::string_view key, core::TimePoint t, std::string_view path);
  void invalid(std::string_view path, FieldType type);

  JsonTextWriter writer_;
  IsoMillisFormatter dates_;
  core::Counter& undeclared_;
  core::Counter& invalid_;
  std::array<Pending, 8> pending_{};  // containers opened in the code, [0, depth_)
  std::size_t depth_ = 0;
  std::size_t opened_ = 0;  // how many of them are written out
  std::set<std::string, std::less<>> warnedInvalid_;
  std::string eventConstants_;  // "category":["file"],"dataset":...,"module":...: the same in every event
};

}  // namespace fim::mapper
