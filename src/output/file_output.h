#pragma once
// FileOutput: NDJSON files with size rotation and pruning, like Beats 8's output.file.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "config/output_config.h"
#include "core/clock.h"
#include "core/result.h"
#include "output/output.h"

namespace fim::output {

// Files are <filename>-<YYYYMMDD>.ndjson for the first file of a UTC date, then
// <filename>-<YYYYMMDD>-1.ndjson, -2, ... Only files matching that pattern are ever pruned.
class FileOutput final : public Output {
 public:
  // Creates the directory (0750) if needed, opens the first file and prunes old ones.
  [[nodiscard]] static core::Result<std::unique_ptr<FileOutput>> open(const config::FileOutputConfig& config,
                                                                      const core::Clock& clock);

  ~FileOutput() override;
  FileOutput(const FileOutput&) = delete;
  FileOutput& operator=(const FileOutput&) = delete;

  // One write(2) per batch unless the batch crosses the size limit. On error, documents
  // before the failing point may already be on disk: a retry can duplicate them.
  [[nodiscard]] core::Result<WriteOutcome> write(std::span<const events::EncodedEvent> events, std::stop_token stop) override;
  [[nodiscard]] core::Status flush() override;
  [[nodiscard]] core::Status close() override;
  std::string describe() const override;

  std::filesystem::path currentFile() const { return currentFile_; }

 private:
  FileOutput(const config::FileOutputConfig& config, const core::Clock& clock);

  [[nodiscard]] core::Status openNewFile();
  [[nodiscard]] core::Status openExistingFile(const std::filesystem::path& file);
  [[nodiscard]] core::Status rotate();
  [[nodiscard]] core::Status prune() const;
  [[nodiscard]] core::Status writeChunk(const std::string& chunk);
  [[nodiscard]] core::Status closeCurrent(bool sync);

  config::FileOutputConfig config_;
  const core::Clock& clock_;
  std::filesystem::path directory_;
  std::filesystem::path currentFile_;
  std::uint64_t rotateBytes_;
  std::uint64_t currentSize_ = 0;
  int fd_ = -1;
  bool directoryDirty_ = false;  // a file was created since the last flush: fsync the directory too
};

}  // namespace fim::output
