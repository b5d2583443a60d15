#include "node/metrics.h"

#include <prometheus/text_serializer.h>

#include <set>
#include <sstream>

namespace ciro::node {

namespace {
const prometheus::Histogram::BucketBoundaries JOB_BUCKETS = {0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 14400};
const prometheus::Histogram::BucketBoundaries HTTP_BUCKETS = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5};
}  // namespace

WorkerMetrics::WorkerMetrics(const std::string& version, const std::string& node_id)
    : m_registry(std::make_shared<prometheus::Registry>()),
      m_jobs_submitted(prometheus::BuildCounter()
                           .Name("ciro_jobs_submitted_total")
                           .Help("Jobs accepted, by source")
                           .Register(*m_registry)),
      m_jobs_rejected(prometheus::BuildCounter()
                          .Name("ciro_jobs_rejected_total")
                          .Help("Job submissions refused, by reason")
                          .Register(*m_registry)),
      m_jobs_finished(prometheus::BuildCounter()
                          .Name("ciro_jobs_finished_total")
                          .Help("Jobs finished, by outcome (succeeded, failed, cancelled) and end reason")
                          .Register(*m_registry)),
      m_job_duration(prometheus::BuildHistogram()
                         .Name("ciro_job_duration_seconds")
                         .Help("Run time of finished jobs, container start to end")
                         .Register(*m_registry)),
      m_running(prometheus::BuildGauge()
                    .Name("ciro_jobs_running")
                    .Help("Jobs whose container runs now")
                    .Register(*m_registry)
                    .Add({})),
      m_queued(prometheus::BuildGauge()
                   .Name("ciro_job_queue_depth")
                   .Help("Accepted jobs waiting for a slot")
                   .Register(*m_registry)
                   .Add({})),
      m_http_requests(prometheus::BuildCounter()
                          .Name("ciro_http_requests_total")
                          .Help("HTTP requests served, by method, route and status code")
                          .Register(*m_registry)),
      m_http_duration(prometheus::BuildHistogram()
                          .Name("ciro_http_request_duration_seconds")
                          .Help("Time to produce an HTTP response, by route")
                          .Register(*m_registry)),
      m_gpu_memory_total(
          prometheus::BuildGauge().Name("ciro_gpu_memory_total_bytes").Help("GPU memory").Register(*m_registry)),
      m_gpu_memory_used(
          prometheus::BuildGauge().Name("ciro_gpu_memory_used_bytes").Help("GPU memory in use").Register(*m_registry)),
      m_gpu_utilization(prometheus::BuildGauge()
                            .Name("ciro_gpu_utilization_ratio")
                            .Help("GPU busy ratio 0..1")
                            .Register(*m_registry)),
      m_gpu_temperature(
          prometheus::BuildGauge().Name("ciro_gpu_temperature_celsius").Help("GPU temperature").Register(*m_registry)),
      m_gpus_offered(prometheus::BuildGauge()
                         .Name("ciro_gpus_offered")
                         .Help("GPUs this node offers to jobs")
                         .Register(*m_registry)
                         .Add({})),
      m_engine_up(prometheus::BuildGauge()
                      .Name("ciro_engine_up")
                      .Help("1 when the container engine answers")
                      .Register(*m_registry)
                      .Add({})),
      m_p2p_peers(
          prometheus::BuildGauge().Name("ciro_p2p_peers").Help("Connected libp2p peers").Register(*m_registry).Add({})),
      m_gossip(prometheus::BuildCounter()
                   .Name("ciro_gossip_messages_total")
                   .Help("GossipSub messages, by direction (in, out, rejected)")
                   .Register(*m_registry)),
      m_p2p_bytes(prometheus::BuildCounter()
                      .Name("ciro_p2p_bytes_total")
                      .Help("libp2p bytes, by direction")
                      .Register(*m_registry)),
      m_rpc_calls(prometheus::BuildCounter()
                      .Name("ciro_chain_rpc_calls_total")
                      .Help("Starknet JSON-RPC calls, by method and outcome")
                      .Register(*m_registry)) {
  prometheus::BuildGauge()
      .Name("ciro_build_info")
      .Help("Build information; always 1")
      .Register(*m_registry)
      .Add({{"version", version}, {"node_id", node_id}})
      .Set(1);
  for (const char* outcome : {"succeeded", "failed", "cancelled"})
    m_jobs_finished.Add({{"outcome", outcome}, {"reason", "exited"}});
}

void WorkerMetrics::job_submitted(const std::string& source) { m_jobs_submitted.Add({{"source", source}}).Increment(); }
void WorkerMetrics::job_rejected(const std::string& reason) { m_jobs_rejected.Add({{"reason", reason}}).Increment(); }

void WorkerMetrics::job_finished(const std::string& outcome, const std::string& reason,
                                 std::chrono::duration<double> run_time) {
  m_jobs_finished.Add({{"outcome", outcome}, {"reason", reason}}).Increment();
  m_job_duration.Add({{"outcome", outcome}}, JOB_BUCKETS).Observe(run_time.count());
}

void WorkerMetrics::set_running(std::size_t n) { m_running.Set(static_cast<double>(n)); }
void WorkerMetrics::set_queued(std::size_t n) { m_queued.Set(static_cast<double>(n)); }

void WorkerMetrics::http_request(const std::string& method, const std::string& route, int status,
                                 std::chrono::duration<double> elapsed) {
  // Unmatched paths share one label value so a scanner cannot grow the label set.
  const std::string r = route.empty() ? "unmatched" : route;
  // Methods are client-chosen too: anything unusual shares one label value.
  static const std::set<std::string> KNOWN = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
  const std::string m = KNOWN.count(method) ? method : "other";
  const int code = status >= 100 && status <= 599 ? status : 0;
  m_http_requests.Add({{"method", m}, {"route", r}, {"code", std::to_string(code)}}).Increment();
  m_http_duration.Add({{"route", r}}, HTTP_BUCKETS).Observe(elapsed.count());
}

void WorkerMetrics::set_gpus(const std::vector<compute::GpuDevice>& gpus) {
  std::size_t offered = 0;
  for (const auto& g : gpus) {
    prometheus::Labels labels = {{"gpu", std::to_string(g.index)}, {"uuid", g.uuid}, {"name", g.name}};
    m_gpu_memory_total.Add(labels).Set(static_cast<double>(g.memory_total));
    m_gpu_memory_used.Add(labels).Set(static_cast<double>(g.memory_used));
    if (g.utilization_pct) m_gpu_utilization.Add(labels).Set(*g.utilization_pct / 100.0);
    if (g.temperature_c) m_gpu_temperature.Add(labels).Set(*g.temperature_c);
    if (g.offered) ++offered;
  }
  m_gpus_offered.Set(static_cast<double>(offered));
}

void WorkerMetrics::set_engine_up(bool up) { m_engine_up.Set(up ? 1 : 0); }

void WorkerMetrics::set_p2p(std::uint64_t peers, std::uint64_t gossip_in, std::uint64_t gossip_out,
                            std::uint64_t gossip_rejected, std::uint64_t bytes_in, std::uint64_t bytes_out) {
  m_p2p_peers.Set(static_cast<double>(peers));
  const std::uint64_t now[5] = {gossip_in, gossip_out, gossip_rejected, bytes_in, bytes_out};
  prometheus::Counter* counters[5] = {&m_gossip.Add({{"direction", "in"}}), &m_gossip.Add({{"direction", "out"}}),
                                      &m_gossip.Add({{"direction", "rejected"}}),
                                      &m_p2p_bytes.Add({{"direction", "in"}}),
                                      &m_p2p_bytes.Add({{"direction", "out"}})};
  for (int i = 0; i < 5; ++i) {
    if (now[i] > m_last[i]) counters[i]->Increment(static_cast<double>(now[i] - m_last[i]));
    m_last[i] = now[i];
  }
}

void WorkerMetrics::rpc_call(const std::string& method, const std::string& outcome) {
  m_rpc_calls.Add({{"method", method}, {"outcome", outcome}}).Increment();
}

std::string WorkerMetrics::serialize() const {
  prometheus::TextSerializer serializer;
  std::ostringstream out;
  serializer.Serialize(out, m_registry->Collect());
  return out.str();
}

}  // namespace ciro::node
