#include "management/fleet/policy_translator.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace fim::management::fleet {
namespace {

constexpr const char* kFimInput = "audit/file_integrity";
// Stream keys Fleet and the fim package put beside the module's options.
const std::set<std::string> kInjectedStreamKeys{"id", "type", "data_stream", "index", "publisher_pipeline",
                                                "publisher_pipeline.disable_host", "condition"};
// output.elasticsearch options carried over from a Fleet output; the rest is warned about.
const std::set<std::string> kOutputKeys{"hosts", "api_key", "username", "password", "ssl", "proxy_url", "proxy_disable",
                                        "headers", "compression_level", "bulk_max_size", "worker", "timeout", "backoff",
                                        "path", "protocol", "idle_connection_timeout"};

bool isModuleOrOutputKey(const std::string& key) {
  for (const char* prefix : {"output", "fimbeat", "auditbeat"}) {
    const std::string p(prefix);
    if (key == p || key.rfind(p + ".", 0) == 0) return true;
  }
  return false;
}

// Drops `null` values from a map (the fim template renders an empty list as `key:` → null).
YAML::Node withoutNulls(const YAML::Node& node) {
  if (!node.IsMap()) return node;
  YAML::Node out(YAML::NodeType::Map);
  for (const auto& kv : node) {
    if (kv.second.IsNull()) continue;
    out[kv.first.as<std::string>()] = kv.second;
  }
  return out;
}

std::string scalar(const YAML::Node& node, const std::string& fallback = "") {
  return node && node.IsScalar() ? node.as<std::string>() : fallback;
}

YAML::Node addFields(const std::string& target, const YAML::Node& fields) {
  YAML::Node processor;
  processor["add_fields"]["target"] = target;
  processor["add_fields"]["fields"] = fields;
  return processor;
}

YAML::Node moduleFor(const YAML::Node& input, const YAML::Node& stream) {
  YAML::Node module(YAML::NodeType::Map);
  module["module"] = "file_integrity";
  if (stream["id"]) module["id"] = stream["id"];
  YAML::Node processors(YAML::NodeType::Sequence);
  if (input["processors"] && input["processors"].IsSequence()) {
    for (const auto& p : input["processors"]) processors.push_back(p);
  }
  for (const auto& kv : withoutNulls(stream)) {
    const std::string key = kv.first.as<std::string>();
    if (kInjectedStreamKeys.count(key)) continue;
    if (key == "processors" && kv.second.IsSequence()) {
      // fimbeat always adds host.* (add_host_metadata is its enricher); the rest runs as given.
      for (const auto& p : kv.second) {
        if (!(p.IsMap() && p["add_host_metadata"])) processors.push_back(p);
      }
      continue;
    }
    module[key] = kv.second;
  }
  if (processors.size() > 0) module["processors"] = processors;
  return module;
}

core::Result<YAML::Node> outputFor(const YAML::Node& policy, const std::string& name, std::vector<std::string>& warnings) {
  const YAML::Node output = policy["outputs"] ? policy["outputs"][name] : YAML::Node();
  if (!output || !output.IsMap()) {
    return core::failf(core::ErrorCode::InvalidArgument, "the fim input uses output \"{}\", which the policy does not define", name);
  }
  const std::string type = scalar(output["type"]);
  if (type != "elasticsearch") {
    return core::failf(core::ErrorCode::InvalidArgument,
                       "output \"{}\" is of type \"{}\": fimbeat ships only to Elasticsearch", name, type);
  }
  YAML::Node es(YAML::NodeType::Map);
  for (const auto& kv : withoutNulls(output)) {
    const std::string key = kv.first.as<std::string>();
    if (key == "type") continue;
    if (!kOutputKeys.count(key)) {
      warnings.push_back(fmt::format("output \"{}\": option \"{}\" is not used by fimbeat", name, key));
      continue;
    }
    es[key] = kv.second;
  }
  return es;
}

YAML::Node localBase(const std::string& localYaml) {
  YAML::Node local = localYaml.empty() ? YAML::Node(YAML::NodeType::Map) : YAML::Load(localYaml);
  YAML::Node base(YAML::NodeType::Map);
  if (!local.IsMap()) return base;
  for (const auto& kv : local) {
    const std::string key = kv.first.as<std::string>();
    if (isModuleOrOutputKey(key) || key == "data_stream" || key.rfind("data_stream.", 0) == 0) continue;
    base[key] = kv.second;
  }
  return base;
}

}  // namespace

std::vector<std::string> ignoredLocalSections(const std::string& localYaml) {
  std::vector<std::string> out;
  try {
    YAML::Node local = YAML::Load(localYaml);
    if (!local.IsMap()) return out;
    for (const auto& kv : local) {
      const std::string key = kv.first.as<std::string>();
      if (isModuleOrOutputKey(key)) out.push_back(key);
    }
  } catch (const YAML::Exception&) {
  }
  return out;
}

core::Result<Translation> translatePolicy(const std::string& policyJson, const std::string& localYaml, const AgentInfo& agent) {
  YAML::Node policy;
  try {
    policy = YAML::Load(policyJson);  // JSON is YAML
  } catch (const YAML::Exception& e) {
    return core::failf(core::ErrorCode::Parse, "the policy is not valid JSON: {}", e.msg);
  }
  if (!policy.IsMap()) return core::fail(core::ErrorCode::Parse, "the policy is not a JSON object");
  Translation out;
  out.policyId = scalar(policy["id"]);
  out.revision = policy["revision"] ? policy["revision"].as<std::int64_t>(0) : 0;
  if (policy["agent"] && policy["agent"]["logging"]) out.logLevel = scalar(policy["agent"]["logging"]["level"]);
  if (policy["agent"] && policy["agent"]["monitoring"] && policy["agent"]["monitoring"]["enabled"] &&
      policy["agent"]["monitoring"]["enabled"].as<bool>(false)) {
    out.warnings.push_back("agent.monitoring is enabled in the policy: fimbeat does not ship its own logs or metrics");
  }
  YAML::Node modules(YAML::NodeType::Sequence);
  std::set<std::string> namespaces, outputs, datasets;
  if (policy["inputs"] && policy["inputs"].IsSequence()) {
    for (const auto& input : policy["inputs"]) {
      const std::string type = scalar(input["type"]);
      const std::string id = scalar(input["id"], type);
      if (type != kFimInput) {
        out.unsupportedInputs.push_back(fmt::format("{} ({})", type, id));
        continue;
      }
      out.inputIds.push_back(id);
      outputs.insert(scalar(input["use_output"], "default"));
      const std::string ns = input["data_stream"] ? scalar(input["data_stream"]["namespace"], "default") : "default";
      namespaces.insert(ns);
      if (!input["streams"] || !input["streams"].IsSequence()) continue;
      for (const auto& stream : input["streams"]) {
        if (stream["data_stream"]) {
          datasets.insert(scalar(stream["data_stream"]["type"], "logs") + "|" + scalar(stream["data_stream"]["dataset"], "fim.event"));
        }
        modules.push_back(moduleFor(input, stream));
      }
    }
  }
  if (outputs.size() > 1) {
    return core::fail(core::ErrorCode::InvalidArgument, "the fim inputs use several outputs; fimbeat has one output");
  }
  if (namespaces.size() > 1 || datasets.size() > 1) {
    return core::fail(core::ErrorCode::InvalidArgument,
                      "the fim inputs write to several data streams (namespaces or datasets differ); fimbeat writes to one");
  }
  YAML::Node config = localBase(localYaml);
  config["fimbeat"]["modules"] = modules;
  if (!outputs.empty()) {
    out.outputName = *outputs.begin();
    auto es = outputFor(policy, out.outputName, out.warnings);
    if (!es) return std::unexpected(es.error());
    config["output"]["elasticsearch"] = *es;
    const std::string ns = *namespaces.begin();
    std::string type = "logs", dataset = "fim.event";
    if (!datasets.empty()) {
      const auto& pair = *datasets.begin();
      type = pair.substr(0, pair.find('|'));
      dataset = pair.substr(pair.find('|') + 1);
    }
    config["data_stream"]["type"] = type;
    config["data_stream"]["dataset"] = dataset;
    config["data_stream"]["namespace"] = ns;
    // The fim package installs the templates; the output's key may only write documents.
    config["setup"]["template"]["enabled"] = false;
    config["setup"]["ilm"]["enabled"] = false;
    YAML::Node processors = config["processors"] && config["processors"].IsSequence() ? config["processors"] : YAML::Node(YAML::NodeType::Sequence);
    YAML::Node elastic(YAML::NodeType::Map);
    elastic["id"] = agent.id;
    elastic["version"] = agent.version;
    elastic["snapshot"] = false;
    processors.push_back(addFields("elastic_agent", elastic));
    config["processors"] = processors;
  }
  YAML::Emitter emitter;
  emitter << config;
  out.yaml = std::string(emitter.c_str()) + "\n";
  return out;
}

}  // namespace fim::management::fleet
