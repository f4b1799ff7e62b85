#include "config/loader.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "config/cloud_id.h"
#include "config/decode.h"
#include "config/script_files.h"

namespace fim::config {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRedacted = "[REDACTED]";

std::string absolute(const std::string& path) {
  if (path.empty()) return path;
  return fs::absolute(path).lexically_normal().string();
}

core::Result<Node> parseYaml(const std::string& text, const std::string& sourceName) {
  try {
    YAML::Node yaml = YAML::Load(text);
    auto parsed = Node::fromYaml(yaml, sourceName);
    if (!parsed) return std::unexpected(parsed.error());
    Node root = std::move(*parsed);
    if (root.isNull()) return Node::map(Origin{sourceName, 1});
    if (!root.isMap()) {
      return core::failf(core::ErrorCode::Parse, "{}: the config must be a map of settings, got {}",
                         root.origin.describe(), root.kindName());
    }
    return root;
  } catch (const YAML::Exception& e) {
    return core::failf(core::ErrorCode::Parse, "{}:{}:{}: invalid YAML: {}", sourceName, e.mark.line + 1,
                       e.mark.column + 1, e.msg);
  }
}

void restoreReferences(Node& node, const std::vector<std::string>& references, const Origin& origin) {
  node.origin = origin;
  for (std::size_t r = references.size(); r-- > 0;) {  // fimbeatref1x before fimbeatref10x is safe: marks end in x
    const std::string mark = "fimbeatref" + std::to_string(r) + "x";
    for (std::size_t at; (at = node.scalar.find(mark)) != std::string::npos;) node.scalar.replace(at, mark.size(), references[r]);
  }
  for (auto& item : node.items) restoreReferences(item, references, origin);
  for (auto& e : node.entries) restoreReferences(e.value, references, origin);
}

// References are set aside while the YAML is parsed, so `-E tags=[${TEAM}]` is a list holding
// "${TEAM}"; a value that is not valid YAML is taken as one plain string, as beats does.
Node parseOverrideValue(const std::string& text, const Origin& origin) {
  std::vector<std::string> references;
  std::string masked;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t open = text.find("${", i);
    if (open == std::string::npos) {
      masked += text.substr(i);
      break;
    }
    int depth = 0;
    std::size_t close = open;
    for (; close < text.size(); ++close) {
      if (text.compare(close, 2, "${") == 0) ++depth, ++close;
      else if (text[close] == '}' && --depth == 0) break;
    }
    if (close >= text.size()) {
      masked += text.substr(i);
      break;
    }
    masked += text.substr(i, open - i) + "fimbeatref" + std::to_string(references.size()) + "x";
    references.push_back(text.substr(open, close + 1 - open));
    i = close + 1;
  }
  Node value;
  try {
    auto parsed = Node::fromYaml(YAML::Load(masked), origin.source);
    if (!parsed) return Node::scalarValue(text, origin);  // aliases beyond the cap: the text as it is
    value = std::move(*parsed);
  } catch (const YAML::Exception&) {
    return Node::scalarValue(text, origin);
  }
  restoreReferences(value, references, origin);
  return value;
}

void applyOverrides(Node& root, const std::vector<std::string>& overrides, Diagnostics& diagnostics) {
  for (const auto& text : overrides) {
    const std::size_t eq = text.find('=');
    const Origin origin{"-E " + text.substr(0, eq), 0};
    if (eq == std::string::npos || eq == 0) {
      diagnostics.error(Origin{"-E", 0}, text, "an override must look like -E key=value");
      continue;
    }
    const std::string key = text.substr(0, eq);
    Node value = parseOverrideValue(text.substr(eq + 1), origin);
    root.mergeEntry(key, std::move(value), origin);
  }
}

// path.* settings: flags win over the file, the file over defaults derived from path.home.
PathsConfig resolvePaths(Node& root, const LoadOptions& options, Diagnostics& diagnostics) {
  const auto fromTree = [&](const char* key) -> std::optional<std::string> {
    const Node* node = root.find(std::string("path.") + key);
    if (!node || !node->isScalar()) return std::nullopt;
    auto value = expandValue(node->scalar, options.environment);
    if (!value) {
      diagnostics.error(node->origin, std::string("path.") + key, value.error().message());
      return std::nullopt;
    }
    return *value;
  };
  PathsConfig paths;
  paths.home = absolute(options.pathHome.value_or(fromTree("home").value_or(options.defaultHome)));
  paths.config = absolute(options.pathConfig.value_or(fromTree("config").value_or(paths.home)));
  paths.data = absolute(options.pathData.value_or(fromTree("data").value_or(paths.home + "/data")));
  paths.logs = absolute(options.pathLogs.value_or(fromTree("logs").value_or(paths.home + "/logs")));
  const Origin resolved{"path", 0};
  root.set("path.home", Node::scalarValue(paths.home, resolved));
  root.set("path.config", Node::scalarValue(paths.config, resolved));
  root.set("path.data", Node::scalarValue(paths.data, resolved));
  root.set("path.logs", Node::scalarValue(paths.logs, resolved));
  return paths;
}

bool isSecretKey(std::string key) {
  for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const char* secret : {"password", "passwd", "api_key", "api-key", "apikey", "passphrase", "token", "secret",
                             "auth", "cookie", "credential"}) {
    if (key.find(secret) != std::string::npos) return true;
  }
  return false;
}

// https://user:secret@host → https://user:[REDACTED]@host
std::string redactUrl(const std::string& value) {
  const std::size_t scheme = value.find("://");
  if (scheme == std::string::npos) return value;
  const std::size_t hostStart = scheme + 3;
  const std::size_t at = value.find('@', hostStart);
  const std::size_t slash = value.find('/', hostStart);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return value;
  const std::size_t colon = value.find(':', hostStart);
  if (colon == std::string::npos || colon > at) return value;
  return value.substr(0, colon + 1) + kRedacted + value.substr(at);
}

void redact(Node& node) {
  if (node.isScalar()) node.scalar = node.secret ? kRedacted : redactUrl(node.scalar);
  if (node.isSequence()) {
    for (auto& item : node.items) redact(item);
  }
  if (!node.isMap()) return;
  for (auto& e : node.entries) {
    if (e.value.secret || (isSecretKey(e.key) && !e.value.isNull())) {
      e.value = Node::scalarValue(kRedacted, e.value.origin);
    } else {
      redact(e.value);
    }
  }
}

}  // namespace

core::Status checkOwnershipAndPermissions(const std::string& file) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) return std::unexpected(core::errnoError("config file " + file, errno));
  return checkOwnershipAndPermissions(file, st, "config file");
}

core::Status checkOwnershipAndPermissions(const std::string& file, const struct stat& st, std::string_view what) {
  const uid_t me = ::geteuid();
  if (st.st_uid != 0 && st.st_uid != me) {
    return core::failf(core::ErrorCode::PermissionDenied,
                       "{} \"{}\" must be owned by root or by the user running fimbeat (uid {}), but is "
                       "owned by uid {}: run `chown {} {}`, or start with --strict.perms=false",
                       what, file, me, st.st_uid, me, file);
  }
  if (st.st_mode & (S_IWGRP | S_IWOTH)) {
    return core::failf(core::ErrorCode::PermissionDenied,
                       "{} \"{}\" can only be writable by its owner, but its mode is {:04o}: run "
                       "`chmod go-w {}`, or start with --strict.perms=false",
                       what, file, st.st_mode & 07777, file);
  }
  return {};
}

core::Result<Loaded> loadText(const std::string& yaml, const std::string& sourceName, const LoadOptions& options) {
  auto parsed = parseYaml(yaml, sourceName);
  if (!parsed) return std::unexpected(parsed.error());
  Node root = std::move(*parsed);
  Diagnostics diagnostics;
  applyOverrides(root, options.overrides, diagnostics);
  Config config;
  config.configFile = sourceName;
  config.paths = resolvePaths(root, options, diagnostics);
  Lookup keystore;
  if (options.keystore) {
    if (auto opened = options.keystore(config.paths.data)) {
      keystore = std::move(*opened);
    } else {
      diagnostics.error(Origin{config.paths.data + "/fimbeat.keystore", 0}, "keystore", opened.error().message());
    }
  }
  expandTree(root, keystore, options.environment, diagnostics);
  if (!diagnostics.hasErrors()) applyCloudSettings(root, diagnostics);
  if (!diagnostics.hasErrors()) decodeTopLevel(root, config, diagnostics, options.requireModules);
  if (!diagnostics.hasErrors()) loadScriptFiles(config, options.strictPerms, diagnostics);
  if (diagnostics.hasErrors()) {
    return core::fail(core::ErrorCode::InvalidArgument, diagnostics.errorReport());
  }
  config.tree = std::move(root);
  return Loaded{std::move(config), diagnostics.warnings()};
}

namespace {

// As Beats: -c is relative to path.config, which defaults to path.home (the binary's directory).
std::string configFileOf(const LoadOptions& options) {
  const std::string home = absolute(options.pathHome.value_or(options.defaultHome));
  std::string file = options.configFile.empty() ? std::string("fimbeat.yml") : options.configFile;
  if (!fs::path(file).is_absolute()) file = (fs::path(options.pathConfig.value_or(home)) / file).string();
  return file;
}

}  // namespace

core::Result<PathsConfig> loadPaths(const LoadOptions& options) {
  Node root = Node::map(Origin{"", 0});
  std::ifstream in(configFileOf(options), std::ios::binary);
  if (in) {
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = parseYaml(text.str(), configFileOf(options));
    if (!parsed) return std::unexpected(parsed.error());
    root = std::move(*parsed);
  }
  Diagnostics diagnostics;
  applyOverrides(root, options.overrides, diagnostics);
  PathsConfig paths = resolvePaths(root, options, diagnostics);
  if (diagnostics.hasErrors()) return core::fail(core::ErrorCode::InvalidArgument, diagnostics.errorReport());
  return paths;
}

core::Result<Loaded> load(const LoadOptions& options) {
  LoadOptions resolved = options;
  const std::string file = configFileOf(options);
  if (options.strictPerms) {
    if (auto ok = checkOwnershipAndPermissions(file); !ok) return std::unexpected(ok.error());
  }
  std::error_code ec;
  if (fs::is_directory(file, ec)) {
    return core::failf(core::ErrorCode::InvalidArgument, "{} is a directory, not a config file (give the file with -c FILE)",
                       file);
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return std::unexpected(core::errnoError("cannot read config file " + file + " (give another with -c FILE)", errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  auto loaded = loadText(text.str(), file, resolved);
  if (loaded) loaded->config.configFile = absolute(file);
  return loaded;
}

std::string exportYaml(const Config& config) {
  Node tree = config.tree;
  redact(tree);
  YAML::Emitter out;
  out << tree.toYaml();
  return std::string(out.c_str()) + "\n";
}

}  // namespace fim::config
