#pragma once
// The events that flow from the baseline to the outputs: FileEvent (a change, as the durable
// queue keeps it) → EnrichedEvent (with agent, host and cloud metadata) → EncodedEvent (its
// ECS document).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "events/approval.h"
#include "events/delivery_settings.h"
#include "events/elf_info.h"
#include "events/file_info.h"
#include "events/metadata.h"
#include "events/package_verdict.h"

namespace fim::events {

enum class Action { Created, Updated, Deleted, AttributesModified, Moved, InitialScan, ConfigChange };

const char* toString(Action action);   // event.action: "created", "initial_scan", ...
const char* eventType(Action action);  // event.type: "creation", "change", "deletion", "info"

struct FileEvent {
  core::TimePoint timestamp;                   // when the baseline recorded the change (@timestamp)
  core::TimePoint created;                     // when fimbeat first read it (event.created): the
                                               //   kernel event of a live change, else the diff
  bool live = false;                           // seen by a realtime backend, not found by a scan
  std::vector<Action> actions;
  FileInfo file;
  std::optional<std::string> errorMessage;
  std::optional<ElfInfo> elf;  // file.elf.*: what the module's file_parsers found (not in the baseline)
  std::size_t module = 0;  // index of the configured module that reported it
  std::vector<std::string> changedAttributes;  // "hash.sha256", "mode", ...
  std::optional<FileInfo> previous;            // the baseline's view before this change
  std::optional<std::string> previousPath;     // moved: where the file was before
  std::optional<ProcessInfo> process;          // who changed it, when the backend knows
  std::optional<PackageVerdict> package;       // the installed package that owns it, when verified
  std::optional<std::string> diff;             // file_integrity.diff: unified diff of an updated text file
  bool baselineRebuilt = false;                // found by the scan that rebuilt a damaged baseline
  std::optional<ApprovalMark> approval;        // made under an approved path within its window
  std::uint64_t sequence = 0;                  // position in the durable queue (0: not queued)
  std::uint32_t generation = 0;                // the configuration generation that produced it
  // Its generation's delivery settings, attached by the queue when it is read (null: none kept;
  // the mapper and the output then use their own configuration).
  std::shared_ptr<const DeliverySettings> delivery;
};

struct EnrichedEvent {
  FileEvent event;
  std::shared_ptr<const Metadata> metadata;  // agent, host, cloud: shared by many events
  std::vector<std::string> tags;
};

// One finished document on its way to an output.
struct EncodedEvent {
  std::uint64_t sequence = 0;  // the queue position to acknowledge once delivered
  std::string id;              // deterministic _id: a redelivery is recognised as a duplicate
  std::string json;            // the ECS document, no trailing newline
  std::string index;           // Elasticsearch: the index from a format string; "" for the output's target
  std::shared_ptr<const DeliverySettings> delivery;  // its generation's target (null: the output's own)
};

}  // namespace fim::events
