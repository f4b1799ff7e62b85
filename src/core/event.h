#pragma once
// The value types that flow down the pipeline: FileEvent (watcher) → EnrichedEvent (enricher).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"

namespace fim::core {

enum class FileType { File, Dir, Symlink, CharDevice, BlockDevice, Fifo, Socket, Unknown };

// ECS file.type values.
const char* toString(FileType type);

enum class Action { Created, Updated, Deleted, AttributesModified, Moved, InitialScan, ConfigChange };

const char* toString(Action action);   // event.action: "created", "initial_scan", ...
const char* eventType(Action action);  // event.type: "creation", "change", "deletion", "info"

struct FileInfo {
  std::string path;  // raw bytes as the kernel gave them; not necessarily UTF-8
  FileType type = FileType::Unknown;
  std::optional<std::uint64_t> size;  // regular files only
};

struct FileEvent {
  TimePoint timestamp;
  std::vector<Action> actions;
  FileInfo file;
  std::optional<std::string> errorMessage;
  std::size_t module = 0;  // index of the configured module that reported it
};

struct EnrichedEvent {
  FileEvent event;
  std::string hostName;
  std::vector<std::string> tags;
};

}  // namespace fim::core
