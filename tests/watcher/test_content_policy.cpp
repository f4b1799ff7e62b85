// diff.* in the watcher: which files' content is kept (size, exclusions with defaults for secret
// stores), binary files left out, redaction before the content leaves the watcher, and the
// content read in the same pass as the hashes.

#include <doctest/doctest.h>

#include "config/config.h"
#include "support/path_at.h"
#include "support/temp_dir.h"
#include "watcher/content_policy.h"
#include "watcher/file_hasher.h"
#include "watcher/safe_file.h"

using namespace fim;

TEST_CASE("diff.exclude_files: the defaults keep secret stores out, diff.enabled false keeps nothing") {
  config::DiffConfig diff;
  diff.enabled = true;
  watcher::ContentPolicy policy(diff);
  for (const char* secret : {"/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/srv/app/.env", "/srv/app/.env.production",
                             "/etc/ssl/private/site.key", "/etc/ssl/site.pem", "/root/.ssh/id_ed25519",
                             "/root/.pgpass", "/opt/app/keystore.jks", "/etc/krb5.keytab", "/etc/app/secrets/db"}) {
    CHECK_MESSAGE(!policy.wants(secret), secret);
  }
  for (const char* plain : {"/etc/hosts", "/etc/ssh/sshd_config", "/etc/passwd", "/etc/environment", "/srv/app/.envrc"}) {
    CHECK_MESSAGE(policy.wants(plain), plain);
  }
  diff.enabled = false;
  CHECK_FALSE(watcher::ContentPolicy(diff).wants("/etc/hosts"));
}

TEST_CASE("diff.redact: key = value lines naming a password, token, secret or key become [REDACTED]") {
  config::DiffConfig diff;
  diff.enabled = true;
  watcher::ContentPolicy policy(diff);
  const std::string text =
      "listen = 80\n"
      "password = hunter2\n"
      "  db_password: \"s3cret\"\n"
      "API_KEY=abc123\n"
      "token: xyz\n"
      "client_secret = 42\n"
      "PasswordAuthentication no\n"
      "-----BEGIN RSA PRIVATE KEY-----\n"
      "name = web";
  CHECK(*policy.text(text) ==
        "listen = 80\n[REDACTED]\n[REDACTED]\n[REDACTED]\n[REDACTED]\n[REDACTED]\nPasswordAuthentication no\n"
        "[REDACTED]\nname = web");
  CHECK_FALSE(policy.text(std::string("ELF\0\1\2", 6)).has_value());  // binary: a NUL byte

  diff.redact = {"^secret_line$"};
  const RE2 own("^secret_line$");
  CHECK(watcher::redactLines("a\nsecret_line\nb\n", own) == "a\n[REDACTED]\nb\n");
  CHECK(*watcher::ContentPolicy(diff).text("password = x\n") == "password = x\n");  // replaced, not added to
}

TEST_CASE("the content is read in the same pass as the hashes, up to diff.max_file_size") {
  testing::TempDir dir;
  const std::string small = dir.write("small.txt", "hello\n");
  const std::string large = dir.write("large.txt", std::string(5000, 'a'));
  watcher::FileHasher hasher({events::HashType::Sha256}, nullptr);
  std::stop_source stop;
  const auto hashed = [&](const std::string& path, std::size_t keep) {
    auto file = watcher::SafeFile::openForRead(testing::locate(path).at());
    REQUIRE(file.has_value());
    auto outcome = hasher.hash(*file, stop.get_token(), keep);
    REQUIRE(outcome.has_value());
    return std::move(*outcome);
  };
  auto a = hashed(small, 4096);
  REQUIRE(a.content.has_value());
  CHECK(*a.content == "hello\n");
  CHECK(a.hashes.count(events::HashType::Sha256) == 1);
  CHECK_FALSE(hashed(large, 4096).content.has_value());  // over the limit: hashed, not kept
  CHECK_FALSE(hashed(small, 0).content.has_value());     // not asked for
}
