// script (lang: javascript): the user's process(event) runs on every event, in a worker process
// (ScriptWorker), with Beats' options and event API (libbeat/processors/script/javascript). A
// script that throws, runs past `timeout` or kills its worker leaves the event going on with
// tag_on_exception in tags and the reason in error.message; it never stops fimbeat.

#include <mutex>
#include <string>
#include <vector>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/utf8.h"
#include "mapper/processors/event_values.h"
#include "mapper/processors/script_worker.h"
#include "mapper/processors/transform_processors.h"

namespace fim::mapper::processors {
namespace {

using rapidjson::Value;

// Text that is not UTF-8 (a file name can be any bytes) repaired, as the encoder would later.
void repairUtf8(Value& v, Allocator& a) {
  if (v.IsString()) {
    if (!core::isValidUtf8(textOf(v))) v = stringValue(core::toValidUtf8(textOf(v)), a);
  } else if (v.IsArray()) {
    for (auto& item : v.GetArray()) repairUtf8(item, a);
  } else if (v.IsObject()) {
    for (auto& m : v.GetObject()) {
      if (!core::isValidUtf8(textOf(m.name))) m.name = stringValue(core::toValidUtf8(textOf(m.name)), a);
      repairUtf8(m.value, a);
    }
  }
}

// The document as JSON with everything past ASCII escaped, as the worker reads it.
std::string asciiJson(const Value& document) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::ASCII<>> writer(buffer);
  document.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

// Duktape writes a character beyond U+FFFF as two surrogates of three bytes each (CESU-8): each
// such pair becomes the character's four UTF-8 bytes again. A lone surrogate stays (and is
// repaired by the encoder like any invalid UTF-8).
void joinSurrogatePairs(std::string& s) {
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  std::size_t out = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (i + 5 < s.size() && at(i) == 0xED && (at(i + 1) & 0xF0) == 0xA0 && (at(i + 2) & 0xC0) == 0x80 && at(i + 3) == 0xED &&
        (at(i + 4) & 0xF0) == 0xB0 && (at(i + 5) & 0xC0) == 0x80) {
      const unsigned high = 0xD000 | ((at(i + 1) & 0x3F) << 6) | (at(i + 2) & 0x3F);
      const unsigned low = 0xD000 | ((at(i + 4) & 0x3F) << 6) | (at(i + 5) & 0x3F);
      const unsigned code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
      s[out++] = static_cast<char>(0xF0 | (code >> 18));
      s[out++] = static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      s[out++] = static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      s[out++] = static_cast<char>(0x80 | (code & 0x3F));
      i += 6;
    } else {
      s[out++] = s[i++];
    }
  }
  s.resize(out);
}

class Script final : public Processor {
 public:
  Script(const config::ScriptConfig& config, std::unique_ptr<ScriptWorker> first, core::Counter* exceptions)
      : config_(config), exceptions_(exceptions) {
    giveBack(std::move(first));
  }

  Outcome run(rapidjson::Document& document) const override {
    auto& a = document.GetAllocator();
    auto worker = take();
    if (!worker) return exception(document, "javascript processor could not start its worker: " + worker.error().message());
    repairUtf8(document, a);
    std::optional<std::chrono::nanoseconds> timeout;
    if (config_.timeout.count() > 0) timeout = config_.timeout;
    auto reply = (*worker)->process(asciiJson(document), timeout);
    if (reply.status == ScriptWorker::Status::TimedOut) return exception(document, "javascript processor execution timeout");
    if (reply.status == ScriptWorker::Status::Died) {
      return exception(document, "javascript processor worker stopped (" + (*worker)->exitReason() + ")");
    }
    giveBack(std::move(*worker));
    joinSurrogatePairs(reply.json);
    rapidjson::Document result(&a);
    result.Parse(reply.json.data(), reply.json.size());
    if (result.HasParseError() || !result.IsObject()) return exception(document, "javascript processor returned an unreadable event");
    if (auto fields = result.FindMember("f"); fields != result.MemberEnd() && fields->value.IsObject()) {
      static_cast<Value&>(document) = std::move(fields->value);  // the event as the script left it
    }
    if (auto error = result.FindMember("e"); error != result.MemberEnd() && error->value.IsString()) {
      return exception(document, std::string(textOf(error->value)));
    }
    const auto cancelled = result.FindMember("c");
    return cancelled != result.MemberEnd() && cancelled->value.IsBool() && cancelled->value.GetBool() ? Outcome::Drop
                                                                                                         : Outcome::Keep;
  }

 private:
  // tag_on_exception into tags, the message appended to error.message (Beats' appendString).
  Outcome exception(rapidjson::Document& document, const std::string& message) const {
    auto& a = document.GetAllocator();
    if (exceptions_) exceptions_->add();
    if (!config_.tagOnException.empty()) {
      static const FieldPath kTags("tags");
      appendToList(document, kTags, config_.tagOnException, a);
    }
    static const FieldPath kMessage("error.message");
    Value* existing = findField(document, kMessage);
    if (!existing || existing->IsNull()) {
      Value text = stringValue(message, a);
      setField(document, kMessage, text, a);
    } else if (!(existing->IsString() && textOf(*existing) == message)) {
      appendToList(document, kMessage, message, a);
    }
    return Outcome::Failed;
  }

  core::Result<std::unique_ptr<ScriptWorker>> take() const {
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        auto worker = std::move(idle_.back());
        idle_.pop_back();
        return worker;
      }
    }
    return ScriptWorker::start(config_, false);
  }

  void giveBack(std::unique_ptr<ScriptWorker> worker) const {
    std::unique_lock lock(mutex_);
    if (idle_.size() < static_cast<std::size_t>(config_.maxCachedSessions)) idle_.push_back(std::move(worker));
    lock.unlock();  // a worker beyond the cache is stopped (and reaped) outside the lock
  }

  config::ScriptConfig config_;
  core::Counter* exceptions_;
  mutable std::mutex mutex_;
  mutable std::vector<std::unique_ptr<ScriptWorker>> idle_;
};

}  // namespace

core::Result<std::unique_ptr<Processor>> makeScript(const config::ScriptConfig& config, core::Metrics* metrics) {
  auto first = ScriptWorker::start(config, true);  // the first one also runs test()
  if (!first) return std::unexpected(first.error());
  return std::make_unique<Script>(config, std::move(*first),
                                  metrics ? &metrics->counter("enricher.processors.script.exceptions") : nullptr);
}

}  // namespace fim::mapper::processors
