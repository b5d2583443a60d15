#pragma once
// WorkerMetrics: every Prometheus metric the worker exposes, in one registry, served as text by
// GET /metrics. prometheus-cpp metrics are thread-safe; this object is owned by the composition
// root and outlives every user.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "compute/gpu.h"

namespace ciro::node {

class WorkerMetrics {
 public:
  WorkerMetrics(const std::string& version, const std::string& node_id);

  void job_submitted(const std::string& source);
  void job_rejected(const std::string& reason);
  /// outcome: succeeded | failed | cancelled; reason: exited | timeout | out_of_memory | ...
  void job_finished(const std::string& outcome, const std::string& reason, std::chrono::duration<double> run_time);
  void set_running(std::size_t n);
  void set_queued(std::size_t n);
  void http_request(const std::string& method, const std::string& route, int status,
                    std::chrono::duration<double> elapsed);
  void set_gpus(const std::vector<compute::GpuDevice>& gpus);
  void set_engine_up(bool up);
  /// P2P figures from the network layer (cumulative counts; the counters advance by the difference).
  void set_p2p(std::uint64_t peers, std::uint64_t gossip_in, std::uint64_t gossip_out, std::uint64_t gossip_rejected,
               std::uint64_t bytes_in, std::uint64_t bytes_out);

  /// One Starknet JSON-RPC call by method and outcome (ok, error code, timeout, ...).
  void rpc_call(const std::string& method, const std::string& outcome);

  /// Prometheus text exposition format 0.0.4.
  std::string serialize() const;
  prometheus::Registry& registry() { return *m_registry; }

 private:
  std::shared_ptr<prometheus::Registry> m_registry;
  prometheus::Family<prometheus::Counter>& m_jobs_submitted;
  prometheus::Family<prometheus::Counter>& m_jobs_rejected;
  prometheus::Family<prometheus::Counter>& m_jobs_finished;
  prometheus::Family<prometheus::Histogram>& m_job_duration;
  prometheus::Gauge& m_running;
  prometheus::Gauge& m_queued;
  prometheus::Family<prometheus::Counter>& m_http_requests;
  prometheus::Family<prometheus::Histogram>& m_http_duration;
  prometheus::Family<prometheus::Gauge>& m_gpu_memory_total;
  prometheus::Family<prometheus::Gauge>& m_gpu_memory_used;
  prometheus::Family<prometheus::Gauge>& m_gpu_utilization;
  prometheus::Family<prometheus::Gauge>& m_gpu_temperature;
  prometheus::Gauge& m_gpus_offered;
  prometheus::Gauge& m_engine_up;
  prometheus::Gauge& m_p2p_peers;
  prometheus::Family<prometheus::Counter>& m_gossip;
  prometheus::Family<prometheus::Counter>& m_p2p_bytes;
  std::uint64_t m_last[5] = {0, 0, 0, 0, 0};
  prometheus::Family<prometheus::Counter>& m_rpc_calls;
};

}  // namespace ciro::node
