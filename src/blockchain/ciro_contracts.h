#pragma once
// Bindings for CIRO's Cairo contracts (see shared contracts.md): calldata builders for the
// JobManager and the CDC pool, view-call builders with result decoders, and decoders for the
// events a worker follows. Pure functions over felts; decode errors are protocol Results.

#include <optional>
#include <string>

#include "blockchain/account.h"
#include "blockchain/cairo_serde.h"
#include "blockchain/rpc_client.h"

namespace ciro::blockchain {

struct ContractAddresses {
  Felt job_manager;
  Felt cdc_pool;
  Felt reputation_manager;
  Felt token;
  /// The upstream repository's Starknet Sepolia deployment (verify before use).
  static ContractAddresses sepolia();
};

using JobId = CairoU256;  ///< JobId { value: u256 }

enum class JobType : std::uint8_t { ai_inference, ai_training, proof_generation, proof_verification };
enum class JobState : std::uint8_t { queued, processing, completed, failed, cancelled };
const char* job_state_name(JobState s);

struct JobResult {
  JobId job_id;
  Felt worker_id;
  Felt output_data_hash;
  Felts computation_proof;
  CairoU256 gas_used = CairoU256::from_u64(1);  ///< never 0: the contract divides by it
  std::uint64_t execution_time = 0;             ///< seconds
};

struct JobDetails {
  JobId job_id;
  JobType job_type = JobType::ai_inference;
  Felt client;
  Felt worker;
  JobState state = JobState::queued;
  CairoU256 payment_amount;
  std::uint64_t created_at = 0, assigned_at = 0, completed_at = 0;
  Felt result_hash;
};

struct WorkerStats {
  std::uint64_t total_jobs_completed = 0;
  std::uint8_t success_rate = 0;
  std::uint64_t average_completion_time = 0;
  CairoU256 reputation_score;
  CairoU256 total_earnings;
};

struct WorkerCapabilities {
  std::uint64_t gpu_memory_gb = 0;
  std::uint8_t cpu_cores = 0;
  std::uint64_t ram_gb = 0;
  std::uint64_t storage_gb = 0;
  std::uint32_t bandwidth_mbps = 0;
  std::uint64_t capability_flags =
      0;           ///< CUDA 1, OPENCL 2, FP16 4, INT8 8, NVLINK 16, INFINIBAND 32, TENSOR_CORES 64, MULTI_GPU 128
  Felt gpu_model;  ///< short string
  Felt cpu_model;
};

struct PerformanceMetrics {
  std::uint64_t avg_response_time = 0;
  std::uint8_t completion_rate = 0;
  std::uint8_t quality_score = 0;
  std::uint8_t uptime_percentage = 0;
  std::uint64_t last_updated = 0;
};

namespace job_manager {
Call register_worker(const Felt& job_manager, const Felt& worker_id, const Felt& worker_address);
Call submit_job_result(const Felt& job_manager, const JobResult& result);
FunctionCall get_job_details(const Felt& job_manager, const JobId& job_id);
FunctionCall get_job_state(const Felt& job_manager, const JobId& job_id);
FunctionCall get_worker_stats(const Felt& job_manager, const Felt& worker_id);
Result<JobDetails> decode_job_details(std::span<const Felt> result);
Result<JobState> decode_job_state(std::span<const Felt> result);
Result<WorkerStats> decode_worker_stats(std::span<const Felt> result);
}  // namespace job_manager

namespace cdc_pool {
Call register_worker(const Felt& cdc_pool, const WorkerCapabilities& caps, const Felts& proof_of_resources,
                     const Felt& location_hash);
Call submit_heartbeat(const Felt& cdc_pool, const Felt& worker_id, const PerformanceMetrics& metrics);
Call stake(const Felt& cdc_pool, const CairoU256& amount, std::uint64_t lock_period);
}  // namespace cdc_pool

// ---- events (keys[0] = sn_keccak(name), then #[key] fields; data = the rest) ----

struct JobSubmittedEvent {
  JobId job_id;
  Felt client;
  CairoU256 payment;
};
struct JobAssignedEvent {
  JobId job_id;
  Felt worker;
};
struct JobCompletedEvent {
  JobId job_id;
  Felt worker;
};
struct PaymentReleasedEvent {
  JobId job_id;
  Felt worker;
  CairoU256 amount;
};
/// capabilities are kept as raw felts: the deployed class may lay them out differently.
struct WorkerRegisteredEvent {
  Felt worker_id;
  Felt owner;
  Felts capabilities;
  CairoU256 stake_amount;
};
struct StakeAddedEvent {
  Felt worker;
  CairoU256 amount;
  CairoU256 total_stake;
};

namespace events {
Felt selector(std::string_view event_name);  ///< sn_keccak of the name
Result<JobSubmittedEvent> job_submitted(const EmittedEvent& e);
Result<JobAssignedEvent> job_assigned(const EmittedEvent& e);
Result<JobCompletedEvent> job_completed(const EmittedEvent& e);
Result<PaymentReleasedEvent> payment_released(const EmittedEvent& e);
Result<WorkerRegisteredEvent> worker_registered(const EmittedEvent& e);
Result<StakeAddedEvent> stake_added(const EmittedEvent& e);
}  // namespace events

}  // namespace ciro::blockchain
