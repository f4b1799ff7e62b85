#pragma once
// Decoders from the expanded tree to typed settings; each reports into Diagnostics.

#include "config/config.h"
#include "config/diagnostics.h"
#include "config/map_reader.h"

namespace fim::config {

// `rpmDbPath`: <beat>.rpm_dbpath (internal, for tests), left as it is when absent.
void decodeModuleSection(MapReader& top, std::string_view beatName, std::vector<ModuleConfig>& out,
                         std::string& rpmDbPath);
void decodeModule(const Node& node, const std::string& path, Diagnostics& diagnostics, std::vector<ModuleConfig>& out);
void decodeOutputs(MapReader& top, const PathsConfig& paths, OutputConfig& out, bool requireOutput = true);
void decodeLogging(MapReader& top, const PathsConfig& paths, LoggingConfig& out);
// setup.kibana and setup.dashboards; credentials missing from setup.kibana come from `output`.
void decodeKibanaSetup(MapReader& setup, const Config& config, SetupConfig& out);
// "" when host is a valid [scheme://][user@]host[:port][/path], else what is wrong with it.
std::string hostProblem(const std::string& host);
// <parent>.ssl: the TLS options of an HTTP client (output.elasticsearch.ssl, setup.kibana.ssl).
void decodeSsl(MapReader& parent, Diagnostics& diagnostics, ElasticsearchSslConfig& out);
// Where add_host_metadata / add_cloud_metadata write their options; null in a module's list,
// where they are validated but not read (host and cloud metadata are the same for every event).
struct MetadataTargets {
  HostMetadataConfig* host = nullptr;
  CloudMetadataConfig* cloud = nullptr;
};

void decodeProcessors(const Node& node, const std::string& path, Diagnostics& diagnostics,
                      std::vector<ProcessorConfig>& out, MetadataTargets metadata = {});
// A `when:` condition (or the `if:` of if/then/else); nullopt after reporting what is wrong.
std::optional<ConditionConfig> decodeCondition(const Node& node, const std::string& path, Diagnostics& diagnostics);
void decodeTopLevel(const Node& root, Config& config, Diagnostics& diagnostics, bool requireModules = true);
// The value processors (decode_value_processors.cpp).
void decodeAddLabels(MapReader& reader, const Origin& origin, AddFieldsConfig& out);
void decodeFieldCopy(MapReader& reader, const Origin& origin, FieldCopyConfig& out);  // out.kind set by the caller
void decodeTruncateFields(MapReader& reader, const Origin& origin, TruncateFieldsConfig& out);
void decodeReplace(MapReader& reader, const Origin& origin, ReplaceConfig& out);
void decodeAddLocale(MapReader& reader, AddLocaleConfig& out);
void decodeFingerprint(MapReader& reader, const Origin& origin, FingerprintConfig& out);
// convert, decode_json_fields, dissect, extract_array, rate_limit, add_id and script
// (decode_transform_processors.cpp): false when `name` is none of them.
bool decodeTransformProcessor(const std::string& name, MapReader& reader, const Origin& origin, ProcessorConfig& out);
const std::vector<std::string>& transformProcessorNames();
// The metadata processors (decode_metadata_processors.cpp): add_observer_metadata,
// add_process_metadata, add_docker_metadata, add_kubernetes_metadata.
bool isMetadataProcessor(std::string_view name);
void decodeMetadataProcessor(MapReader& reader, const Origin& origin, std::string_view name, MetadataProcessorConfig& out);
// `fields` and `fields_under_root` (top level or a module's): an add_fields processor put first
// in `processors`, as Beats add these fields before any processor runs.
void decodeCustomFields(MapReader& reader, std::vector<ProcessorConfig>& processors);

}  // namespace fim::config
