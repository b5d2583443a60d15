#pragma once
// The worker's HTTP routes (REST API, health, metrics). Handlers run on the network thread.

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "api/router.h"
#include "compute/executor.h"
#include "compute/gpu.h"
#include "utils/config.h"
#include "utils/identity.h"

namespace ciro::node {

class JobService;
class WorkerMetrics;
}  // namespace ciro::node
namespace ciro::network {
class WorkerNetwork;
}
namespace ciro::blockchain {
class ChainService;
}
namespace ciro::node {

/// What the periodic checks last saw; read by /health and /api/v1/node.
struct HealthSnapshot {
  bool checked = false;  ///< at least one check ran
  bool engine_ok = false;
  std::string engine_detail;
  compute::EngineInfo engine;
  bool database_ok = true;
  std::string database_detail = "open";
  std::vector<compute::GpuDevice> gpus;
  std::uint64_t disk_free_bytes = 0;
  bool reconciled = false;  ///< JobService::start() succeeded
  std::string reconcile_detail = "not yet";
  bool stopping = false;
};

struct WorkerApiContext {
  const utils::Config* config = nullptr;
  JobService* jobs = nullptr;
  WorkerMetrics* metrics = nullptr;
  const utils::NodeKey* key = nullptr;
  compute::GpuManager* gpus = nullptr;
  HealthSnapshot* health = nullptr;
  network::WorkerNetwork* network = nullptr;   ///< null when [network] enabled = false
  blockchain::ChainService* chain = nullptr;   ///< null when [blockchain] enabled = false
  std::uint64_t* job_announcements = nullptr;  ///< job announcements received over gossip
  std::string token;
  std::string version;
  std::chrono::steady_clock::time_point started_at;
};

/// Registers every route; ctx must outlive the router.
void add_worker_routes(api::Router& router, WorkerApiContext* ctx);

/// The header-time check for the HTTP server: a /api/v1 request without the right bearer token
/// gets its 401 before its body is read.
std::optional<api::HttpResponse> precheck_request(const WorkerApiContext* ctx, const api::HttpRequest& headers_only);

}  // namespace ciro::node
