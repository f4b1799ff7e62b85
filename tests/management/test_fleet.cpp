#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sys/stat.h>

#include "config/loader.h"
#include "core/clock.h"
#include "core/time_format.h"
#include "management/approval_command.h"
#include "management/approval_store.h"
#include "management/fleet/action_handler.h"
#include "management/fleet/backoff.h"
#include "management/fleet/fleet_client.h"
#include "management/fleet/fleet_messages.h"
#include "management/fleet/fleet_settings.h"
#include "management/fleet/fleet_state.h"
#include "management/fleet/policy_translator.h"
#include "support/temp_dir.h"

using namespace fim::management::fleet;

namespace {

// The policy of design §4.4: the fim package's defaults as Fleet Server sends them.
const char* kPolicy = R"json({"id":"6f2b1c70-fim","revision":3,
 "outputs":{"default":{"type":"elasticsearch","hosts":["https://es.example.org:9200"],"preset":"balanced",
   "api_key":"pVuaCfGcBCdbkQm-e5aO:ui2lp2axTNmsyakw9tvNnw"}},
 "agent":{"monitoring":{"enabled":false,"logs":false,"metrics":false,"traces":false}},
 "fleet":{"hosts":["https://fleet.example.org:8220"]},
 "inputs":[{"id":"audit/file_integrity-fim-5f0c","name":"fim-1","revision":1,"type":"audit/file_integrity",
   "use_output":"default","data_stream":{"namespace":"prod"},"package_policy_id":"5f0c",
   "meta":{"package":{"name":"fim","version":"1.15.1"}},
   "streams":[{"id":"audit/file_integrity-fim.event-5f0c","data_stream":{"type":"logs","dataset":"fim.event"},
     "type":"audit/file_integrity","paths":["/etc"],"recursive":false,"scan_at_start":true,"backend":"auto",
     "hash_types":["sha1"],"max_file_size":"100 MiB","scan_rate_per_sec":"50 MiB",
     "exclude_files":["(?i)\\.sw[nop]$","~$","/\\.git($|/)","\\.tmp$","\\.log$","\\.db$"],
     "include_files":null,"keep_null":false,"tags":["fim-event"],
     "processors":[{"add_host_metadata":{"replace_fields":true}}]}]},
  {"id":"logfile-1","type":"logfile","use_output":"default","streams":[]}]})json";

}  // namespace

TEST_CASE("the fim package's default stream becomes a module the config loader accepts unchanged") {
  auto t = translatePolicy(kPolicy, "logging.level: info\noutput.file.path: /tmp\n", {"agent-1", "0.2.0"});
  REQUIRE(t.has_value());
  CHECK(t->policyId == "6f2b1c70-fim");
  CHECK(t->revision == 3);
  CHECK(t->outputName == "default");
  CHECK(t->unsupportedInputs == std::vector<std::string>{"logfile (logfile-1)"});
  CHECK(t->warnings.size() == 1);  // preset
  fim::config::LoadOptions load;
  load.defaultHome = "/tmp/fimbeat-test-home";
  load.requireModules = false;
  auto loaded = fim::config::loadText(t->yaml, "policy", load);
  REQUIRE_MESSAGE(loaded.has_value(), (loaded ? "" : loaded.error().message()) << "\n" << t->yaml);
  const auto& config = loaded->config;
  REQUIRE(config.modules.size() == 1);
  CHECK(config.modules[0].id == "audit/file_integrity-fim.event-5f0c");
  CHECK(config.modules[0].paths == std::vector<std::string>{"/etc"});
  CHECK(config.modules[0].excludeFiles.size() == 6);
  CHECK(config.modules[0].includeFiles.empty());
  CHECK(config.output.kind == fim::config::OutputKind::Elasticsearch);
  CHECK(config.output.elasticsearch.apiKey == "pVuaCfGcBCdbkQm-e5aO:ui2lp2axTNmsyakw9tvNnw");
  CHECK(config.dataStream.name() == "logs-fim.event-prod");
  CHECK_FALSE(config.setup.templateEnabled);
  CHECK(config.logging.level == "info");  // the local file's settings stay
}

TEST_CASE("policies fimbeat cannot run are rejected with the reason") {
  std::string logstash = kPolicy;
  logstash.replace(logstash.find("\"type\":\"elasticsearch\""), 22, "\"type\":\"logstash\"");
  auto t = translatePolicy(logstash, "", {"a", "v"});
  REQUIRE_FALSE(t.has_value());
  CHECK(t.error().message().find("only to Elasticsearch") != std::string::npos);
  CHECK_FALSE(translatePolicy("{not json", "", {"a", "v"}).has_value());
}

TEST_CASE("the local module and output sections are the ones a managed fimbeat ignores") {
  CHECK(ignoredLocalSections("fimbeat.modules: []\noutput.file.path: /x\nlogging.level: info\n") ==
        std::vector<std::string>{"fimbeat.modules", "output.file.path"});
}

TEST_CASE("checkin, ack and enroll bodies carry what Fleet Server reads") {
  CheckinRequest r{"online", "Running", "tok", "{}", "[]", "p", 3, "10m0s"};
  CHECK(checkinBody(r) ==
        R"({"status":"online","message":"Running","ack_token":"tok","local_metadata":{},"components":[],)"
        R"("agent_policy_id":"p","policy_revision_idx":3,"poll_timeout":"10m0s"})");
  CheckinRequest none{"starting", "m", "", "", "", "", std::nullopt, ""};
  CHECK(checkinBody(none) == R"({"status":"starting","message":"m"})");
  CHECK(ackBody("ag", {{"x", "UPGRADE", "2026-01-01T00:00:00.000Z", "no"}}) ==
        R"({"events":[{"type":"ACTION_RESULT","subtype":"ACKNOWLEDGED","agent_id":"ag","action_id":"x",)"
        R"("message":"Action 'x' of type 'UPGRADE' acknowledged.","timestamp":"2026-01-01T00:00:00.000Z","error":"no"}]})");
  CHECK(goDuration(std::chrono::minutes(10)) == "10m0s");
  CHECK(goDuration(std::chrono::seconds(5)) == "5s");
}

TEST_CASE("checkin responses: ack_token, actions in order, and unreadable answers") {
  auto r = parseCheckinResponse(
      R"({"action":"checkin","ack_token":"T","actions":[{"id":"a","type":"UNENROLL","agent_id":"x","created_at":"c","input_type":"","data":null},)"
      R"({"id":"b","type":"SETTINGS","agent_id":"x","created_at":"c","input_type":"","data":{"log_level":"debug"},"start_time":"2030-01-01T00:00:00Z"}]})");
  REQUIRE(r.has_value());
  CHECK(r->ackToken == "T");
  REQUIRE(r->actions.size() == 2);
  CHECK(r->actions[0].data == "null");
  CHECK(jsonString(r->actions[1].data, "/log_level") == "debug");
  CHECK(r->actions[1].startTime == "2030-01-01T00:00:00Z");
  CHECK_FALSE(parseCheckinResponse("<html>bad gateway</html>").has_value());
  CHECK_FALSE(parseCheckinResponse(R"({"action":"acks"})").has_value());
  auto acks = parseAckResponse(R"({"action":"acks","errors":true,"items":[{"status":200,"message":"OK"},{"status":404,"message":"x"}]})");
  REQUIRE(acks.has_value());
  CHECK(*acks == std::vector<int>{200, 404});
}

TEST_CASE("the state file round-trips, is 0600 in a 0700 directory, and a newer format is refused") {
  fim::testing::TempDir dir;
  FleetState s;
  s.lifecycle = Lifecycle::Enrolled;
  s.enrollment.agentId = "id";
  s.enrollment.accessApiKey = "secret-key";
  s.enrollment.hosts = {"http://a", "http://b"};
  s.ackToken = "tok";
  s.inbox = {R"({"id":"a","type":"SETTINGS","data":{}})"};
  s.outbox = {{"a", "SETTINGS", "ts", ""}};
  s.good = PolicyRecord{"p", 2, "sha", R"({"id":"p","revision":2})", "applied", "", 1};
  REQUIRE(saveState(dir.path().string(), s).has_value());
  struct stat st {};
  REQUIRE(::stat((dir.path().string() + "/fleet").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  REQUIRE(::stat((dir.path().string() + "/fleet/state.json").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  auto loaded = loadState(dir.path().string());
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->has_value());
  const auto& l = **loaded;
  CHECK(std::string(toString(l.lifecycle)) == "enrolled");
  CHECK(l.enrollment.accessApiKey == "secret-key");
  CHECK(l.enrollment.hosts.size() == 2);
  CHECK(l.ackToken == "tok");
  CHECK(l.inbox == s.inbox);
  CHECK(l.outbox.size() == 1);
  REQUIRE(l.good.has_value());
  CHECK(l.good->json == R"({"id":"p","revision":2})");
  CHECK(stateJson(l, false).find("secret-key") == std::string::npos);
  std::ofstream(dir.path().string() + "/fleet/state.json") << R"({"version":2})";
  auto newer = loadState(dir.path().string());
  REQUIRE_FALSE(newer.has_value());
  CHECK(newer.error().message().find("format version 2") != std::string::npos);
  std::ofstream(dir.path().string() + "/fleet/state.json") << "garbage";
  CHECK_FALSE(loadState(dir.path().string()).has_value());
}

TEST_CASE("the policy's fleet section: what it sets replaces the enroll values, what it leaves out restores them") {
  Enrollment enrolled;
  enrolled.hosts = {"https://fleet-a:8220"};
  enrolled.certificateAuthorities = {"/etc/fimbeat/ca.pem"};
  enrolled.proxyUrl = "http://enroll-proxy:3128";
  auto section = policyFleetSection(R"({"id":"p","fleet":{"hosts":["https://fleet-b:8220"],
    "proxy_url":"http://policy-proxy:3128","proxy_headers":{"X-Token":"t","X-Port":3128},
    "ssl":{"renegotiation":"never","verification_mode":"none","certificate_authorities":["-----BEGIN CERTIFICATE-----x"],
           "certificate":"-----BEGIN CERTIFICATE-----c","key":"-----BEGIN PRIVATE KEY-----k"}}})");
  REQUIRE(section.has_value());
  const auto used = effectiveSettings(enrolled, *section);
  CHECK(used.hosts == std::vector<std::string>{"https://fleet-b:8220"});
  CHECK(used.proxyUrl == "http://policy-proxy:3128");
  CHECK(used.proxyHeaders == std::map<std::string, std::string>{{"X-Port", "3128"}, {"X-Token", "t"}});
  CHECK(used.certificateAuthorities == std::vector<std::string>{"-----BEGIN CERTIFICATE-----x"});
  CHECK(used.certificate == "-----BEGIN CERTIFICATE-----c");
  CHECK(used.key == "-----BEGIN PRIVATE KEY-----k");
  // verification_mode is read but a policy cannot turn verification off (as in Elastic Agent).
  CHECK(used.verificationMode == fim::config::SslVerificationMode::Full);

  // Empty or absent values keep what enroll was given.
  auto bare = policyFleetSection(R"({"fleet":{"hosts":[],"proxy_url":"","ssl":{"verification_mode":""}}})");
  REQUIRE(bare.has_value());
  CHECK(effectiveSettings(enrolled, *bare) == transportSettings(enrolled));
  auto none = policyFleetSection(R"({"id":"p"})");
  REQUIRE(none.has_value());
  CHECK(effectiveSettings(enrolled, *none) == transportSettings(enrolled));

  // The running policy's section is what a restarted fimbeat uses.
  FleetState state;
  state.enrollment = enrolled;
  state.good = PolicyRecord{"p", 2, "", R"({"id":"p","fleet":{"proxy_url":"http://policy-proxy:3128"}})", "applied", "", 1};
  CHECK(effectiveSettings(state).proxyUrl == "http://policy-proxy:3128");
  CHECK(effectiveSettings(state).certificateAuthorities == enrolled.certificateAuthorities);
}

TEST_CASE("a fleet section fimbeat cannot use is refused with the key named") {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"fleet":{"proxy_url":"proxy:3128"}})", "fleet.proxy_url"},
      {R"({"fleet":{"proxy_url":42}})", "fleet.proxy_url"},
      {R"({"fleet":{"proxy_headers":["X-Token: t"]}})", "fleet.proxy_headers"},
      {R"({"fleet":{"proxy_headers":{"X-Token":"a\r\nInjected: yes"}}})", "fleet.proxy_headers"},
      {R"({"fleet":{"ssl":{"verification_mode":"sometimes"}}})", "fleet.ssl.verification_mode"},
      {R"({"fleet":{"ssl":{"certificate":"c.pem"}}})", "fleet.ssl.key"},
      {R"({"fleet":{"ssl":{"certificate_authorities":[1]}}})", "fleet.ssl.certificate_authorities"},
      {R"({"fleet":{"hosts":"https://fleet:8220","ssl":[]}})", "fleet.ssl"},
  };
  for (const auto& [policy, key] : cases) {
    CAPTURE(policy);
    auto section = policyFleetSection(policy);
    REQUIRE_FALSE(section.has_value());
    CHECK(section.error().message().find(key) != std::string::npos);
  }
  CHECK(policyFleetSection(R"({"fleet":{"hosts":"https://fleet:8220"}})")->hosts ==
        std::vector<std::string>{"https://fleet:8220"});
}

TEST_CASE("equal jitter: half the doubling step fixed, up to the other half random, capped at max") {
  using std::chrono::milliseconds;
  std::mt19937 random{7};
  for (int failures = 1; failures <= 8; ++failures) {
    const milliseconds step = std::min(milliseconds(100 << (failures - 1)), milliseconds(1000));
    std::set<long> seen;
    for (int draw = 0; draw < 200; ++draw) {
      const auto wait = equalJitter(milliseconds(100), milliseconds(1000), failures, random);
      CHECK(wait >= step / 2);
      CHECK(wait <= step);
      seen.insert(wait.count());
    }
    CHECK(seen.size() > 10);  // hosts cut off together do not come back together
  }
}

TEST_CASE("an INPUT_ACTION's input_type is read, and its ack carries the spec's inputEvent fields") {
  auto action = parseAction(R"({"id":"i","type":"INPUT_ACTION","agent_id":"x","created_at":"c",)"
                            R"("input_type":"audit/file_integrity","data":{"list":{}}})");
  REQUIRE(action.has_value());
  CHECK(action->inputType == "audit/file_integrity");
  CHECK(action->data == R"({"list":{}})");
  auto settings = parseAction(R"({"id":"s","type":"SETTINGS","input_type":"","data":{}})");
  REQUIRE(settings.has_value());
  CHECK(settings->inputType.empty());

  AckEvent input;
  input.actionId = "i";
  input.type = "INPUT_ACTION";
  input.timestamp = "2026-01-01T00:00:02.000Z";
  input.inputType = "audit/file_integrity";
  input.actionData = R"({"list":{}})";
  input.actionResponse = R"({"approvals":[]})";
  input.startedAt = "2026-01-01T00:00:01.000Z";
  input.completedAt = "2026-01-01T00:00:02.000Z";
  CHECK(ackBody("ag", {input}) ==
        R"({"events":[{"type":"ACTION_RESULT","subtype":"ACKNOWLEDGED","agent_id":"ag","action_id":"i",)"
        R"("message":"Action 'i' of type 'INPUT_ACTION' acknowledged.","timestamp":"2026-01-01T00:00:02.000Z",)"
        R"("action_input_type":"audit/file_integrity","action_data":{"list":{}},"action_response":{"approvals":[]},)"
        R"("started_at":"2026-01-01T00:00:01.000Z","completed_at":"2026-01-01T00:00:02.000Z"}]})");
  // An INPUT_ACTION ack kept by an older fimbeat, without them: still every field the spec requires.
  AckEvent old;
  old.actionId = "o";
  old.type = "INPUT_ACTION";
  old.timestamp = "2026-01-01T00:00:03.000Z";
  old.error = "fimbeat does not support INPUT_ACTION actions";
  const std::string body = ackBody("ag", {old});
  CHECK(body.find(R"("error":"fimbeat does not support INPUT_ACTION actions","action_input_type":"",)"
                  R"("action_data":null,"action_response":{},"started_at":"2026-01-01T00:00:03.000Z",)"
                  R"("completed_at":"2026-01-01T00:00:03.000Z"})") != std::string::npos);
  // Other types carry none of them.
  CHECK(ackBody("ag", {{"x", "SETTINGS", "t", ""}}).find("action_input_type") == std::string::npos);
}

TEST_CASE("an INPUT_ACTION's ack fields survive in the state file, and a file without them still reads") {
  fim::testing::TempDir dir;
  FleetState s;
  s.lifecycle = Lifecycle::Enrolled;
  s.enrollment.agentId = "id";
  AckEvent input;
  input.actionId = "i";
  input.type = "INPUT_ACTION";
  input.timestamp = "t2";
  input.error = "";
  input.inputType = "audit/file_integrity";
  input.actionData = R"({"approve":{"paths":["/etc"],"for":"30m","reason":"CHG-1"}})";
  input.actionResponse = R"({"approval":{"id":"0a1b2c3d"}})";
  input.startedAt = "t1";
  input.completedAt = "t2";
  s.outbox = {{"a", "SETTINGS", "ts", ""}, input};
  REQUIRE(saveState(dir.path().string(), s).has_value());
  auto loaded = loadState(dir.path().string());
  REQUIRE(loaded.has_value());
  REQUIRE(loaded->has_value());
  const auto& outbox = (*loaded)->outbox;
  REQUIRE(outbox.size() == 2);
  CHECK(outbox[0].inputType.empty());
  CHECK(outbox[0].actionData.empty());
  CHECK(outbox[1].inputType == "audit/file_integrity");
  CHECK(outbox[1].actionData == input.actionData);
  CHECK(outbox[1].actionResponse == input.actionResponse);
  CHECK(outbox[1].startedAt == "t1");
  CHECK(outbox[1].completedAt == "t2");
  CHECK(ackBody("id", outbox) == ackBody("id", s.outbox));

  // A state file written before INPUT_ACTIONs were taken: its outbox entries have four fields.
  std::ofstream(dir.path().string() + "/fleet/state.json", std::ios::trunc)
      << R"({"version":1,"lifecycle":"enrolled","enrollment":{"agent_id":"id"},"ack_token":"tok","done":["o"],)"
         R"("outbox":[{"action_id":"o","type":"INPUT_ACTION","timestamp":"2026-01-01T00:00:03.000Z",)"
         R"("error":"fimbeat does not support INPUT_ACTION actions"}]})";
  auto old = loadState(dir.path().string());
  REQUIRE(old.has_value());
  REQUIRE(old->has_value());
  REQUIRE((*old)->outbox.size() == 1);
  const auto& event = (*old)->outbox[0];
  CHECK(event.actionId == "o");
  CHECK(event.error == "fimbeat does not support INPUT_ACTION actions");
  CHECK(event.inputType.empty());
  CHECK(event.actionData.empty());
  CHECK(event.actionResponse.empty());
  CHECK(ackBody("id", (*old)->outbox).find(R"("started_at":"2026-01-01T00:00:03.000Z")") != std::string::npos);
}

namespace {

// The application's side of an INPUT_ACTION: a real approval store in a temporary directory.
class ApprovalTarget final : public PolicyTarget {
 public:
  explicit ApprovalTarget(const std::string& dir)
      : store_(fim::management::ApprovalStore::open(fim::management::approvalsFile(dir), clock_)) {}
  fim::core::Status apply(const std::string&) override { return {}; }
  void stopInputs() override {}
  void setLogLevel(const std::string&) override {}
  fim::core::Result<std::vector<fim::management::Approval>> approvals(
      const fim::management::ControlRequest& request) override {
    return fim::management::carryOut(*store_, request);
  }
  fim::management::ApprovalStore& store() { return *store_; }

 private:
  fim::core::SystemClock clock_;
  std::unique_ptr<fim::management::ApprovalStore> store_;
};

std::string inputAction(const std::string& id, const std::string& inputType, const std::string& data) {
  return R"({"id":")" + id + R"(","type":"INPUT_ACTION","agent_id":"x","created_at":"c","input_type":")" + inputType +
         R"(","data":)" + data + "}";
}

}  // namespace

TEST_CASE("INPUT_ACTION for the fim input runs an approval command, for another input it is acked with an error") {
  fim::testing::TempDir dir;
  ApprovalTarget target(dir.path().string());
  FleetState state;
  fim::config::FleetConfig config;
  int saves = 0;
  ActionHandler handler(state, config, target, [](const TransportSettings&) { return fim::core::Status{}; },
                        [&] { ++saves; });
  const std::string approve = R"({"approve":{"paths":["/etc/nginx/"],"for":"30m","reason":"CHG-1234"}})";
  state.inbox = {inputAction("a", "audit/file_integrity", approve)};
  REQUIRE(handler.executeDue());
  REQUIRE(state.outbox.size() == 1);
  const AckEvent ack = state.outbox[0];
  CHECK(ack.error.empty());
  CHECK(ack.inputType == "audit/file_integrity");
  CHECK(ack.actionData == approve);
  CHECK_FALSE(ack.startedAt.empty());
  CHECK(ack.completedAt == ack.timestamp);
  auto current = target.store().list();
  REQUIRE(current.has_value());
  REQUIRE(current->size() == 1);
  const auto& approval = current->front();
  CHECK(approval.paths == std::vector<std::string>{"/etc/nginx"});
  CHECK(approval.reason == "CHG-1234");
  CHECK(approval.expires - approval.created == std::chrono::minutes(30));
  CHECK(jsonString(ack.actionResponse, "/approval/id") == approval.id);
  CHECK(jsonString(ack.actionResponse, "/approval/expires") == fim::core::formatTimestamp(approval.expires));

  state.inbox = {inputAction("l", "audit/file_integrity", R"({"list":{}})"),
                 inputAction("bad", "audit/file_integrity", R"({"approve":{"paths":["etc"],"for":"30m","reason":"r"}})"),
                 inputAction("noreason", "audit/file_integrity", R"({"approve":{"paths":["/etc"],"for":"30m"}})"),
                 inputAction("badfor", "audit/file_integrity", R"({"approve":{"paths":["/etc"],"for":"soon","reason":"r"}})"),
                 inputAction("what", "audit/file_integrity", R"({"delete":{}})"),
                 inputAction("osq", "osquery", R"({"query":"select 1"})"),
                 inputAction("r", "audit/file_integrity", R"({"revoke":{"id":")" + approval.id + R"("}})")};
  REQUIRE(handler.executeDue());
  REQUIRE(state.outbox.size() == 8);
  CHECK(state.outbox[1].error.empty());
  CHECK(jsonString(state.outbox[1].actionResponse, "/approvals/0/id") == approval.id);
  CHECK(state.outbox[2].error.find("must be absolute") != std::string::npos);
  CHECK(state.outbox[3].error.find("\"reason\"") != std::string::npos);
  CHECK(state.outbox[4].error.find("positive duration") != std::string::npos);
  CHECK(state.outbox[5].error.find("unknown approval command \"delete\"") != std::string::npos);
  CHECK(state.outbox[6].error.find("osquery") != std::string::npos);
  for (std::size_t i = 2; i <= 6; ++i) {
    CHECK(jsonString(state.outbox[i].actionResponse, "/error") == state.outbox[i].error);
    CHECK_FALSE(state.outbox[i].inputType.empty());
    CHECK_FALSE(state.outbox[i].startedAt.empty());
  }
  CHECK(state.outbox[6].inputType == "osquery");
  CHECK(state.outbox[6].actionData == R"({"query":"select 1"})");
  CHECK(state.outbox[7].error.empty());
  CHECK(jsonString(state.outbox[7].actionResponse, "/revoked/id") == approval.id);
  CHECK(target.store().list()->empty());
  CHECK(saves >= 2);
}
