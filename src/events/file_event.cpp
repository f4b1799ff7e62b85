#include "events/file_event.h"

namespace fim::events {

const char* toString(Action action) {
  switch (action) {
    case Action::Created: return "created";
    case Action::Updated: return "updated";
    case Action::Deleted: return "deleted";
    case Action::AttributesModified: return "attributes_modified";
    case Action::Moved: return "moved";
    case Action::InitialScan: return "initial_scan";
    case Action::ConfigChange: return "config_change";
  }
  return "unknown";
}

const char* eventType(Action action) {
  switch (action) {
    case Action::Created: return "creation";
    case Action::Deleted: return "deletion";
    case Action::InitialScan: return "info";
    case Action::Updated:
    case Action::AttributesModified:
    case Action::Moved:
    case Action::ConfigChange: return "change";
  }
  return "info";
}

}  // namespace fim::events
