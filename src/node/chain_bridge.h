#pragma once
// ChainBridge: ties jobs to Starknet. A job submitted with a chain_job_id whose run succeeded
// owes the chain its result: once the JobManager has assigned that job to this worker (a
// JobAssigned event from ChainService), the bridge sends submit_job_result with the Poseidon
// hash of the signed manifest as output_data_hash. Both facts are kept in the node database
// (chain_results, chain_assignments), so a restart neither loses nor forgets a result owed.
// Lives on the network thread; database work goes to the pool. Lifecycle: construct → run()
// (spawned) → stop().

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "compute/job_spec.h"
#include "storage/database.h"
#include "storage/job_store.h"

namespace spdlog {
class logger;
}
namespace ciro::blockchain {
class ChainService;
}

namespace ciro::node {

class ChainBridge {
 public:
  ChainBridge(boost::asio::any_io_executor io, boost::asio::thread_pool& pool, storage::Database& db,
              blockchain::ChainService& chain, std::chrono::milliseconds poll_interval);

  /// JobService's finished hook: records the result owed when the job carries a chain_job_id.
  void job_finished(const storage::JobRecord& record, const compute::JobSpec& spec);
  /// ChainService's JobAssigned callback (chain job id as hex).
  void job_assigned(const std::string& chain_job_id);
  /// Sends owed results whose job is assigned, every poll interval, until stop().
  boost::asio::awaitable<void> run();
  void stop();

  /// Minimal lowercase hex of a chain job id ("0x0A" -> "0xa"); "" when not hex.
  static std::string normalise(const std::string& chain_job_id);

 private:
  boost::asio::awaitable<void> submit_ready();

  boost::asio::any_io_executor m_io;
  boost::asio::thread_pool& m_pool;
  storage::Database& m_db;
  blockchain::ChainService& m_chain;
  std::chrono::milliseconds m_poll;
  boost::asio::steady_timer m_timer;
  bool m_stopped = false;
  std::shared_ptr<spdlog::logger> m_log;
};

}  // namespace ciro::node
