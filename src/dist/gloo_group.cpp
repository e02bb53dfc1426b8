#include "unlearn/dist/gloo_group.h"

#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "unlearn/core/error.h"

namespace unlearn::dist {

namespace {

using Clock = std::chrono::steady_clock;
// A heartbeat every second; a peer silent for five is taken as lost.
constexpr auto kBeatEvery = std::chrono::seconds(1);
constexpr auto kSilentAfter = std::chrono::seconds(5);

std::vector<uint8_t> bytes(const std::string& text) { return {text.begin(), text.end()}; }
std::string text(const std::vector<uint8_t>& data) { return {data.begin(), data.end()}; }

std::string failure_key(int rank) { return detail::concat("unlearn/failed/", rank); }
std::string heartbeat_key(int rank) { return detail::concat("unlearn/heartbeat/", rank); }

std::string first_line(const std::string& message) {
  const auto end = message.find('\n');
  return end == std::string::npos ? message : message.substr(0, end);
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "::1";
}

/// Gloo's transport device: GLOO_SOCKET_IFNAME as in PyTorch, loopback for a loopback master,
/// else the address this host's name resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_addr) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname && *ifname) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (is_loopback(master_addr)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

/// The store connection of a rank (`joining`: it counts towards the world size, and rank 0
/// serves the store and waits for all of them), or an extra one (the heartbeat's).
c10d::TCPStoreOptions store_options(const DistOptions& o, bool joining) {
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(o.master_port);
  so.isServer = joining && o.rank == 0;
  so.numWorkers = joining ? c10::optional<std::size_t>(o.world_size) : c10::nullopt;
  so.waitWorkers = joining;
  so.timeout = std::chrono::seconds(o.timeout_s);
  return so;
}

}  // namespace

std::shared_ptr<GlooGroup> GlooGroup::join(const DistOptions& options) {
  options.validate();
  return std::shared_ptr<GlooGroup>(new GlooGroup(options));
}

GlooGroup::GlooGroup(DistOptions options) : options_(std::move(options)) {
  const std::string where = detail::concat(options_.master_addr, ":", options_.master_port);
  try {
    store_ = c10::make_intrusive<c10d::TCPStore>(options_.master_addr,
                                                 store_options(options_, /*joining=*/true));
    auto pg_options =
        c10d::ProcessGroupGloo::Options::create(std::chrono::seconds(options_.timeout_s));
    pg_options->devices.push_back(gloo_device(options_.master_addr));
    group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, options_.rank, options_.world_size,
                                                         pg_options);
  } catch (const std::exception& e) {  // c10d's errors, with the rank and the rendezvous address
    throw Error(detail::concat(
        "rank ", options_.rank, " of ", options_.world_size, ": cannot join the group at ", where,
        " (MASTER_ADDR:MASTER_PORT) within ", options_.timeout_s, " s: ", first_line(e.what())));
  }
  heartbeat_ = std::thread([this] { beat(); });
}

GlooGroup::~GlooGroup() {
  stopping_ = true;
  if (heartbeat_.joinable()) heartbeat_.join();
}

void GlooGroup::beat() {
  try {
    // Its own connection: a TCPStore client is not shared between threads.
    c10d::TCPStore store(options_.master_addr, store_options(options_, /*joining=*/false));
    int64_t count = 0;
    while (!stopping_) {
      store.set(heartbeat_key(options_.rank), bytes(std::to_string(++count)));
      for (auto waited = std::chrono::milliseconds(0); waited < kBeatEvery && !stopping_;
           waited += std::chrono::milliseconds(50)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
  } catch (const std::exception&) {
    // The store went away (rank 0 finished or died); the main thread finds out on its own.
  }
}

void GlooGroup::set_text(const std::string& key, const std::string& value) {
  store_->set(key, bytes(value));
}

std::string GlooGroup::text_or_empty(const std::string& key) {
  return store_->check({key}) ? text(store_->get(key)) : std::string();
}

void GlooGroup::announce_failure(const std::string& message) noexcept {
  try {
    set_text(failure_key(options_.rank), first_line(message));
  } catch (...) {  // best effort: must not hide the failure being announced
  }
}

std::string GlooGroup::describe_lost_ranks() {
  try {
    std::map<int, std::string> before;
    std::string failed;
    for (int r = 0; r < options_.world_size; ++r) {
      if (r == options_.rank) continue;
      if (const auto why = text_or_empty(failure_key(r)); !why.empty()) {
        failed += detail::concat(failed.empty() ? "" : "; ", "rank ", r, " failed: ", why);
      }
      before[r] = text_or_empty(heartbeat_key(r));
    }
    if (!failed.empty()) return failed;
    std::this_thread::sleep_for(kSilentAfter);
    std::string lost;
    for (const auto& [r, beat] : before) {
      if (text_or_empty(heartbeat_key(r)) == beat) {
        lost += detail::concat(lost.empty() ? "" : ", ", "rank ", r);
      }
    }
    return lost.empty() ? std::string() : "lost " + lost + " (its heartbeat stopped)";
  } catch (const std::exception&) {  // a store that cannot be read means rank 0 is gone
    return detail::concat("lost rank 0 (the rendezvous store it served at ", options_.master_addr,
                          ":", options_.master_port, " is gone)");
  }
}

void GlooGroup::peer_lost(const char* what, const std::string& cause) {
  std::string who = describe_lost_ranks();
  if (who.empty()) who = "no peer was found lost";
  throw Error(detail::concat("rank ", options_.rank, " of ", options_.world_size, ": ", what,
                             " failed: ", who, "; stopping (", first_line(cause), ")"));
}

template <class Start>
void GlooGroup::collective(const char* what, Start&& start) {
  try {
    auto work = start();
    work->wait(std::chrono::seconds(options_.timeout_s));
  } catch (const std::exception& e) {  // c10d's errors, naming the lost rank
    peer_lost(what, e.what());
  }
}

void GlooGroup::broadcast(std::vector<torch::Tensor>& tensors) {
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
    collective("broadcast", [&] { return group_->broadcast(one); });
    if (!one[0].is_same(t)) t.copy_(one[0]);
  }
}

void GlooGroup::all_reduce_sum(std::vector<torch::Tensor>& tensors) {
  for (auto& t : tensors) {
    std::vector<at::Tensor> one{t.is_contiguous() ? t : t.contiguous()};
    collective("all-reduce", [&] { return group_->allreduce(one); });
    if (!one[0].is_same(t)) t.copy_(one[0]);
  }
}

torch::Tensor GlooGroup::all_gather(const torch::Tensor& local) {
  std::vector<at::Tensor> input{local.contiguous()};
  std::vector<std::vector<at::Tensor>> output(1);
  for (int r = 0; r < options_.world_size; ++r) output[0].push_back(torch::empty_like(input[0]));
  collective("all-gather", [&] { return group_->allgather(output, input); });
  return torch::stack(output[0]);
}

std::vector<uint8_t> GlooGroup::wait_for_key(const std::string& key, int writer) {
  std::string last_beat;
  auto last_change = Clock::now();
  while (true) {
    try {
      if (store_->check({key})) return store_->get(key);
      if (const auto why = text_or_empty(failure_key(writer)); !why.empty()) {
        throw Error(detail::concat("rank ", options_.rank, ": rank ", writer, " failed: ", why));
      }
      const std::string beat = text_or_empty(heartbeat_key(writer));
      if (beat != last_beat) {
        last_beat = beat;
        last_change = Clock::now();
      }
    } catch (const Error&) {  // already ours: it names the lost rank
      throw;
    } catch (const std::exception& e) {  // the store's errors, naming rank 0
      throw Error(detail::concat("rank ", options_.rank, ": lost rank 0 (the rendezvous store at ",
                                 options_.master_addr, ":", options_.master_port,
                                 " is gone): ", first_line(e.what())));
    }
    if (Clock::now() - last_change > kSilentAfter) {
      throw Error(detail::concat("rank ", options_.rank, ": lost rank ", writer,
                                 " (its heartbeat stopped) while waiting for '", key, "'"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace unlearn::dist
