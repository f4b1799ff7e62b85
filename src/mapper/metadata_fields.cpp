#include "mapper/metadata_fields.h"

#include <array>

#include "core/entity_id.h"
#include "core/time_format.h"

namespace fim::mapper {
namespace {

Value stringArray(const std::vector<std::string>& items, Allocator& a) {
  Value array(rapidjson::kArrayType);
  array.Reserve(static_cast<rapidjson::SizeType>(items.size()), a);
  for (const auto& s : items) array.PushBack(refString(s), a);
  return array;
}

// {key: text} as a one-member object, or an empty one when text is empty (cloud.instance.id, ...).
void addNested(Value& parent, std::string_view object, std::string_view key, std::string_view text, Allocator& a) {
  if (text.empty()) return;
  if (auto it = parent.FindMember(rapidjson::StringRef(object.data(), static_cast<rapidjson::SizeType>(object.size())));
      it != parent.MemberEnd()) {
    addRef(it->value, key, text, a);
    return;
  }
  Value child(rapidjson::kObjectType);
  addRef(child, key, text, a);
  add(parent, object, std::move(child), a);
}

}  // namespace

Value agentObject(const events::AgentInfo& agent, Allocator& a) {
  Value out(rapidjson::kObjectType);
  addRefIfSet(out, "ephemeral_id", agent.ephemeralId, a);
  addRefIfSet(out, "id", agent.id, a);
  addRefIfSet(out, "name", agent.name, a);
  addRefIfSet(out, "type", agent.type, a);
  addRefIfSet(out, "version", agent.version, a);
  return out;
}

Value hostObject(const events::HostInfo& host, Allocator& a) {
  Value out(rapidjson::kObjectType);
  addRefIfSet(out, "architecture", host.architecture, a);
  if (host.containerized) add(out, "containerized", Value(*host.containerized), a);
  addRefIfSet(out, "hostname", host.hostname, a);
  addRefIfSet(out, "id", host.id, a);
  if (!host.ip.empty()) add(out, "ip", stringArray(host.ip, a), a);
  if (!host.mac.empty()) add(out, "mac", stringArray(host.mac, a), a);
  addRefIfSet(out, "name", host.name, a);
  Value os(rapidjson::kObjectType);
  addRefIfSet(os, "codename", host.os.codename, a);
  addRefIfSet(os, "family", host.os.family, a);
  addRefIfSet(os, "kernel", host.os.kernel, a);
  addRefIfSet(os, "name", host.os.name, a);
  addRefIfSet(os, "platform", host.os.platform, a);
  addRefIfSet(os, "type", host.os.type, a);
  addRefIfSet(os, "version", host.os.version, a);
  addIfNotEmpty(out, "os", std::move(os), a);
  return out;
}

Value cloudObject(const events::CloudInfo& cloud, Allocator& a) {
  Value out(rapidjson::kObjectType);
  addNested(out, "account", "id", cloud.accountId, a);
  addRefIfSet(out, "availability_zone", cloud.availabilityZone, a);
  addNested(out, "instance", "id", cloud.instanceId, a);
  addNested(out, "instance", "name", cloud.instanceName, a);
  addNested(out, "machine", "type", cloud.machineType, a);
  addNested(out, "project", "id", cloud.projectId, a);
  addRefIfSet(out, "provider", cloud.provider, a);
  addRefIfSet(out, "region", cloud.region, a);
  addNested(out, "service", "name", cloud.serviceName, a);
  return out;
}

ProcessObjects processObjects(const events::ProcessInfo& p, std::string_view hostId, Allocator& a) {
  ProcessObjects out;
  if (!p.args.empty()) {
    add(out.process, "args", stringArray(p.args, a), a);
    add(out.process, "args_count", Value(static_cast<std::uint64_t>(p.args.size())), a);
  }
  if (p.startTime) {
    if (auto id = core::processEntityId(hostId, p.pid, *p.startTime); !id.empty()) add(out.process, "entity_id", copyString(id, a), a);
  }
  addRefIfSet(out.process, "executable", p.executable, a);
  addRefIfSet(out.process, "name", p.name, a);
  if (p.parentPid) {
    Value parent(rapidjson::kObjectType);
    add(parent, "pid", Value(*p.parentPid), a);
    add(out.process, "parent", std::move(parent), a);
  }
  add(out.process, "pid", Value(p.pid), a);
  if (p.startTime) {
    std::array<char, 32> buffer;
    add(out.process, "start", copyString(core::formatTimestamp(*p.startTime, buffer), a), a);
  }
  addRefIfSet(out.process, "working_directory", p.workingDirectory, a);
  if (p.userId) add(out.user, "id", decimalString(*p.userId, a), a);
  addRefIfSet(out.user, "name", p.userName, a);
  if (p.groupId) add(out.group, "id", decimalString(*p.groupId, a), a);
  addRefIfSet(out.group, "name", p.groupName, a);
  // Also under process.*, where Auditbeat's ebpf/kprobes backends and the fim package put them.
  if (!out.user.ObjectEmpty()) add(out.process, "user", Value(out.user, a), a);
  if (!out.group.ObjectEmpty()) add(out.process, "group", Value(out.group, a), a);
  addRefIfSet(out.container, "id", p.containerId, a);
  addRefIfSet(out.container, "runtime", p.containerRuntime, a);
  return out;
}

}  // namespace fim::mapper
