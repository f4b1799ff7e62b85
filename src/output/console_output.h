#pragma once
// ConsoleOutput: documents to a stdio stream (stdout in production), compact or pretty-printed.

#include <cstdio>
#include <span>
#include <string>

#include "config/output_config.h"
#include "core/result.h"
#include "output/output.h"

namespace fim::output {

class ConsoleOutput final : public Output {
 public:
  // Does not own `stream`; it must outlive this output.
  ConsoleOutput(const config::ConsoleOutputConfig& config, std::FILE* stream);

  // pretty=false: each document as-is plus '\n'. pretty=true: re-indented with 4 spaces.
  [[nodiscard]] core::Result<WriteOutcome> write(std::span<const events::EncodedEvent> events, std::stop_token stop) override;
  [[nodiscard]] core::Status flush() override;
  [[nodiscard]] core::Status close() override { return flush(); }
  std::string describe() const override;

 private:
  void appendPretty(const std::string& doc, std::string& out) const;

  config::ConsoleOutputConfig config_;
  std::FILE* stream_;
};

}  // namespace fim::output
