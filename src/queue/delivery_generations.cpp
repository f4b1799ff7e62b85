#include "queue/delivery_generations.h"

#include "core/binary_codec.h"

namespace fim::queue {

std::string encodeGenerations(const Generations& generations) {
  core::BinaryWriter w;
  w.u8(kGenerationsVersion);
  w.u32(static_cast<std::uint32_t>(generations.size()));
  for (const auto& [number, g] : generations) {
    w.u32(number);
    w.u64(g.firstSequence);
    w.str(g.settings->index);
    w.str(g.settings->type);
    w.str(g.settings->dataset);
    w.str(g.settings->ns);
  }
  return w.take();
}

core::Result<Generations> decodeGenerations(std::string_view bytes) {
  core::BinaryReader r(bytes);
  const std::uint8_t version = r.u8();
  if (r.ok() && version != kGenerationsVersion) {
    return core::failf(core::ErrorCode::Parse, "the queue's generations have version {}, this fimbeat reads version {}",
                       version, kGenerationsVersion);
  }
  Generations out;
  const std::uint32_t count = r.u32();
  for (std::uint32_t i = 0; i < count && r.ok(); ++i) {
    const std::uint32_t number = r.u32();
    Generation g;
    g.firstSequence = r.u64();
    events::DeliverySettings settings;
    settings.index = r.str();
    settings.type = r.str();
    settings.dataset = r.str();
    settings.ns = r.str();
    g.settings = std::make_shared<const events::DeliverySettings>(std::move(settings));
    out.emplace(number, std::move(g));
  }
  if (!r.ok() || !r.atEnd() || out.size() != count) {
    return core::fail(core::ErrorCode::Parse, "the queue's generations are truncated or malformed");
  }
  return out;
}

Generations stillNeeded(const Generations& generations, std::uint64_t acked) {
  Generations out;
  for (auto it = generations.begin(); it != generations.end(); ++it) {
    const auto next = std::next(it);
    if (next == generations.end() || next->second.firstSequence > acked + 1) out.insert(*it);
  }
  return out;
}

Generations withCurrent(Generations generations, const events::DeliverySettings& current, std::uint64_t nextSequence) {
  const auto settings = std::make_shared<const events::DeliverySettings>(current);
  if (generations.empty()) {
    generations.emplace(0, Generation{0, settings});
  } else if (!(*generations.rbegin()->second.settings == current)) {
    generations.emplace(generations.rbegin()->first + 1, Generation{nextSequence, settings});
  }
  return generations;
}

}  // namespace fim::queue
