#pragma once
// DeliverySettings: where the output puts an event and the data stream its document names. The
// durable queue keeps them per configuration generation (queue/delivery_generations.h), so an
// event queued under an older configuration (a Fleet policy since changed, a namespace edited
// in fimbeat.yml) is delivered with the settings it was produced under.

#include <string>

namespace fim::events {

struct DeliverySettings {
  std::string index;    // the data stream or index the output writes to
  std::string type;     // data_stream.type, .dataset and .namespace of the document
  std::string dataset;
  std::string ns;

  bool operator==(const DeliverySettings&) const = default;
};

}  // namespace fim::events
