#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/curl_loader.h"
#include "support/temp_dir.h"

using namespace fim;

namespace {

bool curlMapped() {
  std::ifstream maps("/proc/self/maps");
  std::stringstream text;
  text << maps.rdbuf();
  return text.str().find("libcurl") != std::string::npos;
}

std::size_t collect(char* data, std::size_t size, std::size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

}  // namespace

TEST_CASE("curl loader: libcurl is mapped at the first call, and every argument type reaches it") {
  CHECK_FALSE(curlMapped());  // nothing in this binary has made an HTTP request yet
  REQUIRE(core::loadCurl().has_value());
  CHECK(curlMapped());

  fim::testing::TempDir dir;
  const std::string path = dir.write("body.txt", "hello world!\n");
  CURL* handle = curl_easy_init();
  REQUIRE(handle != nullptr);
  std::string body;
  const std::string url = "file://" + path;
  CHECK(curl_easy_setopt(handle, CURLOPT_URL, url.c_str()) == CURLE_OK);          // a string
  CHECK(curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L) == CURLE_OK);             // a long
  CHECK(curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, &collect) == CURLE_OK);  // a function
  CHECK(curl_easy_setopt(handle, CURLOPT_WRITEDATA, &body) == CURLE_OK);         // a pointer
  CHECK(curl_easy_perform(handle) == CURLE_OK);
  CHECK(body == "hello world!\n");
  curl_off_t downloaded = 0;
  CHECK(curl_easy_getinfo(handle, CURLINFO_SIZE_DOWNLOAD_T, &downloaded) == CURLE_OK);
  CHECK(downloaded == 13);
  // An off_t: the offset to resume from arrives intact.
  CHECK(curl_easy_setopt(handle, CURLOPT_RESUME_FROM_LARGE, curl_off_t{6}) == CURLE_OK);
  body.clear();
  CHECK(curl_easy_perform(handle) == CURLE_OK);
  CHECK(body == "world!\n");
  CHECK(std::string(curl_easy_strerror(CURLE_FILESIZE_EXCEEDED)).find("size") != std::string::npos);
  curl_easy_cleanup(handle);

  curl_slist* headers = curl_slist_append(nullptr, "X-Test: 1");
  CHECK(headers != nullptr);
  curl_slist_free_all(headers);
}
