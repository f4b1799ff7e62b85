#pragma once
// DocumentBuilder: EnrichedEvent → ECS document → processors → schema-checked JSON with a
// deterministic _id. It builds the document as a rapidjson::Document in a reused memory pool
// (nested objects, never dotted keys; arrays where ECS normalizes to arrays), hands it to the
// DocumentFilter (processors) if there is one, expands its dotted keys and encodes it against
// the schema (see document_encoder.h). A processor's @metadata._id replaces the deterministic
// _id; @metadata never reaches the document. Not thread-safe: one builder per delivery thread.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>

#include "config/config.h"
#include "mapper/document_filter.h"
#include "events/file_event.h"
#include "core/metrics.h"
#include "mapper/document_encoder.h"
#include "mapper/event_id.h"
#include "mapper/index_selector.h"
#include "mapper/schema.h"

namespace fim::mapper {

inline constexpr const char* kDataset = "fim.event";
inline constexpr const char* kModule = "file_integrity";
// The ECS release of the reference fields.yml follows (ecs_flat.yml of the ECS 9.4 line).
inline constexpr const char* kEcsVersion = "9.4.0";

class DocumentBuilder {
 public:
  // `filter` (processors) and `schema` must outlive the builder.
  DocumentBuilder(const config::Config& config, core::Metrics& metrics, const mapper::DocumentFilter* filter = nullptr,
                  const Schema& schema = builtinSchema());

  // Registers the counters a builder reports, so that they read 0 before one is built.
  static void declareMetrics(core::Metrics& metrics);

  // The ECS document of `event` before processors, into `document` (which should use a pool
  // allocator that outlives it). Strings reference `event`, which must outlive the document.
  void buildDocument(const events::EnrichedEvent& event, rapidjson::Document& document) const;

  // Build, run the processors, encode. nullopt: a processor dropped the event (counted in
  // mapper.events.dropped) or left something that is not an object (mapper.events.invalid).
  std::optional<events::EncodedEvent> map(const events::EnrichedEvent& event);

  // map()'s JSON, or "" for a dropped event (for tests and tools).
  std::string build(const events::EnrichedEvent& event);

  // Maps every event of `in` into `out` (dropped ones leave nothing); counts them; clears `in`.
  void mapBatch(std::vector<events::EnrichedEvent>& in, std::vector<events::EncodedEvent>& out);

 private:
  bool keepNull(std::size_t module) const { return module < keepNull_.size() && keepNull_[module]; }
  // The document's JSON in json_; false when the event was dropped or invalid (counted).
  bool encode(const events::EnrichedEvent& event);
  // Removes @metadata from the document, keeping a string @metadata._id in metadataId_.
  void takeMetadata(rapidjson::Document& doc);

  config::DataStreamConfig dataStream_;
  std::vector<bool> keepNull_;  // by module index
  std::vector<std::string> serviceNames_;  // by module index: the module's service.name
  const mapper::DocumentFilter* filter_;
  core::Counter& events_;
  core::Counter& dropped_;
  core::Counter& invalid_;
  DocumentEncoder encoder_;
  EventIdHasher ids_;
  IndexSelector indices_;
  std::unique_ptr<char[]> poolBuffer_;  // the pool's first chunk: most documents need no malloc
  rapidjson::MemoryPoolAllocator<> pool_;
  rapidjson::StringBuffer json_;
  std::string metadataId_;  // @metadata._id set by a processor: the document's _id instead of ids_'
};

}  // namespace fim::mapper
