#include "watcher/elf/go_line_table.h"

#include <cstring>

namespace fim::watcher {
namespace {

// runtime/symtab.go's pcHeader magic numbers.
constexpr std::uint32_t kMagic12 = 0xfffffffb;
constexpr std::uint32_t kMagic116 = 0xfffffffa;
constexpr std::uint32_t kMagic118 = 0xfffffff0;
constexpr std::uint32_t kMagic120 = 0xfffffff1;

// Go's unsigned varint (7 bits a byte, low first); nullopt when the bytes run out.
std::optional<std::uint32_t> readVarint(std::span<const unsigned char>& p) {
  std::uint32_t value = 0;
  for (std::uint64_t shift = 0;; shift += 7) {
    if (p.empty()) return std::nullopt;
    const unsigned char b = p.front();
    p = p.subspan(1);
    if (shift < 32) value |= static_cast<std::uint32_t>(b & 0x7f) << shift;  // Go's shift past 31 gives 0
    if ((b & 0x80) == 0) return value;
  }
}

}  // namespace

GoLineTable::GoLineTable(std::span<const unsigned char> table, std::uint64_t textStart)
    : data_(table), textStart_(textStart), work_(table.size() * 16 + (1u << 20)) {
  parseHeader();
}

bool GoLineTable::charge(std::uint64_t bytes) const {
  if (bytes > work_) {
    work_ = 0;
    return false;
  }
  work_ -= bytes;
  return true;
}

// A NUL-terminated string at `offset`; "" when it does not fit.
std::string_view GoLineTable::stringAt(Bytes from, std::uint64_t offset) const {
  if (offset > from.size()) return {};
  const auto* start = from.data() + offset;
  const auto* nul = static_cast<const unsigned char*>(std::memchr(start, 0, from.size() - offset));
  if (!charge(nul ? static_cast<std::uint64_t>(nul - start) : from.size() - offset) || !nul) return {};
  return {reinterpret_cast<const char*>(start), static_cast<std::size_t>(nul - start)};
}

std::optional<std::uint64_t> GoLineTable::load(Bytes from, std::uint64_t offset, std::uint64_t width) const {
  if (offset > from.size() || from.size() - offset < width) return std::nullopt;
  std::uint64_t value = 0;
  for (std::uint64_t i = 0; i < width; ++i) {
    const std::uint64_t byte = from[offset + (bigEndian_ ? i : width - 1 - i)];
    value = (value << 8) | byte;
  }
  return value;
}

void GoLineTable::parseHeader() {
  // Header: magic, two zero bytes, the pc quantum, the pointer size.
  if (data_.size() < 16 || data_[4] != 0 || data_[5] != 0) return;
  if (data_[6] != 1 && data_[6] != 2 && data_[6] != 4) return;
  if (data_[7] != 4 && data_[7] != 8) return;
  quantum_ = data_[6];
  ptrSize_ = data_[7];
  Version version = Version::Unknown;
  for (const bool big : {false, true}) {
    bigEndian_ = big;
    const auto magic = static_cast<std::uint32_t>(*load(data_, 0, 4));
    if (magic == kMagic12) version = Version::Go12;
    else if (magic == kMagic116) version = Version::Go116;
    else if (magic == kMagic118 || magic == kMagic120) version = Version::Go118;
    if (version != Version::Unknown) break;
  }
  if (version == Version::Unknown) return;
  const auto word = [&](std::uint64_t n) { return load(data_, 8 + n * ptrSize_, ptrSize_); };
  const auto tail = [&](std::uint64_t n) -> std::optional<Bytes> {
    const auto offset = word(n);
    if (!offset || *offset > data_.size()) return std::nullopt;
    return data_.subspan(*offset);
  };
  const std::uint64_t entrySize = version == Version::Go118 ? 4 : ptrSize_;
  if (version == Version::Go12) {
    const auto count = word(0);
    if (!count) return;
    functions_ = static_cast<std::uint32_t>(*count);
    funcTab_ = funcNames_ = pcTab_ = data_;
    const Bytes after = data_.subspan(8 + ptrSize_);
    const std::uint64_t size = (std::uint64_t{functions_} * 2 + 1) * entrySize;
    const auto fileOffset = load(after, size, 4);
    if (!fileOffset || *fileOffset > data_.size()) return;
    functab_ = after.first(size);
    const Bytes files = data_.subspan(*fileOffset);
    const auto fileCount = load(files, 0, 4);
    if (!fileCount) return;
    const std::uint32_t fileBytes = static_cast<std::uint32_t>(*fileCount) * 4u;  // uint32 arithmetic, as Go's
    if (fileBytes > files.size()) return;
    fileTab_ = files.first(fileBytes);
  } else {
    // Go 1.16 added the function name, compilation unit and file tables; 1.18 a text start word.
    const std::uint64_t first = version == Version::Go116 ? 2 : 3;
    const auto count = word(0);
    if (!count || !word(1)) return;
    functions_ = static_cast<std::uint32_t>(*count);
    const auto names = tail(first), cus = tail(first + 1), files = tail(first + 2), pcs = tail(first + 3),
               funcs = tail(first + 4);
    if (!names || !cus || !files || !pcs || !funcs) return;
    const std::uint64_t size = (std::uint64_t{functions_} * 2 + 1) * entrySize;
    if (size > funcs->size()) return;
    funcNames_ = *names;
    cuTab_ = *cus;
    fileTab_ = *files;
    pcTab_ = *pcs;
    funcTab_ = *funcs;
    functab_ = funcs->first(size);
  }
  version_ = version;
}

std::optional<std::uint64_t> GoLineTable::entryOf(std::uint64_t i) const {
  auto pc = load(functab_, 2 * i * fieldSize(), fieldSize());
  if (pc && version_ == Version::Go118) *pc += textStart_;  // an offset from the start of .text
  return pc;
}

std::optional<GoLineTable::Bytes> GoLineTable::funcData(std::uint64_t i) const {
  const auto offset = load(functab_, (2 * i + 1) * fieldSize(), fieldSize());
  if (!offset || *offset > funcTab_.size()) return std::nullopt;
  return funcTab_.subspan(*offset);
}

std::optional<std::uint32_t> GoLineTable::field(Bytes func, std::uint32_t n) const {
  const std::uint64_t first = version_ == Version::Go118 ? 4 : ptrSize_;  // the entry: an offset since 1.18
  const auto value = load(func, first + std::uint64_t{n - 1} * 4, 4);
  if (!value) return std::nullopt;
  return static_cast<std::uint32_t>(*value);
}

std::optional<std::uint64_t> GoLineTable::entryPc(Bytes func) const {
  if (version_ != Version::Go118) return load(func, 0, ptrSize_);
  const auto offset = load(func, 0, 4);
  if (!offset) return std::nullopt;
  return *offset + textStart_;
}

// debug/gosym lists the functions only when every record and name can be read; otherwise it
// knows none (its reader recovers from the failed read and returns nothing).
bool GoLineTable::funcsReadable() const {
  if (readable_) return *readable_;
  readable_ = false;
  // A name is readable when a NUL follows its start: when it starts at or before the last NUL.
  std::uint64_t lastNul = funcNames_.size();
  for (std::uint64_t i = funcNames_.size(); i > 0; --i) {
    if (funcNames_[i - 1] == 0) {
      lastNul = i - 1;
      break;
    }
  }
  if (lastNul == funcNames_.size() && functions_ > 0) return false;
  for (std::uint64_t i = 0; i < functions_; ++i) {
    const auto func = funcData(i);
    if (!func || !field(*func, 3)) return false;  // the frame size is read first
    const auto name = field(*func, 1);
    if (!name || *name > lastNul) return false;
  }
  readable_ = true;
  return true;
}

bool GoLineTable::holds(std::uint64_t pc) const {
  std::uint64_t low = 0, high = functions_;
  while (low < high) {
    const std::uint64_t middle = low + (high - low) / 2;
    const auto entry = entryOf(middle), end = entryOf(middle + 1);
    if (!entry || !end) return false;
    if (pc < *entry) high = middle;
    else if (pc < *end) return true;
    else low = middle + 1;
  }
  return false;
}

std::optional<std::int32_t> GoLineTable::pcValue(std::uint32_t offset, std::uint64_t entry, std::uint64_t target) const {
  if (offset > pcTab_.size()) return std::nullopt;
  Bytes p = pcTab_.subspan(offset);
  std::uint32_t value = static_cast<std::uint32_t>(-1);  // int32 arithmetic that wraps, as Go's
  std::uint64_t pc = entry;
  while (true) {
    const bool first = pc == entry;  // as gosym: any step that has not moved the pc counts as first
    const std::size_t before = p.size();
    auto delta = readVarint(p);
    if (!delta) return std::nullopt;
    if (*delta == 0 && !first) return -1;
    const std::uint32_t valueDelta = (*delta & 1) ? ~(*delta >> 1) : (*delta >> 1);
    const auto pcDelta = readVarint(p);
    if (!pcDelta || !charge(before - p.size())) return std::nullopt;
    pc += static_cast<std::uint32_t>(*pcDelta * quantum_);
    value += valueDelta;
    if (target < pc) return static_cast<std::int32_t>(value);
  }
}

std::string_view GoLineTable::fileOfFunction(std::uint64_t pc) const {
  const auto first = entryOf(0), last = entryOf(functions_);
  if (!first || !last || pc < *first || pc >= *last) return {};
  std::uint64_t low = 0, high = functions_;  // the first function starting after pc
  while (low < high) {
    const std::uint64_t middle = low + (high - low) / 2;
    const auto entry = entryOf(middle);
    if (!entry) return {};
    if (*entry > pc) high = middle;
    else low = middle + 1;
  }
  if (low == 0) return {};
  const auto func = funcData(low - 1);
  if (!func) return {};
  const auto entry = entryPc(*func);
  const auto pcFile = field(*func, 5);
  if (!entry || !pcFile) return {};
  const auto fileNumber = pcValue(*pcFile, *entry, pc);
  if (!fileNumber) return {};
  if (version_ == Version::Go12) {
    if (*fileNumber <= 0) return {};
    const auto index = static_cast<std::int32_t>(static_cast<std::uint32_t>(*fileNumber) * 4u);
    if (index < 0) return {};
    const auto name = load(fileTab_, static_cast<std::uint64_t>(index), 4);
    return name ? stringAt(funcTab_, *name) : std::string_view{};
  }
  if (*fileNumber < 0) return {};  // file 0 is valid since Go 1.16
  const auto unit = field(*func, 8);
  if (!unit) return {};
  const std::uint32_t slot = (*unit + static_cast<std::uint32_t>(*fileNumber)) * 4u;
  const auto name = load(cuTab_, slot, 4);
  if (!name || *name == 0xffffffffu) return {};
  return stringAt(fileTab_, *name);
}

std::string_view GoLineTable::fileOf(std::uint64_t pc) const {
  if (version_ == Version::Unknown || !funcsReadable() || !holds(pc)) return {};
  return fileOfFunction(pc);
}

}  // namespace fim::watcher
