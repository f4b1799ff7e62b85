#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include <doctest/doctest.h>

#include "enricher/cloud/cloud_probe.h"
#include "enricher/cloud/cloud_provider.h"
#include "fake_metadata_server.h"

namespace fim::enricher {
namespace {

using namespace std::chrono_literals;
using fim::testing::BlackHole;
using fim::testing::FakeMetadataServer;

// The documented example identity document of an EC2 instance.
const std::string kAwsDocument = R"({
  "accountId" : "123456789012", "architecture" : "x86_64", "availabilityZone" : "us-east-1c",
  "billingProducts" : null, "devpayProductCodes" : null, "marketplaceProductCodes" : null,
  "imageId" : "ami-0abcdef1234567890", "instanceId" : "i-1234567890abcdef0", "instanceType" : "t3.medium",
  "kernelId" : null, "pendingTime" : "2024-01-01T00:00:00Z", "privateIp" : "10.0.0.12", "ramdiskId" : null,
  "region" : "us-east-1", "version" : "2017-09-30"})";

const std::string kGcpMetadata = R"({
  "instance": {"id": 12345678901234567890, "name": "fim-vm-1", "hostname": "fim-vm-1.c.proj.internal",
               "machineType": "projects/987654321/machineTypes/e2-medium", "zone": "projects/987654321/zones/europe-west1-b",
               "attributes": {}, "networkInterfaces": [{"ip": "10.132.0.2"}]},
  "project": {"projectId": "acme-prod", "numericProjectId": 987654321}})";

const std::string kAzureCompute = R"({
  "location": "westeurope", "name": "fim-az-1", "resourceGroupName": "rg-fim", "subscriptionId": "8d10da13-8125-4ba9-a717-bf7490507b3d",
  "vmId": "02aab8a4-74ef-476e-8182-f6d2ba4166a6", "vmSize": "Standard_D2s_v5", "zone": "1", "osType": "Linux"})";

const std::string kDigitalOcean = R"({"droplet_id": 2756294, "hostname": "sample-droplet", "region": "nyc3",
  "interfaces": {"public": [{"ipv4": {"ip_address": "203.0.113.5"}}]}})";

CloudProbeOptions optionsFor(const std::string& host, std::vector<std::string> providers,
                             std::chrono::milliseconds timeout = 5000ms) {
  CloudProbeOptions options;
  options.host = host;
  options.providers = std::move(providers);
  options.timeout = timeout;
  return options;
}

TEST_CASE("parsers: AWS identity document") {
  auto cloud = parseAwsIdentityDocument(kAwsDocument);
  REQUIRE(cloud);
  CHECK(cloud->provider == "aws");
  CHECK(cloud->instanceId == "i-1234567890abcdef0");
  CHECK(cloud->machineType == "t3.medium");
  CHECK(cloud->region == "us-east-1");
  CHECK(cloud->availabilityZone == "us-east-1c");
  CHECK(cloud->accountId == "123456789012");
  CHECK(cloud->serviceName == "EC2");
  CHECK(cloud->projectId.empty());
  CHECK_FALSE(parseAwsIdentityDocument(R"({"region":"us-east-1"})"));  // no instanceId
  CHECK_FALSE(parseAwsIdentityDocument("<html>404</html>"));
  CHECK_FALSE(parseAwsIdentityDocument("[]"));
}

TEST_CASE("parsers: GCE, Azure and DigitalOcean documents") {
  auto gcp = parseGcpMetadata(kGcpMetadata);
  REQUIRE(gcp);
  CHECK(gcp->provider == "gcp");
  CHECK(gcp->instanceId == "12345678901234567890");  // above INT64_MAX: kept exact
  CHECK(gcp->instanceName == "fim-vm-1");
  CHECK(gcp->machineType == "e2-medium");
  CHECK(gcp->availabilityZone == "europe-west1-b");
  CHECK(gcp->projectId == "acme-prod");
  CHECK(gcp->accountId == "acme-prod");
  CHECK(gcp->serviceName == "GCE");
  CHECK(gcp->region.empty());  // add_cloud_metadata gives no region for GCE
  CHECK_FALSE(parseGcpMetadata(R"({"project":{"projectId":"x"}})"));

  auto azure = parseAzureCompute(kAzureCompute);
  REQUIRE(azure);
  CHECK(azure->provider == "azure");
  CHECK(azure->instanceId == "02aab8a4-74ef-476e-8182-f6d2ba4166a6");
  CHECK(azure->instanceName == "fim-az-1");
  CHECK(azure->machineType == "Standard_D2s_v5");
  CHECK(azure->region == "westeurope");
  CHECK(azure->accountId == "8d10da13-8125-4ba9-a717-bf7490507b3d");
  CHECK(azure->serviceName == "Virtual Machines");

  auto droplet = parseDigitalOceanMetadata(kDigitalOcean);
  REQUIRE(droplet);
  CHECK(droplet->provider == "digitalocean");
  CHECK(droplet->instanceId == "2756294");
  CHECK(droplet->region == "nyc3");
  CHECK(droplet->serviceName == "Droplets");
  CHECK_FALSE(parseDigitalOceanMetadata(R"({"region":"nyc3"})"));
}

TEST_CASE("text values: trimmed, printable, short, no HTML") {
  CHECK(metadataText("i-0abc\n").value() == "i-0abc");
  CHECK(metadataText("nova").value() == "nova");
  CHECK_FALSE(metadataText("<html><body>Not Found</body></html>"));
  CHECK_FALSE(metadataText(std::string(300, 'a')));
  CHECK_FALSE(metadataText(std::string("a\0b", 3)));
  CHECK_FALSE(metadataText("line1\nline2"));
}

TEST_CASE("provider names: aliases, unknown names skipped, priority order kept") {
  CHECK(canonicalCloudProvider("ec2") == "aws");
  CHECK(canonicalCloudProvider("nova") == "openstack");
  CHECK(canonicalCloudProvider("huawei") == "openstack");
  CHECK_FALSE(canonicalCloudProvider("alibaba"));
  CHECK_FALSE(canonicalCloudProvider("AWS"));
  auto providers = makeCloudProviders({"hetzner", "bogus", "ec2", "aws"});
  REQUIRE(providers.size() == 2);
  CHECK(providers[0]->name() == "aws");
  CHECK(providers[1]->name() == "hetzner");
  CHECK(makeCloudProviders({}).size() == allCloudProviders().size());
}

TEST_CASE("probe: AWS IMDSv2 with a session token") {
  FakeMetadataServer server;
  server.serveAws(kAwsDocument);
  server.start();

  // The fake enforces the token, as IMDSv2 in required mode does.
  httplib::Client plain("127.0.0.1", server.port());
  auto withoutToken = plain.Get("/latest/dynamic/instance-identity/document");
  REQUIRE(withoutToken);
  CHECK(withoutToken->status == 401);

  auto result = probeCloud(optionsFor(server.host(), {"aws"}));
  REQUIRE(result.cloud);
  CHECK(result.cloud->provider == "aws");
  CHECK(result.cloud->instanceId == "i-1234567890abcdef0");
  CHECK(result.cloud->region == "us-east-1");
  CHECK(result.cloud->serviceName == "EC2");
  CHECK(server.tokenRequests == 1);
}

TEST_CASE("probe: AWS without IMDSv2 (token endpoint 404) falls back to IMDSv1") {
  FakeMetadataServer server;
  server.routes().Get("/latest/dynamic/instance-identity/document", [](const httplib::Request& req, httplib::Response& res) {
    CHECK_FALSE(req.has_header("X-aws-ec2-metadata-token"));
    res.set_content(kAwsDocument, "text/plain");
  });
  server.start();
  auto result = probeCloud(optionsFor(server.host(), {"aws"}));
  REQUIRE(result.cloud);
  CHECK(result.cloud->instanceId == "i-1234567890abcdef0");
}

TEST_CASE("probe: AWS token refused with 401 on the document is no cloud") {
  FakeMetadataServer server;
  server.routes().Put("/latest/api/token", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("wrong-token", "text/plain");
  });
  server.routes().Get("/latest/dynamic/instance-identity/document", [](const httplib::Request&, httplib::Response& res) {
    res.status = 401;
  });
  server.start();
  auto result = probeCloud(optionsFor(server.host(), {"aws"}));
  CHECK_FALSE(result.cloud);
  REQUIRE(result.failures.size() == 1);
  CHECK(result.failures[0].find("aws: GET /latest/dynamic/instance-identity/document: HTTP 401") == 0);
  CHECK(result.failures[0].find("wrong-token") == std::string::npos);  // the token is never in a message
}

TEST_CASE("probe: GCE requires Metadata-Flavor: Google") {
  FakeMetadataServer server;
  server.serveGcp(kGcpMetadata);
  server.start();

  httplib::Client plain("127.0.0.1", server.port());
  auto withoutFlavor = plain.Get("/computeMetadata/v1/?recursive=true&alt=json");
  REQUIRE(withoutFlavor);
  CHECK(withoutFlavor->status == 403);

  auto result = probeCloud(optionsFor(server.host(), {"gcp"}));
  REQUIRE(result.cloud);
  CHECK(result.cloud->provider == "gcp");
  CHECK(result.cloud->instanceId == "12345678901234567890");
  CHECK(result.cloud->machineType == "e2-medium");
  CHECK(result.cloud->availabilityZone == "europe-west1-b");
  CHECK(result.cloud->projectId == "acme-prod");
}

TEST_CASE("probe: Azure and DigitalOcean") {
  FakeMetadataServer azure;
  azure.serveAzure(kAzureCompute);
  azure.start();
  auto az = probeCloud(optionsFor(azure.host(), {"azure"}));
  REQUIRE(az.cloud);
  CHECK(az.cloud->provider == "azure");
  CHECK(az.cloud->instanceId == "02aab8a4-74ef-476e-8182-f6d2ba4166a6");

  FakeMetadataServer droplet;
  droplet.serveDigitalOcean(kDigitalOcean);
  droplet.start();
  auto dg = probeCloud(optionsFor(droplet.host(), {"digitalocean"}));
  REQUIRE(dg.cloud);
  CHECK(dg.cloud->provider == "digitalocean");
  CHECK(dg.cloud->instanceId == "2756294");
  CHECK(dg.cloud->region == "nyc3");
}

TEST_CASE("probe: OpenStack and Hetzner from their per-field text endpoints") {
  FakeMetadataServer nova;
  nova.serveText("/2009-04-04/meta-data/instance-id", "i-0000abcd");
  nova.serveText("/2009-04-04/meta-data/instance-type", "m1.small");
  nova.serveText("/2009-04-04/meta-data/hostname", "fim-nova-1.novalocal");
  nova.serveText("/2009-04-04/meta-data/placement/availability-zone", "nova");
  nova.start();
  auto os = probeCloud(optionsFor(nova.host(), {"nova"}));
  REQUIRE(os.cloud);
  CHECK(os.cloud->provider == "openstack");
  CHECK(os.cloud->instanceId == "i-0000abcd");
  CHECK(os.cloud->machineType == "m1.small");
  CHECK(os.cloud->instanceName == "fim-nova-1.novalocal");
  CHECK(os.cloud->availabilityZone == "nova");
  CHECK(os.cloud->serviceName == "Nova");

  FakeMetadataServer hetzner;
  hetzner.serveText("/hetzner/v1/metadata/instance-id", "42424242");
  hetzner.serveText("/hetzner/v1/metadata/hostname", "fim-hz-1");
  hetzner.serveText("/hetzner/v1/metadata/availability-zone", "fsn1-dc14");
  hetzner.serveText("/hetzner/v1/metadata/region", "eu-central");
  hetzner.start();
  auto hz = probeCloud(optionsFor(hetzner.host(), {"hetzner"}));
  REQUIRE(hz.cloud);
  CHECK(hz.cloud->provider == "hetzner");
  CHECK(hz.cloud->instanceId == "42424242");
  CHECK(hz.cloud->instanceName == "fim-hz-1");
  CHECK(hz.cloud->availabilityZone == "fsn1-dc14");
  CHECK(hz.cloud->region == "eu-central");
}

TEST_CASE("probe: all providers at once, the one that answers wins, the others fail fast") {
  FakeMetadataServer server;
  server.serveGcp(kGcpMetadata);
  server.start();
  auto result = probeCloud(optionsFor(server.host(), {}, 10000ms));
  REQUIRE(result.cloud);
  CHECK(result.cloud->provider == "gcp");
}

TEST_CASE("probe: aws wins over openstack's EC2-style answer, even when openstack answers first") {
  FakeMetadataServer server;
  std::mutex mutex;
  std::condition_variable cv;
  bool novaServed = false;
  for (const char* path : {"/2009-04-04/meta-data/instance-id", "/2009-04-04/meta-data/instance-type",
                           "/2009-04-04/meta-data/hostname", "/2009-04-04/meta-data/placement/availability-zone"}) {
    server.routes().Get(path, [&](const httplib::Request& req, httplib::Response& res) {
      res.set_content("value-of-" + req.path.substr(req.path.rfind('/') + 1), "text/plain");
      std::lock_guard lock(mutex);
      novaServed = true;
      cv.notify_all();
    });
  }
  server.routes().Put("/latest/api/token", [&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 4s, [&] { return novaServed; });  // hold aws back until openstack has answered
    res.set_content(FakeMetadataServer::kToken, "text/plain");
  });
  server.routes().Get("/latest/dynamic/instance-identity/document", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(kAwsDocument, "text/plain");
  });
  server.start();
  auto result = probeCloud(optionsFor(server.host(), {"openstack", "aws"}, 10000ms));
  REQUIRE(result.cloud);
  CHECK(result.cloud->provider == "aws");
}

TEST_CASE("probe: a black-holed endpoint gives no cloud, within the timeout") {
  BlackHole hole;
  const auto timeout = 400ms;
  const auto start = std::chrono::steady_clock::now();
  auto result = probeCloud(optionsFor(hole.host(), {}, timeout));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(result.cloud);
  CHECK(result.failures.size() == allCloudProviders().size());
  for (const auto& failure : result.failures) {
    CAPTURE(failure);
    CHECK((failure.find("timed out") != std::string::npos || failure.find("within the timeout") != std::string::npos));
  }
  CHECK(elapsed < timeout + 1500ms);  // the bound the option promises, with a margin for a loaded machine
}

TEST_CASE("probe: a stop request ends a probe in flight long before its timeout") {
  FakeMetadataServer server;
  std::mutex mutex;
  std::condition_variable cv;
  bool entered = false;
  bool release = false;
  server.routes().Get("/metadata/v1.json", [&](const httplib::Request&, httplib::Response& res) {
    std::unique_lock lock(mutex);
    entered = true;
    cv.notify_all();
    cv.wait_for(lock, 30s, [&] { return release; });  // an answer that takes as long as the probe allows
    res.set_content(kDigitalOcean, "application/json");
  });
  server.start();
  std::stop_source stop;
  std::jthread stopper([&] {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 10s, [&] { return entered; });
    stop.request_stop();
  });
  const auto start = std::chrono::steady_clock::now();
  auto result = probeCloud(optionsFor(server.host(), {"digitalocean"}, 30000ms), stop.get_token());
  const auto elapsed = std::chrono::steady_clock::now() - start;
  {
    std::lock_guard lock(mutex);
    CHECK(entered);
    release = true;
  }
  cv.notify_all();
  CHECK_FALSE(result.cloud);
  CHECK(elapsed < 10s);
}

TEST_CASE("probe: a provider answering garbage is ignored") {
  FakeMetadataServer server;
  server.routes().Get("/computeMetadata/v1/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("this is not json {", "application/json");
  });
  server.routes().Get("/metadata/instance/compute", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"note":"valid JSON without vmId"})", "application/json");
  });
  server.routes().Get(R"(/2009-04-04/meta-data/.*)", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html><body>Welcome to nginx!</body></html>", "text/html");
  });
  server.start();
  auto result = probeCloud(optionsFor(server.host(), {"gcp", "azure", "openstack"}));
  CHECK_FALSE(result.cloud);
  REQUIRE(result.failures.size() == 3);
  std::string all;
  for (const auto& f : result.failures) all += f + "\n";
  CAPTURE(all);
  CHECK(all.find("gcp: GCE metadata is not JSON") != std::string::npos);
  CHECK(all.find("azure: Azure compute metadata has no vmId") != std::string::npos);
  CHECK(all.find("openstack: GET /2009-04-04/meta-data/") != std::string::npos);
}

TEST_CASE("probe: an oversized answer is not read to its end") {
  FakeMetadataServer server;
  const std::string huge(4 * 1024 * 1024, 'x');
  server.routes().Get("/metadata/v1.json", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(huge, "application/json");
  });
  server.start();
  auto result = probeCloud(optionsFor(server.host(), {"digitalocean"}));
  CHECK_FALSE(result.cloud);
  REQUIRE(result.failures.size() == 1);
  CHECK(result.failures[0].find("digitalocean: GET /metadata/v1.json") == 0);
}

}  // namespace
}  // namespace fim::enricher
