#include "enricher/cloud/cloud_probe.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include "enricher/cloud/cloud_provider.h"

namespace fim::enricher {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kMaxBody = 1024 * 1024;  // metadata documents are a few KiB

void initCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::size_t appendBody(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<std::string*>(user);
  const std::size_t n = size * count;
  if (body->size() + n > kMaxBody) return 0;  // aborts the transfer: not a metadata answer
  body->append(data, n);
  return n;
}

struct Transfer {
  std::size_t provider = 0;
  std::size_t index = 0;  // position of the request in its round
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpResponse response;
  char error[CURL_ERROR_SIZE] = {};
};

struct ProviderState {
  std::unique_ptr<CloudProvider> provider;
  std::size_t round = 0;
  std::vector<HttpResponse> responses;
  std::size_t pending = 0;
  bool finished = false;
  std::optional<events::CloudInfo> cloud;
};

class Probe {
 public:
  Probe(const CloudProbeOptions& options, Clock::time_point deadline)
      : options_(options), deadline_(deadline), multi_(curl_multi_init()) {}

  ~Probe() {
    for (auto& t : transfers_) release(*t);
    curl_multi_cleanup(multi_);
  }

  CloudProbeResult run(std::stop_token stop) {
    CloudProbeResult result;
    if (multi_ == nullptr) {
      result.failures.push_back("libcurl could not create a multi handle");
      return result;
    }
    for (auto& provider : makeCloudProviders(options_.providers)) {
      states_.push_back(ProviderState{.provider = std::move(provider)});
    }
    for (std::size_t i = 0; i < states_.size(); ++i) send(i, states_[i].provider->firstRound());
    std::stop_callback wake(stop, [this] { curl_multi_wakeup(multi_); });
    while (!stop.stop_requested()) {
      if (auto winner = pickWinner(false)) {
        result.cloud = states_[*winner].cloud;
        break;
      }
      const auto now = Clock::now();
      if (now >= deadline_ || allFinished()) break;
      int running = 0;
      curl_multi_perform(multi_, &running);
      collect();
      if (pickWinner(false) || allFinished()) continue;
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
      curl_multi_poll(multi_, nullptr, 0, static_cast<int>(std::clamp<long long>(left, 1, 1000)), nullptr);
    }
    if (!result.cloud && !stop.stop_requested()) {
      if (auto winner = pickWinner(true)) result.cloud = states_[*winner].cloud;
    }
    for (const auto& state : states_) {
      if (!state.finished) failures_.push_back(std::string(state.provider->name()) + ": no answer within the timeout");
    }
    result.failures = std::move(failures_);
    return result;
  }

 private:
  // The first provider in priority order with a valid answer, unless aws is still pending
  // (then only aws may win, until the deadline: `atDeadline`).
  std::optional<std::size_t> pickWinner(bool atDeadline) const {
    for (std::size_t i = 0; i < states_.size(); ++i) {
      const auto& s = states_[i];
      if (s.cloud) return i;
      if (!s.finished && s.provider->name() == "aws" && !atDeadline) return std::nullopt;
    }
    return std::nullopt;
  }

  bool allFinished() const {
    return std::all_of(states_.begin(), states_.end(), [](const ProviderState& s) { return s.finished; });
  }

  void send(std::size_t provider, const std::vector<HttpRequest>& requests) {
    auto& state = states_[provider];
    state.responses.assign(requests.size(), HttpResponse{});
    state.pending = requests.size();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
    for (std::size_t i = 0; i < requests.size(); ++i) {
      auto t = std::make_unique<Transfer>();
      t->provider = provider;
      t->index = i;
      t->easy = curl_easy_init();
      if (t->easy == nullptr) {
        t->response.error = "libcurl could not create a handle";
        finish(*t);
        continue;
      }
      configure(*t, requests[i], std::max<long long>(left, 1));
      curl_multi_add_handle(multi_, t->easy);
      transfers_.push_back(std::move(t));
    }
  }

  void configure(Transfer& t, const HttpRequest& request, long long timeoutMs) {
    const std::string url = "http://" + options_.host + request.path;
    curl_easy_setopt(t.easy, CURLOPT_URL, url.c_str());
    curl_easy_setopt(t.easy, CURLOPT_PRIVATE, &t);
    curl_easy_setopt(t.easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t.easy, CURLOPT_PROXY, "");  // link-local services: never through a proxy from the environment
    curl_easy_setopt(t.easy, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(t.easy, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(t.easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeoutMs));
    curl_easy_setopt(t.easy, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeoutMs));
    curl_easy_setopt(t.easy, CURLOPT_WRITEFUNCTION, &appendBody);
    curl_easy_setopt(t.easy, CURLOPT_WRITEDATA, &t.response.body);
    curl_easy_setopt(t.easy, CURLOPT_ERRORBUFFER, t.error);
    curl_easy_setopt(t.easy, CURLOPT_USERAGENT, "fimbeat");
    for (const auto& header : request.headers) t.headers = curl_slist_append(t.headers, header.c_str());
    if (request.method == "PUT") {
      curl_easy_setopt(t.easy, CURLOPT_CUSTOMREQUEST, "PUT");
      curl_easy_setopt(t.easy, CURLOPT_POSTFIELDS, "");
      curl_easy_setopt(t.easy, CURLOPT_POSTFIELDSIZE, 0L);
      t.headers = curl_slist_append(t.headers, "Content-Type:");  // an empty body has no type
    }
    curl_easy_setopt(t.easy, CURLOPT_HTTPHEADER, t.headers);
  }

  void collect() {
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Transfer* t = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &t);
      if (msg->data.result == CURLE_OK) {
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->response.status);
      } else {
        t->response.status = 0;
        t->response.error = t->error[0] != '\0' ? t->error : curl_easy_strerror(msg->data.result);
      }
      finish(*t);
      release(*t);
    }
    std::erase_if(transfers_, [](const std::unique_ptr<Transfer>& t) { return t->easy == nullptr; });
  }

  void finish(Transfer& t) {
    auto& state = states_[t.provider];
    state.responses[t.index] = std::move(t.response);
    if (--state.pending > 0) return;
    auto next = state.provider->afterRound(state.round++, state.responses);
    if (!next.requests.empty()) {
      send(t.provider, next.requests);
      return;
    }
    state.finished = true;
    if (next.outcome && *next.outcome) {
      state.cloud = std::move(**next.outcome);
    } else {
      failures_.push_back(std::string(state.provider->name()) + ": " +
                          (next.outcome ? next.outcome->error().message() : std::string("no outcome")));
    }
  }

  void release(Transfer& t) {
    if (t.easy != nullptr) {
      curl_multi_remove_handle(multi_, t.easy);
      curl_easy_cleanup(t.easy);
      t.easy = nullptr;
    }
    curl_slist_free_all(t.headers);
    t.headers = nullptr;
  }

  const CloudProbeOptions& options_;
  Clock::time_point deadline_;
  CURLM* multi_;
  std::vector<ProviderState> states_;
  std::vector<std::unique_ptr<Transfer>> transfers_;
  std::vector<std::string> failures_;
};

}  // namespace

CloudProbeOptions CloudProbeOptions::from(const config::CloudMetadataConfig& config) {
  CloudProbeOptions options;
  options.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(config.timeout);
  options.providers = config.providers;
  if (!config.host.empty()) options.host = config.host;
  return options;
}

CloudProbeResult probeCloud(const CloudProbeOptions& options, std::stop_token stop) {
  initCurlOnce();
  const auto start = Clock::now();
  CloudProbeResult result;
  {
    Probe probe(options, start + options.timeout);
    result = probe.run(std::move(stop));
  }
  result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  return result;
}

}  // namespace fim::enricher
