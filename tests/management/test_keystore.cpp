// The keystore: round trips, its file's mode and format, and the errors a damaged one gives.

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "core/base64.h"
#include "management/keystore.h"
#include "management/keystore_format.h"
#include "support/temp_dir.h"

using namespace fim;
using management::Keystore;

namespace {

unsigned modeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void writeFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

}  // namespace

TEST_CASE("a keystore round-trips its secrets through its file, mode 0600 in a 0700 data directory") {
  testing::TempDir tmp;
  const std::string data = tmp.str() + "/data";
  auto keystore = Keystore::open(Keystore::pathIn(data));
  REQUIRE(keystore.has_value());
  CHECK_FALSE(keystore->exists());
  keystore->set("ES_PWD", "s3cr3t with spaces, \"quotes\" and ${braces}");
  keystore->set("binary", std::string("\0\xff\n", 3));
  REQUIRE(keystore->save());
  CHECK(modeOf(data) == 0700u);
  CHECK(modeOf(Keystore::pathIn(data)) == 0600u);
  const std::string file = readFile(Keystore::pathIn(data));
  CHECK(file.starts_with("v1"));
  CHECK(file.find("s3cr3t") == std::string::npos);
  CHECK_FALSE(std::filesystem::exists(Keystore::pathIn(data) + ".tmp"));

  auto again = Keystore::open(Keystore::pathIn(data));
  REQUIRE_MESSAGE(again.has_value(), (again ? "" : again.error().message()));
  CHECK(again->exists());
  CHECK(again->names() == std::vector<std::string>{"ES_PWD", "binary"});
  CHECK(again->get("ES_PWD") == "s3cr3t with spaces, \"quotes\" and ${braces}");
  CHECK(again->get("binary") == std::string("\0\xff\n", 3));
  CHECK(again->remove("binary"));
  CHECK_FALSE(again->remove("binary"));
  REQUIRE(again->save());
  CHECK(Keystore::open(Keystore::pathIn(data))->names() == std::vector<std::string>{"ES_PWD"});
}

TEST_CASE("each save seals with a new salt and IV") {
  testing::TempDir tmp;
  auto keystore = Keystore::empty(Keystore::pathIn(tmp.str()));
  keystore.set("A", "same");
  REQUIRE(keystore.save());
  const std::string first = readFile(keystore.path());
  REQUIRE(keystore.save());
  CHECK(readFile(keystore.path()) != first);
}

TEST_CASE("the sealed format is v1, base64 of salt, IV, ciphertext and tag, and decodes to Beats' JSON") {
  const std::string plain = management::encodeSecrets({{"b", "2"}, {"a", "1"}});
  CHECK(plain == "{\"a\":{\"value\":\"MQ==\"},\"b\":{\"value\":\"Mg==\"}}\n");
  auto sealed = management::sealKeystore(plain, "");
  REQUIRE(sealed.has_value());
  REQUIRE(sealed->starts_with("v1"));
  auto raw = core::fromBase64(sealed->substr(2));
  REQUIRE(raw.has_value());
  CHECK(raw->size() == 64 + 12 + plain.size() + 16);
  CHECK(management::unsealKeystore(*sealed, "") == plain);
  const auto wrong = management::unsealKeystore(*sealed, "another password");
  REQUIRE_FALSE(wrong.has_value());
  CHECK(wrong.error().message().find("authentication tag does not match") != std::string::npos);
}

TEST_CASE("a damaged, foreign or loosely permitted keystore is an error that says which") {
  testing::TempDir tmp;
  const std::string path = Keystore::pathIn(tmp.str());
  auto keystore = Keystore::empty(path);
  keystore.set("K", "v");
  REQUIRE(keystore.save());
  const std::string good = readFile(path);

  const auto errorOf = [&](const std::string& bytes) {
    writeFile(path, bytes);
    auto opened = Keystore::open(path);
    return opened ? std::string() : opened.error().message();
  };
  std::string flipped = good;
  flipped[good.size() / 2] = flipped[good.size() / 2] == 'A' ? 'B' : 'A';
  CHECK(errorOf(flipped).find("authentication tag does not match") != std::string::npos);
  CHECK(errorOf("v2" + good.substr(2)).find("not version v1") != std::string::npos);
  CHECK(errorOf("v1").find("too short") != std::string::npos);
  CHECK(errorOf("v1not base64!").find("not base64") != std::string::npos);
  CHECK(errorOf(management::sealKeystore("[1,2]", "").value()).find("content is not valid") != std::string::npos);

  writeFile(path, good);
  std::filesystem::permissions(path, std::filesystem::perms::group_read, std::filesystem::perm_options::add);
  const auto loose = Keystore::open(path);
  REQUIRE_FALSE(loose.has_value());
  CHECK(loose.error().message().find("chmod 0600") != std::string::npos);
}

TEST_CASE("a symlink in place of the keystore is refused, not followed") {
  testing::TempDir tmp;
  const std::string target = tmp.write("elsewhere", "v1");
  std::filesystem::create_symlink(target, Keystore::pathIn(tmp.str()));
  const auto opened = Keystore::open(Keystore::pathIn(tmp.str()));
  REQUIRE_FALSE(opened.has_value());
  CHECK(opened.error().message().find("symlink") != std::string::npos);
}

TEST_CASE("keystoreLookup finds the keystore's values, and nothing when there is no keystore") {
  testing::TempDir tmp;
  auto none = management::keystoreLookup(tmp.str());
  REQUIRE(none.has_value());
  CHECK_FALSE((*none)("ES_PWD").has_value());
  auto keystore = Keystore::empty(Keystore::pathIn(tmp.str()));
  keystore.set("ES_PWD", "hunter2");
  REQUIRE(keystore.save());
  auto lookup = management::keystoreLookup(tmp.str());
  REQUIRE(lookup.has_value());
  CHECK((*lookup)("ES_PWD") == "hunter2");
  CHECK_FALSE((*lookup)("OTHER").has_value());
}

TEST_CASE("keystore names are what ${NAME} can refer to") {
  for (const char* good : {"ES_PWD", "output.elasticsearch.password", "a-b", "x1"}) CHECK(management::isValidKeystoreName(good));
  for (const char* bad : {"", "a b", "a:b", "a}b", "${A}", "a/b"}) CHECK_FALSE(management::isValidKeystoreName(bad));
  CHECK_FALSE(management::isValidKeystoreName(std::string(257, 'a')));
}
