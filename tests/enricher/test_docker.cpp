// The Docker Engine API answers add_docker_metadata reads, from the samples of the Engine API
// reference (docs.docker.com/engine/api/v1.43: ContainerList, ContainerInspect, SystemVersion).

#include <doctest/doctest.h>

#include "enricher/docker/docker_client.h"

using namespace fim;

TEST_CASE("docker: the container list gives id, the first name without '/', the image and the labels") {
  const char* json = R"([
    {"Id": "8dfafdbc3a40", "Names": ["/boring_feynman", "/other"], "Image": "ubuntu:latest",
     "ImageID": "d74508fb6632491cea586a1fd7d748dfc5274cd6fdfedee309ecdcbc2bf5cb82", "Command": "echo 1",
     "Created": 1367854155, "State": "Exited", "Status": "Exit 0",
     "Ports": [{"PrivatePort": 2222, "PublicPort": 3333, "Type": "tcp"}],
     "Labels": {"com.example.vendor": "Acme", "com.example.license": "GPL", "com.example.version": "1.0"},
     "SizeRw": 12288, "SizeRootFs": 0, "HostConfig": {"NetworkMode": "default"},
     "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}}, "Mounts": []},
    {"Id": "9cd87474be90", "Names": ["/coolName"], "Image": "ubuntu:latest", "Labels": null}
  ])";
  auto list = enricher::parseContainerList(json);
  REQUIRE(list.has_value());
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].id == "8dfafdbc3a40");
  CHECK((*list)[0].name == "boring_feynman");
  CHECK((*list)[0].image == "ubuntu:latest");
  CHECK((*list)[0].labels.at("com.example.vendor") == "Acme");
  CHECK((*list)[1].labels.empty());
  CHECK_FALSE(enricher::parseContainerList(R"({"message":"page not found"})").has_value());
  CHECK_FALSE(enricher::parseContainerList("not json").has_value());
}

TEST_CASE("docker: an inspection gives the name without '/', Config.Image (not the image id) and Config.Labels") {
  const char* json = R"({"Id": "ba033ac4401106a3b513bc9d639eee123ad78ca3616b921167cd74b20e25ed39",
    "Created": "2015-01-06T15:47:31.485331387Z", "Path": "/bin/sh", "Args": ["-c", "exit 9"],
    "State": {"Status": "running", "Running": true, "Pid": 1234},
    "Image": "sha256:04c5d3b7b0656168630d3ba35d8889bd0e9caafcaeb3004d2bfbc47e7c5d35d2",
    "Name": "/boring_euclid", "RestartCount": 1, "Driver": "overlay2",
    "Config": {"Hostname": "ba033ac44011", "Image": "ubuntu", "Labels": {"com.example.vendor": "Acme"}}})";
  auto c = enricher::parseContainerInspect(json);
  REQUIRE(c.has_value());
  CHECK(c->id == "ba033ac4401106a3b513bc9d639eee123ad78ca3616b921167cd74b20e25ed39");
  CHECK(c->name == "boring_euclid");
  CHECK(c->image == "ubuntu");
  CHECK(c->labels.at("com.example.vendor") == "Acme");
  CHECK_FALSE(enricher::parseContainerInspect(R"({"Name": "/x"})").has_value());
}

TEST_CASE("docker: the API version is the lower of the daemon's and 1.43") {
  CHECK(enricher::parseApiVersion(R"({"Version": "24.0.7", "ApiVersion": "1.43", "MinAPIVersion": "1.12"})").value() == "1.43");
  CHECK(enricher::parseApiVersion(R"({"ApiVersion": "1.45"})").value() == "1.43");
  CHECK(enricher::parseApiVersion(R"({"ApiVersion": "1.41"})").value() == "1.41");
  CHECK(enricher::parseApiVersion(R"({"ApiVersion": "1.9"})").value() == "1.9");
  CHECK_FALSE(enricher::parseApiVersion(R"({"Version": "24.0.7"})").has_value());
}

TEST_CASE("docker: the host setting picks the socket or the URL, and a bad one is an error") {
  config::DockerMetadataConfig c;
  CHECK(enricher::DockerClient::create(c).has_value());
  c.host = "unix://";
  CHECK_FALSE(enricher::DockerClient::create(c).has_value());
  c.host = "tcp://127.0.0.1:2375";
  CHECK(enricher::DockerClient::create(c).has_value());
}
