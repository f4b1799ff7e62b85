// Approved change windows: the store (persisted, expiring, revocable, a damaged file replaced),
// its file format, and the control socket answering a real client over a real unix socket.

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "management/approval_format.h"
#include "management/approval_store.h"
#include "management/control_protocol.h"
#include "management/control_server.h"
#include "support/temp_dir.h"

using namespace fim;
using namespace std::chrono_literals;
using management::ApprovalStore;

namespace {

class ManualClock final : public core::Clock {
 public:
  core::TimePoint now() const override { return now_; }
  void advance(std::chrono::milliseconds by) { now_ += by; }

 private:
  core::TimePoint now_ = core::TimePoint(std::chrono::milliseconds(1'796'000'000'000));
};

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

unsigned modeOf(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("approvals: an approval is saved (0600, versioned) and read back by the next store") {
  testing::TempDir dir;
  ManualClock clock;
  const std::string file = management::approvalsFile(dir.str());
  {
    auto store = ApprovalStore::open(file, clock);
    CHECK(store->problem().empty());
    auto added = store->add({dir.str() + "/etc/nginx/", dir.str() + "/etc/nginx"}, 30min, "CHG-1234");
    REQUIRE_MESSAGE(added.has_value(), (added ? "" : added.error().message()));
    CHECK(added->id.size() == 8);
    CHECK((added->paths == std::vector<std::string>{dir.str() + "/etc/nginx"}));  // normalised, once
    CHECK((added->expires - added->created == 30min));
  }
  CHECK(modeOf(file) == 0600);
  CHECK(readFile(file).starts_with("{\"version\":1,"));
  auto again = ApprovalStore::open(file, clock);
  CHECK(again->problem().empty());
  auto listed = again->list();
  REQUIRE(listed.has_value());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().reason == "CHG-1234");
  auto mark = again->approvalFor(dir.str() + "/etc/nginx/sites/default", clock.now());
  REQUIRE(mark.has_value());
  CHECK(mark->id == listed->front().id);
  CHECK_FALSE(again->approvalFor(dir.str() + "/etc/nginx2", clock.now()).has_value());
  CHECK_FALSE(again->approvalFor(dir.str() + "/etc", clock.now()).has_value());
}

TEST_CASE("approvals: nothing is approved at or after the expiry, and expired approvals are pruned from the file") {
  testing::TempDir dir;
  ManualClock clock;
  const std::string file = management::approvalsFile(dir.str());
  auto store = ApprovalStore::open(file, clock);
  auto shortOne = store->add({"/srv/app"}, 2s, "deploy");
  auto longOne = store->add({"/etc"}, 1h, "CHG-2");
  REQUIRE(shortOne.has_value());
  REQUIRE(longOne.has_value());
  CHECK(store->approvalFor("/srv/app/x", clock.now() + 1999ms).has_value());
  CHECK_FALSE(store->approvalFor("/srv/app/x", clock.now() + 2s).has_value());
  CHECK_FALSE(store->approvalFor("/srv/app/x", clock.now() - 1ms).has_value());  // before it was made
  clock.advance(3s);
  auto listed = store->list();
  REQUIRE(listed.has_value());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().id == longOne->id);
  CHECK(readFile(file).find(shortOne->id) == std::string::npos);
}

TEST_CASE("approvals: revoke removes one by id and says so for an unknown id") {
  testing::TempDir dir;
  ManualClock clock;
  const std::string file = management::approvalsFile(dir.str());
  auto store = ApprovalStore::open(file, clock);
  auto added = store->add({"/etc/nginx"}, 30min, "CHG-1234");
  REQUIRE(added.has_value());
  auto revoked = store->revoke(added->id);
  REQUIRE(revoked.has_value());
  CHECK(revoked->reason == "CHG-1234");
  CHECK_FALSE(store->approvalFor("/etc/nginx/nginx.conf", clock.now()).has_value());
  auto unknown = store->revoke(added->id);
  REQUIRE_FALSE(unknown.has_value());
  CHECK((unknown.error().code() == core::ErrorCode::NotFound));
  CHECK(ApprovalStore::open(file, clock)->list()->empty());
}

TEST_CASE("approvals: bad input is refused with the flag it concerns") {
  testing::TempDir dir;
  ManualClock clock;
  auto store = ApprovalStore::open(management::approvalsFile(dir.str()), clock);
  auto relative = store->add({"etc/nginx"}, 30min, "x");
  REQUIRE_FALSE(relative.has_value());
  CHECK(relative.error().message().find("must be absolute") != std::string::npos);
  CHECK_FALSE(store->add({}, 30min, "x").has_value());
  CHECK_FALSE(store->add({"/etc"}, 0ms, "x").has_value());
  CHECK_FALSE(store->add({"/etc"}, 1min, "").has_value());
  CHECK(store->list()->empty());
}

TEST_CASE("approvals: an undecodable file is reported, kept aside and replaced, it never stops the store") {
  testing::TempDir dir;
  ManualClock clock;
  const std::string file = management::approvalsFile(dir.str());
  for (const std::string& damaged : {std::string("{\"version\":1,\"approvals\":[{\"id\":"), std::string("\x01\x02garbage"),
                                    std::string("{\"version\":9,\"approvals\":[]}")}) {
    CAPTURE(damaged);
    std::ofstream(file, std::ios::binary | std::ios::trunc) << damaged;
    auto store = ApprovalStore::open(file, clock);
    CHECK_FALSE(store->problem().empty());
    CHECK(store->problem().find(file) != std::string::npos);
    CHECK(readFile(file + ".corrupt") == damaged);
    CHECK(store->list()->empty());
    REQUIRE(store->add({"/etc"}, 1min, "after the damage").has_value());
    CHECK(ApprovalStore::open(file, clock)->problem().empty());
    std::filesystem::remove(file);
  }
}

TEST_CASE("approvals: the format round-trips and times keep their milliseconds") {
  management::Approval a{"deadbeef", "CHG \"quoted\" \u00e9", {"/etc", "/srv/a b"},
                         core::TimePoint(std::chrono::milliseconds(1'796'000'000'123)),
                         core::TimePoint(std::chrono::milliseconds(1'796'000'060'456))};
  auto decoded = management::decodeApprovals(management::encodeApprovals({a}));
  REQUIRE(decoded.has_value());
  REQUIRE(decoded->size() == 1);
  CHECK(decoded->front().reason == a.reason);
  CHECK((decoded->front().paths == a.paths));
  CHECK((decoded->front().created == a.created));
  CHECK((decoded->front().expires == a.expires));
  CHECK_FALSE(management::parseTimestamp("2026-12-05 16:07:10").has_value());
}

TEST_CASE("approvals: the lock is held by one process at a time") {
  testing::TempDir dir;
  auto first = management::ApprovalLock::tryAcquire(dir.str());
  REQUIRE(first.has_value());
  REQUIRE(first->has_value());
  auto second = management::ApprovalLock::tryAcquire(dir.str());  // another descriptor: flock refuses it too
  REQUIRE(second.has_value());
  CHECK_FALSE(second->has_value());
  first->reset();
  auto third = management::ApprovalLock::tryAcquire(dir.str());
  REQUIRE(third.has_value());
  CHECK(third->has_value());
}

TEST_CASE("control socket: approve, list and revoke over a real unix socket, the socket is 0600 and removed at stop") {
  testing::TempDir dir;
  ManualClock clock;
  auto store = ApprovalStore::open(management::approvalsFile(dir.str()), clock);
  const std::string socket = management::controlSocketPath(dir.str());
  auto server = management::ControlServer::start(socket, *store);
  REQUIRE_MESSAGE(server.has_value(), (server ? "" : server.error().message()));
  CHECK(modeOf(socket) == 0600);

  management::ControlRequest approve;
  approve.kind = management::ControlRequest::Kind::Approve;
  approve.paths = {"/etc/nginx"};
  approve.duration = 30min;
  approve.reason = "CHG-1234";
  auto answer = management::exchange(socket, management::encodeRequest(approve));
  REQUIRE_MESSAGE(answer.has_value(), (answer ? "" : answer.error().message()));
  auto added = management::decodeAnswer(*answer);
  REQUIRE(added.has_value());
  REQUIRE(added->size() == 1);
  CHECK(store->approvalFor("/etc/nginx/nginx.conf", clock.now()).has_value());

  management::ControlRequest list;
  auto listed = management::decodeAnswer(*management::exchange(socket, management::encodeRequest(list)));
  REQUIRE(listed.has_value());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().id == added->front().id);

  management::ControlRequest revoke;
  revoke.kind = management::ControlRequest::Kind::Revoke;
  revoke.id = "00000000";
  auto refused = management::decodeAnswer(*management::exchange(socket, management::encodeRequest(revoke)));
  REQUIRE_FALSE(refused.has_value());
  CHECK(refused.error().message().find("00000000") != std::string::npos);
  revoke.id = added->front().id;
  REQUIRE(management::decodeAnswer(*management::exchange(socket, management::encodeRequest(revoke))).has_value());
  CHECK_FALSE(store->approvalFor("/etc/nginx/nginx.conf", clock.now()).has_value());

  auto garbage = management::decodeAnswer(*management::exchange(socket, "not json"));
  REQUIRE_FALSE(garbage.has_value());
  CHECK(garbage.error().message().find("not JSON") != std::string::npos);

  (*server)->stop();
  struct stat st {};
  CHECK(::lstat(socket.c_str(), &st) != 0);
  auto gone = management::exchange(socket, management::encodeRequest(list));
  REQUIRE_FALSE(gone.has_value());
  CHECK((gone.error().code() == core::ErrorCode::Unavailable));
}
