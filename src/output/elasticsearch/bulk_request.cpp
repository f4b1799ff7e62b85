#include "output/elasticsearch/bulk_request.h"

#include <zlib.h>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace fim::output::es {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void writeString(JsonWriter& w, const std::string& s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

}  // namespace

void appendCreate(std::string& body, const std::string& index, const events::EncodedEvent& event) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("create");
  w.StartObject();
  w.Key("_index");
  writeString(w, event.index.empty() ? index : event.index);
  if (!event.id.empty()) {
    w.Key("_id");
    writeString(w, event.id);
  }
  w.EndObject();
  w.EndObject();
  body.append(buffer.GetString(), buffer.GetSize());
  body += '\n';
  body += event.json;
  body += '\n';
}

std::string encodeBulk(std::span<const events::EncodedEvent* const> events, const std::string& index) {
  std::size_t size = 0;
  for (const auto* e : events) size += e->json.size() + e->id.size() + index.size() + 40;
  std::string body;
  body.reserve(size);
  for (const auto* e : events) appendCreate(body, index, *e);
  return body;
}

events::EncodedEvent deadLetterEvent(const events::EncodedEvent& original, const std::string& errorType,
                                   const std::string& errorMessage, const std::string& timestamp) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("@timestamp");
  writeString(w, timestamp);
  w.Key("message");
  writeString(w, original.json);
  w.Key("error");
  w.StartObject();
  w.Key("type");
  writeString(w, errorType);
  w.Key("message");
  writeString(w, errorMessage);
  w.EndObject();
  w.EndObject();
  return events::EncodedEvent{original.sequence, original.id, std::string(buffer.GetString(), buffer.GetSize())};
}

core::Result<std::string> gzipCompress(std::string_view data, int level) {
  z_stream stream{};
  // 15 window bits + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return core::fail(core::ErrorCode::Internal, "gzip: deflateInit2 failed");
  }
  std::string out;
  out.resize(deflateBound(&stream, static_cast<uLong>(data.size())) + 32);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  stream.avail_in = static_cast<uInt>(data.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&stream, Z_FINISH);
  const auto written = stream.total_out;
  deflateEnd(&stream);
  if (rc != Z_STREAM_END) return core::fail(core::ErrorCode::Internal, "gzip: deflate did not finish");
  out.resize(written);
  return out;
}

}  // namespace fim::output::es
