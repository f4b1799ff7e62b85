// The script processor's `file`/`files`: resolved against path.config, globs expanded, each file
// checked like the config file and read once, at load time.

#include "config/script_files.h"

#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <variant>

#include <fmt/format.h>

#include "config/loader.h"

namespace fim::config {
namespace {

namespace fs = std::filesystem;

bool hasGlobMeta(const std::string& path) { return path.find_first_of("*?[\\") != std::string::npos; }

// True when `file` lies in (or is) a path some module watches: its content may be changed by
// whoever fimbeat watches, so it is never trusted without the ownership and mode checks.
bool inWatchedTree(const std::string& file, const Config& config) {
  const std::string normal = fs::path(file).lexically_normal().string();
  for (const auto& module : config.modules) {
    for (const auto& watched : module.paths) {
      std::string root = fs::path(watched).lexically_normal().string();
      while (root.size() > 1 && root.back() == '/') root.pop_back();
      if (normal == root || (normal.starts_with(root) && (root == "/" || normal[root.size()] == '/'))) return true;
    }
  }
  return false;
}

struct Reader {
  const Config& config;
  bool strictPerms;
  Diagnostics& diagnostics;

  // Appends one file to `script`; false after reporting what is wrong.
  bool readOne(const std::string& path, const Origin& origin, const std::string& keyPath, ScriptConfig& script) {
    const bool watched = inWatchedTree(path, config);
    // In a watched tree a symlink could send us anywhere: the file itself must be the script.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | (watched ? O_NOFOLLOW : 0));
    if (fd < 0) {
      const int error = errno;
      diagnostics.error(origin, keyPath,
                        error == ELOOP ? fmt::format("script file \"{}\" is a symlink inside a watched path; give the file itself", path)
                                       : fmt::format("cannot open script file \"{}\": {}", path, std::strerror(error)));
      return false;
    }
    struct stat st {};
    std::string problem;
    if (::fstat(fd, &st) != 0) {
      problem = fmt::format("cannot stat script file \"{}\": {}", path, std::strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
      problem = fmt::format("script file \"{}\" is not a regular file", path);
    } else if (strictPerms || watched) {
      const std::string why = watched && !strictPerms ? " (it lies in a watched path, so this is checked even with --strict.perms=false)" : "";
      if (auto ok = checkOwnershipAndPermissions(path, st, "script file"); !ok) problem = ok.error().message() + why;
    }
    std::string text;
    if (problem.empty()) {
      char buffer[65536];
      for (;;) {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) problem = fmt::format("cannot read script file \"{}\": {}", path, std::strerror(errno));
        if (n <= 0) break;
        text.append(buffer, static_cast<std::size_t>(n));
      }
    }
    ::close(fd);
    if (!problem.empty()) {
      diagnostics.error(origin, keyPath, problem);
      return false;
    }
    if (!script.code.empty() && script.code.back() != '\n') script.code += '\n';
    const int firstLine = static_cast<int>(std::count(script.code.begin(), script.code.end(), '\n')) + 1;
    script.code += text;
    script.parts.push_back({path, firstLine, static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1});
    return true;
  }

  void load(ScriptConfig& script, const std::string& keyPath) {
    if (script.files.empty()) return;
    std::vector<std::string> sources;
    for (const auto& written : script.files) {
      std::string path = written;
      if (!fs::path(path).is_absolute()) path = (fs::path(config.paths.config) / path).string();
      if (!hasGlobMeta(path)) {
        sources.push_back(path);
        continue;
      }
      glob_t found{};
      const int rc = ::glob(path.c_str(), GLOB_ERR, nullptr, &found);
      for (std::size_t i = 0; rc == 0 && i < found.gl_pathc; ++i) sources.emplace_back(found.gl_pathv[i]);
      ::globfree(&found);
    }
    if (sources.empty()) {
      diagnostics.error(script.origin, keyPath, fmt::format("no sources were found in {}", fmt::join(script.files, ", ")));
      return;
    }
    for (const auto& path : sources) {
      if (!readOne(path, script.origin, keyPath, script)) return;
    }
  }

  void walk(std::vector<ProcessorConfig>& processors) {
    for (auto& p : processors) {
      if (auto* script = std::get_if<ScriptConfig>(&p.options)) load(*script, p.name);
      if (auto* branches = std::get_if<IfConfig>(&p.options)) {
        walk(branches->then);
        walk(branches->otherwise);
      }
    }
  }
};

}  // namespace

void loadScriptFiles(Config& config, bool strictPerms, Diagnostics& diagnostics) {
  Reader reader{config, strictPerms, diagnostics};
  reader.walk(config.processors);
  for (auto& module : config.modules) reader.walk(module.processors);
}

}  // namespace fim::config
