#pragma once
// A data-parallel group on PyTorch's own distributed engine: c10d's TCPStore for the rendezvous
// and the work queues, and c10d's Gloo process group for the collectives. Every rank also beats
// a heartbeat into the store, so that a collective broken by a lost peer ends in an error that
// names the lost rank instead of a hang.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <torch/csrc/distributed/c10d/Store.hpp>
#include <vector>

#include "unlearn/core/data_parallel.h"
#include "unlearn/dist/options.h"

namespace c10d {
class ProcessGroupGloo;
}

namespace unlearn::dist {

class GlooGroup : public DataParallelGroup {
 public:
  /// Joins the group that `options` describe: rank 0 serves the store at MASTER_ADDR:MASTER_PORT
  /// and the others connect to it. Throws Error naming the address when the rendezvous fails
  /// within the timeout.
  static std::shared_ptr<GlooGroup> join(const DistOptions& options);
  ~GlooGroup() override;
  GlooGroup(const GlooGroup&) = delete;
  GlooGroup& operator=(const GlooGroup&) = delete;

  int rank() const override { return options_.rank; }
  int size() const override { return options_.world_size; }
  void broadcast(std::vector<torch::Tensor>& tensors) override;
  void all_reduce_sum(std::vector<torch::Tensor>& tensors) override;
  torch::Tensor all_gather(const torch::Tensor& local) override;

  /// The rendezvous store, shared by every rank (for work queues and file hand-over).
  c10d::Store& store() { return *store_; }
  /// Sets `key` in the store to `value`.
  void set_text(const std::string& key, const std::string& value);
  /// The value of `key` in the store, or "" when it is not set (never blocks).
  std::string text_or_empty(const std::string& key);
  /// The value of `key` once some rank has set it. Waits as long as it takes while `writer`
  /// is alive; throws Error naming `writer` when its heartbeat stops.
  std::vector<uint8_t> wait_for_key(const std::string& key, int writer);
  /// Tells the other ranks why this one is about to stop, so their errors can say it.
  void announce_failure(const std::string& message) noexcept;
  const DistOptions& options() const { return options_; }

 private:
  explicit GlooGroup(DistOptions options);
  /// Runs a collective; a failure becomes an Error naming the lost or failed rank.
  template <class Start>
  void collective(const char* what, Start&& start);
  [[noreturn]] void peer_lost(const char* what, const std::string& cause);
  /// Ranks whose heartbeat stopped or that announced a failure, described for a message.
  std::string describe_lost_ranks();
  void beat();

  DistOptions options_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
  std::atomic<bool> stopping_{false};
  std::thread heartbeat_;
};

}  // namespace unlearn::dist
