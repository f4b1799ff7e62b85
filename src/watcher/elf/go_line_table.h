#pragma once
// GoLineTable: the one question Auditbeat's Go analysis asks of a Go binary's line table
// (.gopclntab): which source file holds the function at an address, answered as Go's debug/gosym
// Table.PCToLine answers it (the table formats of Go 1.2, 1.16, 1.18 and 1.20). Every read is
// bounds-checked; where debug/gosym would give up on a malformed table, the answer is "".

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace fim::watcher {

class GoLineTable {
 public:
  // `table`: the section's bytes, which must outlive this object; `textStart`: the address of .text.
  GoLineTable(std::span<const unsigned char> table, std::uint64_t textStart);

  // The source file of the function that holds `pc`; "" when none does or the table cannot say.
  // Garbled binaries name it "??". The bytes all lookups may scan are bounded (16 times the
  // table's size plus 1 MiB): past that a crafted table answers "" to every lookup.
  std::string_view fileOf(std::uint64_t pc) const;

 private:
  using Bytes = std::span<const unsigned char>;
  enum class Version { Unknown, Go12, Go116, Go118 };  // Go 1.20's layout is 1.18's

  void parseHeader();
  std::optional<std::uint64_t> load(Bytes from, std::uint64_t offset, std::uint64_t width) const;
  std::uint64_t fieldSize() const { return version_ == Version::Go118 ? 4 : ptrSize_; }
  std::optional<std::uint64_t> entryOf(std::uint64_t i) const;  // the functab's i-th address
  std::optional<Bytes> funcData(std::uint64_t i) const;
  std::optional<std::uint32_t> field(Bytes func, std::uint32_t n) const;  // the n-th field (n >= 1)
  std::optional<std::uint64_t> entryPc(Bytes func) const;
  bool funcsReadable() const;
  bool holds(std::uint64_t pc) const;  // some function's [entry, end) holds pc (gosym's PCToFunc)
  std::optional<std::int32_t> pcValue(std::uint32_t offset, std::uint64_t entry, std::uint64_t target) const;
  std::string_view fileOfFunction(std::uint64_t pc) const;

  Bytes data_;
  std::uint64_t textStart_ = 0;
  Version version_ = Version::Unknown;
  bool bigEndian_ = false;
  std::uint32_t quantum_ = 1;
  std::uint32_t ptrSize_ = 8;
  std::uint32_t functions_ = 0;
  Bytes funcNames_, cuTab_, fileTab_, pcTab_, funcTab_, functab_;
  bool charge(std::uint64_t bytes) const;  // false once the work bound is spent
  std::string_view stringAt(Bytes from, std::uint64_t offset) const;

  mutable std::optional<bool> readable_;  // every function's record and name could be read
  mutable std::uint64_t work_ = 0;
};

}  // namespace fim::watcher
