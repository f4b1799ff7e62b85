#pragma once
// The Elasticsearch index template and ILM policy for fimbeat's data stream, generated from the
// schema (fields.yml), so that every field a document can carry is mapped with its declared type.

#include <string>

#include "mapper/schema.h"

namespace fim::mapper {

struct TemplateOptions {
  std::string indexPattern = "logs-fim.event-*";
  int priority = 150;                 // above Elasticsearch's built-in logs template (100)
  std::string ilmPolicy = "fimbeat";  // empty: no ILM (data stream lifecycle instead)
  std::string dataRetention;          // data stream lifecycle retention when ilmPolicy is empty, e.g. "30d"; empty = none
  std::string version;                // fimbeat version, goes into _meta
};

// Body of PUT _index_template/<name>: a composable template for a data stream with
// `date_detection: false`, dynamic templates for `object` fields with an object_type and for
// other strings (keyword), and properties for every declared field.
std::string indexTemplateJson(const Schema& schema, const TemplateOptions& options);

// Body of PUT _ilm/policy/<name>: hot phase, rollover at 50gb per primary shard or 30 days.
std::string ilmPolicyJson();

}  // namespace fim::mapper
