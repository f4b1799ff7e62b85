#pragma once
// Diagnostics: every config problem found in one pass, each with its key path and line.

#include <string>
#include <string_view>
#include <vector>

#include "config/node.h"

namespace fim::config {

struct Diagnostic {
  Origin origin;
  std::string keyPath;
  std::string message;

  std::string describe() const;  // "fimbeat.yml:12: output.file.path: message"
};

class Diagnostics {
 public:
  void error(const Origin& origin, std::string keyPath, std::string message);
  void warn(const Origin& origin, std::string keyPath, std::string message);

  bool hasErrors() const { return !errors_.empty(); }
  const std::vector<Diagnostic>& errors() const { return errors_; }
  const std::vector<Diagnostic>& warnings() const { return warnings_; }
  std::string errorReport() const;  // one line per error

 private:
  std::vector<Diagnostic> errors_;
  std::vector<Diagnostic> warnings_;
};

// The closest candidate within a small edit distance, or "" when none is close.
std::string closestMatch(std::string_view word, const std::vector<std::string>& candidates);

std::string joinPath(std::string_view parent, std::string_view key);

}  // namespace fim::config
