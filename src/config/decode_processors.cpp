// Processors (top level and per module): Beats' names and options, typed and checked at load time.

#include <re2/re2.h>

#include <algorithm>

#include <fmt/format.h>

#include "config/decode.h"

namespace fim::config {
namespace {

// Every processor Beats documents; the ones fimbeat does not run are accepted with a warning.
const std::vector<std::string> kKnownProcessors{
    "add_cloud_metadata", "add_cloudfoundry_metadata", "add_docker_metadata", "add_fields", "add_host_metadata",
    "add_id", "add_kubernetes_metadata", "add_labels", "add_locale", "add_network_direction",
    "add_nomad_metadata", "add_observer_metadata", "add_process_metadata", "add_session_metadata", "add_tags",
    "append", "community_id", "convert", "copy_fields", "decode_base64_field", "decode_duration",
    "decode_json_fields", "decode_xml", "decode_xml_wineventlog", "decompress_gzip_field", "detect_mime_type",
    "dissect", "dns", "drop_event", "drop_fields", "extract_array", "fingerprint", "include_fields", "move_fields",
    "rate_limit", "registered_domain", "rename", "replace", "script", "syslog", "translate_ldap_attribute",
    "translate_sid", "truncate_fields", "urldecode"};

const std::vector<std::string> kCloudProviders{"alibaba", "ecs",  "azure",     "digitalocean",  "aws",
                                               "ec2",     "gcp",  "openstack", "nova",          "openstack-ssl",
                                               "nova-ssl", "tencent", "qcloud", "huawei",       "hetzner"};

// Processors for network, syslog and DNS data: a file event has none of their input fields.
std::string pointlessForFim(const std::string& name) {
  if (name == "community_id" || name == "add_network_direction") return "FIM events have no network flow (source/destination) to work on";
  if (name == "registered_domain" || name == "dns") return "FIM events hold no domain names or IP addresses to resolve";
  if (name == "syslog") return "FIM events carry no syslog message to parse";
  return {};
}

struct Context {
  Diagnostics& diagnostics;
  MetadataTargets metadata;
  int branchDepth = 0;  // inside the then/else of an if: the if's condition gates every processor
};

void decodeList(const Node& node, const std::string& path, Context& context, std::vector<ProcessorConfig>& out);

// A required option that is absent or empty.
bool requireOption(MapReader& reader, std::string_view key, std::string_view example, const Origin& origin) {
  const Node* value = reader.node() ? reader.node()->get(key) : nullptr;
  const bool empty = !value || value->isNull() || (value->isSequence() && value->items.empty()) ||
                     (value->isMap() && value->entries.empty());
  if (empty) {
    reader.diagnostics().error(value ? value->origin : origin, reader.keyPath(key),
                               fmt::format("is required, for example `{}`", example));
  }
  return !empty;
}

void decodeAddFields(MapReader& reader, const Origin& origin, AddFieldsConfig& out) {
  reader.string("target", out.target);
  if (!requireOption(reader, "fields", "fields: {project: {id: 42}}", origin)) {
    reader.take("fields");
    return;
  }
  const Node* fields = reader.take("fields");
  if (!fields->isMap()) {
    reader.diagnostics().error(fields->origin, reader.keyPath("fields"),
                               "expected a map of field names to values, got " + describeValue(*fields));
    return;
  }
  out.fields = *fields;
}

void decodeAddTags(MapReader& reader, const Origin& origin, AddTagsConfig& out) {
  reader.string("target", out.target);
  if (out.target.empty()) out.target = "tags";
  if (requireOption(reader, "tags", "tags: [web, production]", origin)) reader.strings("tags", out.tags);
}

void decodeDropFields(MapReader& reader, const Origin& origin, DropFieldsConfig& out) {
  reader.boolean("ignore_missing", out.ignoreMissing);
  reader.boolean("cleanup", out.cleanup);
  if (!requireOption(reader, "fields", "fields: [file.mtime, \"/^file\\.hash\\./\"]", origin)) return;
  const Node* node = reader.node()->get("fields");
  std::vector<std::string> fields;
  reader.strings("fields", fields);
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string& field = fields[i];
    const Origin at = node->isSequence() && i < node->items.size() ? node->items[i].origin : node->origin;
    const std::string where = reader.keyPath("fields") + "." + std::to_string(i);
    if (field.size() > 2 && field.front() == '/' && field.back() == '/') {
      const std::string pattern = field.substr(1, field.size() - 2);
      RE2 re(pattern, RE2::Quiet);
      if (!re.ok()) {
        reader.diagnostics().error(at, where, fmt::format("invalid regular expression \"{}\": {}", pattern, re.error()));
        continue;
      }
      out.patterns.push_back(pattern);
      continue;
    }
    const auto& kept = protectedFields();
    const auto isProtected = [&](const std::string& p) { return field == p || field.starts_with(p + "."); };
    if (std::any_of(kept.begin(), kept.end(), isProtected)) {
      reader.diagnostics().warn(at, where, "\"" + field + "\" is never dropped (as in Beats); this entry has no effect");
      continue;
    }
    out.fields.push_back(field);
  }
}

void decodeIncludeFields(MapReader& reader, const Origin& origin, IncludeFieldsConfig& out) {
  if (requireOption(reader, "fields", "fields: [file.path, event.action]", origin)) reader.strings("fields", out.fields);
}

void decodeRename(MapReader& reader, const Origin& origin, RenameConfig& out) {
  reader.boolean("ignore_missing", out.ignoreMissing);
  reader.boolean("fail_on_error", out.failOnError);
  if (!requireOption(reader, "fields", "fields: [{from: file.path, to: file.target_path}]", origin)) {
    reader.take("fields");
    return;
  }
  const Node* fields = reader.take("fields");
  if (!fields->isSequence()) {
    reader.diagnostics().error(fields->origin, reader.keyPath("fields"),
                               "expected a list of `{from: a, to: b}` pairs, got " + describeValue(*fields));
    return;
  }
  for (std::size_t i = 0; i < fields->items.size(); ++i) {
    const Node& item = fields->items[i];
    MapReader pair(&item, reader.keyPath("fields") + "." + std::to_string(i), reader.diagnostics());
    RenameConfig::Pair names;
    pair.string("from", names.from);
    pair.string("to", names.to);
    pair.finish();
    bool complete = item.isMap();
    for (const auto& [key, value] : {std::pair{"from", &names.from}, std::pair{"to", &names.to}}) {
      if (item.isMap() && value->empty()) {
        reader.diagnostics().error(item.origin, pair.keyPath(key), "is required: each entry needs `from` and `to`");
        complete = false;
      }
    }
    if (complete) out.fields.push_back(std::move(names));
  }
}

void decodeHostMetadata(MapReader& reader, Context& context) {
  HostMetadataConfig scratch;
  HostMetadataConfig& out = context.metadata.host ? *context.metadata.host : scratch;
  MapReader netinfo(reader.take("netinfo"), reader.keyPath("netinfo"), context.diagnostics);
  netinfo.boolean("enabled", out.netinfo);
  netinfo.finish();
  MapReader cache(reader.take("cache"), reader.keyPath("cache"), context.diagnostics);
  cache.duration("ttl", out.cacheTtl);
  cache.finish();
  reader.notImplemented("geo", "host.geo.* is not added");
  reader.notImplemented("replace_fields", "fimbeat always writes host.* itself");
  reader.notImplemented("expire_update_timeout", "host metadata is re-read every cache.ttl");
}

void decodeCloudMetadata(MapReader& reader, Context& context) {
  CloudMetadataConfig scratch;
  CloudMetadataConfig& out = context.metadata.cloud ? *context.metadata.cloud : scratch;
  out.enabled = true;
  reader.duration("timeout", out.timeout);
  const Node* providers = reader.node() ? reader.node()->get("providers") : nullptr;
  reader.strings("providers", out.providers);
  for (std::size_t i = 0; i < out.providers.size(); ++i) {
    if (std::find(kCloudProviders.begin(), kCloudProviders.end(), out.providers[i]) != kCloudProviders.end()) continue;
    std::string message = fmt::format("unknown cloud provider \"{}\"; known providers: {}", out.providers[i],
                                      fmt::join(kCloudProviders, ", "));
    if (auto close = closestMatch(out.providers[i], kCloudProviders); !close.empty()) {
      message = fmt::format("unknown cloud provider \"{}\"; did you mean \"{}\"?", out.providers[i], close);
    }
    context.diagnostics.error(providers->isSequence() ? providers->items[i].origin : providers->origin,
                              reader.keyPath("providers") + "." + std::to_string(i), message);
  }
  reader.boolean("overwrite", out.overwrite);
  reader.string("host", out.host);
  reader.notImplemented("ssl", "the metadata endpoints are probed over plain HTTP");
}

// One `- name: {options}` entry whose name fimbeat runs.
void decodeProcessor(const Entry& processor, const std::string& path, Context& context, std::vector<ProcessorConfig>& out) {
  ProcessorConfig config;
  config.name = processor.key;
  config.origin = processor.keyOrigin;
  MapReader reader(&processor.value, path, context.diagnostics);
  if (!processor.value.isMap() && !processor.value.isNull()) return;  // reported by the reader
  if (const Node* when = reader.take("when")) {
    config.when = decodeCondition(*when, reader.keyPath("when"), context.diagnostics);
  }
  const std::string& name = processor.key;
  const Origin& origin = processor.keyOrigin;
  if (name == "add_fields") {
    decodeAddFields(reader, origin, config.options.emplace<AddFieldsConfig>());
  } else if (name == "add_tags") {
    decodeAddTags(reader, origin, config.options.emplace<AddTagsConfig>());
  } else if (name == "drop_fields") {
    decodeDropFields(reader, origin, config.options.emplace<DropFieldsConfig>());
  } else if (name == "include_fields") {
    decodeIncludeFields(reader, origin, config.options.emplace<IncludeFieldsConfig>());
  } else if (name == "rename") {
    decodeRename(reader, origin, config.options.emplace<RenameConfig>());
  } else if (name == "add_labels") {
    decodeAddLabels(reader, origin, config.options.emplace<AddFieldsConfig>());
  } else if (name == "copy_fields" || name == "urldecode" || name == "decode_base64_field") {
    auto& options = config.options.emplace<FieldCopyConfig>();
    options.kind = name == "copy_fields" ? FieldCopyConfig::Kind::Copy
                   : name == "urldecode" ? FieldCopyConfig::Kind::UrlDecode
                                         : FieldCopyConfig::Kind::Base64Decode;
    decodeFieldCopy(reader, origin, options);
  } else if (name == "truncate_fields") {
    decodeTruncateFields(reader, origin, config.options.emplace<TruncateFieldsConfig>());
  } else if (name == "replace") {
    decodeReplace(reader, origin, config.options.emplace<ReplaceConfig>());
  } else if (name == "add_locale") {
    decodeAddLocale(reader, config.options.emplace<AddLocaleConfig>());
  } else if (name == "fingerprint") {
    decodeFingerprint(reader, origin, config.options.emplace<FingerprintConfig>());
  } else if (isMetadataProcessor(name)) {
    decodeMetadataProcessor(reader, origin, name, config.options.emplace<MetadataProcessorConfig>());
  } else if (decodeTransformProcessor(name, reader, origin, config)) {
  } else if (name == "drop_event") {
    config.options.emplace<DropEventConfig>();
    if (!reader.has("when") && context.branchDepth == 0) {
      context.diagnostics.warn(origin, path, "drop_event without `when` drops every event");
    }
  } else {
    config.options.emplace<MetadataConfig>();
    if (name == "add_host_metadata") decodeHostMetadata(reader, context);
    else decodeCloudMetadata(reader, context);
    if (!context.metadata.host) {
      context.diagnostics.warn(origin, path, "only the top-level processors configure " + name +
                                                 " (it is the same for every event); here it has no effect");
    } else if (reader.has("when")) {
      context.diagnostics.warn(reader.node()->get("when")->origin, reader.keyPath("when"),
                               name + " applies to every event; its condition has no effect");
    }
  }
  reader.finish();
  out.push_back(std::move(config));
}

// `- if: <condition>  then: [...]  else: [...]`; then and else take one processor or a list.
void decodeIf(const Node& item, const std::string& path, Context& context, std::vector<ProcessorConfig>& out) {
  MapReader reader(&item, path, context.diagnostics);
  ProcessorConfig config;
  config.name = "if";
  config.origin = item.origin;
  IfConfig& options = config.options.emplace<IfConfig>();
  auto condition = decodeCondition(*reader.take("if"), reader.keyPath("if"), context.diagnostics);
  if (condition) options.condition = std::move(*condition);
  const Node* then = reader.take("then");
  if (!then || then->isNull()) {
    context.diagnostics.error(then ? then->origin : item.origin, reader.keyPath("then"),
                              "is required: the processors to run when the condition holds");
  }
  const auto branch = [&](const Node* node, const char* key, std::vector<ProcessorConfig>& target) {
    if (!node || node->isNull()) return;
    if (node->isMap()) {
      Node list;
      list.kind = Node::Kind::Sequence;
      list.origin = node->origin;
      list.items.push_back(*node);
      decodeList(list, reader.keyPath(key), context, target);
    } else {
      decodeList(*node, reader.keyPath(key), context, target);
    }
  };
  ++context.branchDepth;
  branch(then, "then", options.then);
  branch(reader.take("else"), "else", options.otherwise);
  --context.branchDepth;
  reader.finish();
  out.push_back(std::move(config));
}

void decodeList(const Node& node, const std::string& path, Context& context, std::vector<ProcessorConfig>& out) {
  if (node.isNull()) return;
  if (!node.isSequence()) {
    context.diagnostics.error(node.origin, path, "expected a list of processors, got " + node.kindName());
    return;
  }
  for (std::size_t i = 0; i < node.items.size(); ++i) {
    const Node& item = node.items[i];
    const std::string itemPath = path + "." + std::to_string(i);
    if (!item.isMap() || item.entries.empty()) {
      context.diagnostics.error(item.origin, itemPath,
                                "expected a processor such as `- add_host_metadata: ~`, got " + item.kindName());
      continue;
    }
    if (item.get("if")) {
      decodeIf(item, itemPath, context, out);
      continue;
    }
    if (item.entries.size() != 1) {
      context.diagnostics.error(item.origin, itemPath, "each list entry must hold exactly one processor");
      continue;
    }
    const Entry& processor = item.entries.front();
    const std::string processorPath = itemPath + "." + processor.key;
    if (std::find(kKnownProcessors.begin(), kKnownProcessors.end(), processor.key) == kKnownProcessors.end()) {
      std::string message = "unknown processor \"" + processor.key + "\"";
      const std::string suggestion = closestMatch(processor.key, kKnownProcessors);
      if (!suggestion.empty()) message += "; did you mean \"" + suggestion + "\"?";
      context.diagnostics.error(processor.keyOrigin, processorPath, message);
      continue;
    }
    static const std::vector<std::string> kImplemented{
        "add_fields",  "add_tags",          "drop_fields",        "include_fields", "rename",     "drop_event",
        "add_host_metadata", "add_cloud_metadata", "add_labels", "copy_fields", "urldecode", "decode_base64_field",
        "truncate_fields", "replace", "add_locale", "fingerprint",
        "add_observer_metadata", "add_process_metadata", "add_docker_metadata", "add_kubernetes_metadata"};
    if (const auto why = pointlessForFim(processor.key); !why.empty()) {
      context.diagnostics.warn(processor.keyOrigin, processorPath, "accepted, no effect: " + why);
      continue;
    }
    const auto& transform = transformProcessorNames();
    if (std::find(kImplemented.begin(), kImplemented.end(), processor.key) == kImplemented.end() &&
        std::find(transform.begin(), transform.end(), processor.key) == transform.end()) {
      context.diagnostics.warn(processor.keyOrigin, processorPath,
                               "processor accepted but not implemented, it has no effect");
      continue;
    }
    decodeProcessor(processor, processorPath, context, out);
  }
}

}  // namespace

void decodeCustomFields(MapReader& reader, std::vector<ProcessorConfig>& processors) {
  bool underRoot = false;
  reader.boolean("fields_under_root", underRoot);
  const Node* fields = reader.take("fields");
  if (!fields || fields->isNull()) return;
  if (!fields->isMap()) {
    reader.diagnostics().error(fields->origin, reader.keyPath("fields"),
                               "expected a map of field names to values, got " + describeValue(*fields));
    return;
  }
  ProcessorConfig config;
  config.name = "add_fields";
  config.origin = fields->origin;
  AddFieldsConfig& options = config.options.emplace<AddFieldsConfig>();
  options.target = underRoot ? "" : "fields";
  options.fields = *fields;
  processors.insert(processors.begin(), std::move(config));
}

void decodeProcessors(const Node& node, const std::string& path, Diagnostics& diagnostics,
                      std::vector<ProcessorConfig>& out, MetadataTargets metadata) {
  Context context{diagnostics, metadata};
  decodeList(node, path, context, out);
}

}  // namespace fim::config
