#pragma once
// Processor: one step of a Beats-style chain, changing an ECS document in place.

#include <memory>

#include <rapidjson/document.h>

#include "config/processors_config.h"
#include "core/result.h"
#include "mapper/document_filter.h"

namespace fim::mapper::processors {

enum class Outcome {
  Keep,    // done; the next processor runs
  Drop,    // drop the event (drop_event)
  Failed,  // could not do everything it was asked (a missing field, a clash); the event goes on, as in Beats
};

class Processor {
 public:
  virtual ~Processor() = default;
  // Safe to call from several threads at once on different documents.
  virtual Outcome run(rapidjson::Document& document) const = 0;
  // The same, for processors that need to know more of the event than its document (add_id).
  virtual Outcome run(rapidjson::Document& document, const EventContext&) const { return run(document); }
};

// The field processors (add_fields, add_tags, drop_fields, include_fields, rename).
[[nodiscard]] core::Result<std::unique_ptr<Processor>> makeAddFields(const config::AddFieldsConfig& config);
std::unique_ptr<Processor> makeAddTags(const config::AddTagsConfig& config);
[[nodiscard]] core::Result<std::unique_ptr<Processor>> makeDropFields(const config::DropFieldsConfig& config);
std::unique_ptr<Processor> makeIncludeFields(const config::IncludeFieldsConfig& config);
std::unique_ptr<Processor> makeRename(const config::RenameConfig& config);

// The value processors (value_processors.cpp).
std::unique_ptr<Processor> makeFieldCopy(const config::FieldCopyConfig& config);  // copy_fields, urldecode, decode_base64_field
std::unique_ptr<Processor> makeTruncateFields(const config::TruncateFieldsConfig& config);
std::unique_ptr<Processor> makeReplace(const config::ReplaceConfig& config);
std::unique_ptr<Processor> makeAddLocale(const config::AddLocaleConfig& config);
std::unique_ptr<Processor> makeFingerprint(const config::FingerprintConfig& config);

class MetadataSources;
// add_observer_metadata, add_process_metadata, add_docker_metadata, add_kubernetes_metadata
// (metadata_processors.cpp, process_metadata.cpp); `sources` null is an error.
[[nodiscard]] core::Result<std::unique_ptr<Processor>> makeMetadataProcessor(const config::MetadataProcessorConfig& config,
                                                                            MetadataSources* sources);
[[nodiscard]] core::Result<std::unique_ptr<Processor>> makeAddProcessMetadata(const config::ProcessMetadataConfig& config,
                                                                             MetadataSources& sources);

}  // namespace fim::mapper::processors
