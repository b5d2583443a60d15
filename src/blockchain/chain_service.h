#pragma once
// ChainService: the worker's one door to Starknet. Owns the JSON-RPC client, the account (key
// from the encrypted keystore), the nonce manager, the chain database (its own SQLite file,
// chain_ tables) and two background tasks: CDC-pool heartbeats and the JobAssigned follower.
// start(): spec version and chain id checks, pending-transaction recovery, idempotent worker
// registration in the JobManager, then the background tasks. stop(): stops and awaits them.
// Lives on the executor given at construction (the node's io_context thread): call everything
// from there. Callbacks run on that executor too. Construction does no I/O.
//
// Wiring (node/worker.cpp): construct with the node's executor and options, co_await start(),
// bind on_job_assigned before start() returns events, co_await stop() in reverse order.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "blockchain/account.h"
#include "blockchain/ciro_contracts.h"
#include "blockchain/rpc_client.h"

namespace ciro::blockchain {

struct ChainOptions {
  std::vector<std::string> rpc_urls;  ///< JSON-RPC 0.10 endpoints, failover in order
  std::string network = "sepolia";    ///< sepolia (alias testnet) | mainnet: chain id checked at start
  std::string account_address;        ///< the worker's account contract (hex)
  std::string keystore_path;          ///< encrypted key file (`ciro-worker keys new`)
  std::string password_env = "CIRO_KEYSTORE_PASSWORD";  ///< variable holding the keystore password
  std::string password_file;                            ///< or a file holding it (wins when set)
  std::string job_manager, cdc_pool;                    ///< contract addresses; empty = the network's defaults
  std::uint32_t confirmations = 2;                      ///< depth before a JobAssigned event is delivered
  std::chrono::milliseconds poll_interval{5000};        ///< event and receipt polling
  std::filesystem::path db_file;                        ///< chain database (SQLite, chain_ tables)
  // --- optional ---
  std::string worker_id;                                  ///< WorkerId felt; empty = the account address
  std::chrono::milliseconds heartbeat_interval{600'000};  ///< CDC pool heartbeats; 0 = off
  std::optional<std::uint64_t> start_block;               ///< first block for a new cursor; unset = the tip
  std::chrono::milliseconds rpc_timeout{10'000};          ///< per RPC attempt
  std::string tls_ca_file;                                ///< extra CA bundle for https; empty = system store
  int rpc_max_attempts = 6;                               ///< attempts per RPC call (backoff + failover)
  std::chrono::milliseconds backoff_base{250}, backoff_max{8'000};
  std::chrono::milliseconds receipt_timeout{600'000};  ///< how long submit_job_result waits for finality
  bool register_worker = true;                         ///< register in the JobManager at start (idempotent)
  FeeOptions fee;                                      ///< resource-bound margins and tip
  RpcCallHook on_rpc_call;                             ///< metrics hook: (method, outcome)
};

class ChainService {
 public:
  struct Status {
    bool running = false;
    bool registered = false;
    std::string spec_version;
    std::string account_address;
    std::string public_key;
    std::uint64_t cursor_block = 0;
    std::uint64_t reorgs = 0;
    std::uint64_t heartbeats_sent = 0;
    std::uint64_t results_submitted = 0;
    std::uint64_t jobs_assigned = 0;
    std::size_t open_transactions = 0;
    std::string last_error;
  };

  ChainService(boost::asio::any_io_executor ex, ChainOptions options);
  ~ChainService();
  ChainService(const ChainService&) = delete;
  ChainService& operator=(const ChainService&) = delete;

  /// Errors: bad options (invalid_argument naming the option), keystore (wrong password →
  /// permission_denied), node unreachable, wrong chain (conflict), registration reverted. A
  /// failure is also kept in status().last_error until a start succeeds.
  boost::asio::awaitable<Result<void>> start();

  /// Called for each JobAssigned event naming this worker (once per event, in chain order; again
  /// after a reorg replaces its block). Set before start().
  void on_job_assigned(std::function<void(JobAssignedEvent)> callback);
  /// Sends JobManager.submit_job_result and waits until it is final. Returns the tx hash; a
  /// REVERTED execution is an error carrying the revert reason.
  boost::asio::awaitable<Result<std::string>> submit_job_result(Felt job_id, Felt output_data_hash);
  /// Same with the full JobResult fields (proof, gas used, execution time).
  boost::asio::awaitable<Result<std::string>> submit_job_result(JobResult result);
  /// Replaces the metrics sent with each heartbeat.
  void set_performance_metrics(PerformanceMetrics metrics);
  boost::asio::awaitable<void> stop();
  Status status() const;

 private:
  boost::asio::awaitable<Result<void>> start_once();
  struct Impl;
  std::shared_ptr<Impl> m_impl;
};

/// Hash of arbitrary bytes as one felt (e.g. a result manifest → output_data_hash). Packing: the
/// bytes are cut into 31-byte chunks, each read as a big-endian integer (the last chunk may be
/// shorter and is read as is), then the total byte length is appended as one more element, and
/// the list goes through poseidon_hash_many. The length makes "ab" and "\0ab" differ.
Felt poseidon_of_bytes(std::string_view bytes);

}  // namespace ciro::blockchain
