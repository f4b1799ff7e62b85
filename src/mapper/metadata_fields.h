#pragma once
// agent.*, host.*, cloud.* from the metadata snapshot and process.*, user.*, group.*, container.*
// from the process that made a change, as rapidjson Values. Empty strings and absent values are
// left out; strings reference the inputs, which must outlive the values.

#include "events/metadata.h"
#include "mapper/json_value.h"

namespace fim::mapper {

Value agentObject(const events::AgentInfo& agent, Allocator& a);
Value hostObject(const events::HostInfo& host, Allocator& a);
Value cloudObject(const events::CloudInfo& cloud, Allocator& a);

// The top-level objects describing who changed a file.
struct ProcessObjects {
  Value process{rapidjson::kObjectType};
  Value user{rapidjson::kObjectType};
  Value group{rapidjson::kObjectType};
  Value container{rapidjson::kObjectType};
};
// `hostId` (host.id, the machine id) makes process.entity_id with the pid and the start time.
ProcessObjects processObjects(const events::ProcessInfo& process, std::string_view hostId, Allocator& a);

}  // namespace fim::mapper
