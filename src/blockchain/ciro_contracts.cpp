#include "blockchain/ciro_contracts.h"

#include "blockchain/hash.h"

namespace ciro::blockchain {

ContractAddresses ContractAddresses::sepolia() {
  return {*Felt::from_hex("0x00bf025663b8a7c7e43393f082b10afe66bd9ddb06fb5e521e3adbcf693094bd"),
          *Felt::from_hex("0x05f73c551dbfda890090c8ee89858992dfeea9794a63ad83e6b1706e9836aeba"),
          *Felt::from_hex("0x02f0ce7e13e113e91f3a4669f742e7470f2bdfb3c7146aff1d449fddf92b7dc0"),
          *Felt::from_hex("0x0662c81332894247404fff35313f84d0d832b5eeaaaa6f58e6d32c4dd66d279a")};
}

const char* job_state_name(JobState s) {
  switch (s) {
    case JobState::queued:
      return "Queued";
    case JobState::processing:
      return "Processing";
    case JobState::completed:
      return "Completed";
    case JobState::failed:
      return "Failed";
    case JobState::cancelled:
      return "Cancelled";
  }
  return "?";
}

namespace job_manager {

Call register_worker(const Felt& jm, const Felt& worker_id, const Felt& worker_address) {
  return {jm, get_selector_from_name("register_worker"), FeltWriter().felt(worker_id).felt(worker_address).take()};
}

Call submit_job_result(const Felt& jm, const JobResult& r) {
  FeltWriter w;
  w.u256(r.job_id);  // job_id: JobId
  // result: JobResult { job_id, worker_id, output_data_hash, computation_proof, gas_used, execution_time }
  w.u256(r.job_id)
      .felt(r.worker_id)
      .felt(r.output_data_hash)
      .felt_array(r.computation_proof)
      .u256(r.gas_used)
      .u64(r.execution_time);
  return {jm, get_selector_from_name("submit_job_result"), w.take()};
}

FunctionCall get_job_details(const Felt& jm, const JobId& id) {
  return {jm, get_selector_from_name("get_job_details"), FeltWriter().u256(id).take()};
}
FunctionCall get_job_state(const Felt& jm, const JobId& id) {
  return {jm, get_selector_from_name("get_job_state"), FeltWriter().u256(id).take()};
}
FunctionCall get_worker_stats(const Felt& jm, const Felt& worker_id) {
  return {jm, get_selector_from_name("get_worker_stats"), FeltWriter().felt(worker_id).take()};
}

Result<JobDetails> decode_job_details(std::span<const Felt> result) {
  FeltReader r(result);
  JobDetails d;
  CIRO_TRY(d.job_id, r.u256("job_id"));
  CIRO_TRY(auto jt, r.variant("job_type", 4));
  d.job_type = static_cast<JobType>(jt);
  CIRO_TRY(d.client, r.felt("client"));
  CIRO_TRY(d.worker, r.felt("worker"));
  CIRO_TRY(auto st, r.variant("state", 5));
  d.state = static_cast<JobState>(st);
  CIRO_TRY(d.payment_amount, r.u256("payment_amount"));
  CIRO_TRY(d.created_at, r.u64("created_at"));
  CIRO_TRY(d.assigned_at, r.u64("assigned_at"));
  CIRO_TRY(d.completed_at, r.u64("completed_at"));
  CIRO_TRY(d.result_hash, r.felt("result_hash"));
  CIRO_TRY_VOID(r.finish("JobDetails"));
  return d;
}

Result<JobState> decode_job_state(std::span<const Felt> result) {
  FeltReader r(result);
  CIRO_TRY(auto st, r.variant("JobState", 5));
  CIRO_TRY_VOID(r.finish("JobState"));
  return static_cast<JobState>(st);
}

Result<WorkerStats> decode_worker_stats(std::span<const Felt> result) {
  FeltReader r(result);
  WorkerStats s;
  CIRO_TRY(s.total_jobs_completed, r.u64("total_jobs_completed"));
  CIRO_TRY(s.success_rate, r.u8("success_rate"));
  CIRO_TRY(s.average_completion_time, r.u64("average_completion_time"));
  CIRO_TRY(s.reputation_score, r.u256("reputation_score"));
  CIRO_TRY(s.total_earnings, r.u256("total_earnings"));
  CIRO_TRY_VOID(r.finish("WorkerStats"));
  return s;
}

}  // namespace job_manager

namespace cdc_pool {

Call register_worker(const Felt& pool, const WorkerCapabilities& c, const Felts& proof, const Felt& location_hash) {
  FeltWriter w;
  w.u64(c.gpu_memory_gb)
      .u64(c.cpu_cores)
      .u64(c.ram_gb)
      .u64(c.storage_gb)
      .u64(c.bandwidth_mbps)
      .u64(c.capability_flags)
      .felt(c.gpu_model)
      .felt(c.cpu_model);
  w.felt_array(proof).felt(location_hash);
  return {pool, get_selector_from_name("register_worker"), w.take()};
}

Call submit_heartbeat(const Felt& pool, const Felt& worker_id, const PerformanceMetrics& m) {
  FeltWriter w;
  w.felt(worker_id)
      .u64(m.avg_response_time)
      .u64(m.completion_rate)
      .u64(m.quality_score)
      .u64(m.uptime_percentage)
      .u64(m.last_updated);
  return {pool, get_selector_from_name("submit_heartbeat"), w.take()};
}

Call stake(const Felt& pool, const CairoU256& amount, std::uint64_t lock_period) {
  return {pool, get_selector_from_name("stake"), FeltWriter().u256(amount).u64(lock_period).take()};
}

}  // namespace cdc_pool

namespace events {

Felt selector(std::string_view name) { return get_selector_from_name(name); }

namespace {
Result<void> expect(const EmittedEvent& e, std::string_view name) {
  if (e.keys.empty() || e.keys[0] != selector(name)) {
    return make_error(Errc::invalid_argument, "event is not " + std::string(name));
  }
  return {};
}
}  // namespace

Result<JobSubmittedEvent> job_submitted(const EmittedEvent& e) {
  CIRO_TRY_VOID(expect(e, "JobSubmitted"));
  FeltReader k(std::span(e.keys).subspan(1)), d(e.data);
  JobSubmittedEvent out;
  CIRO_TRY(out.job_id, k.u256("JobSubmitted.job_id"));
  CIRO_TRY(out.client, k.felt("JobSubmitted.client"));
  CIRO_TRY(out.payment, d.u256("JobSubmitted.payment"));
  return out;
}

Result<JobAssignedEvent> job_assigned(const EmittedEvent& e) {
  CIRO_TRY_VOID(expect(e, "JobAssigned"));
  FeltReader k(std::span(e.keys).subspan(1));
  JobAssignedEvent out;
  CIRO_TRY(out.job_id, k.u256("JobAssigned.job_id"));
  CIRO_TRY(out.worker, k.felt("JobAssigned.worker"));
  return out;
}

Result<JobCompletedEvent> job_completed(const EmittedEvent& e) {
  CIRO_TRY_VOID(expect(e, "JobCompleted"));
  FeltReader k(std::span(e.keys).subspan(1));
  JobCompletedEvent out;
  CIRO_TRY(out.job_id, k.u256("JobCompleted.job_id"));
  CIRO_TRY(out.worker, k.felt("JobCompleted.worker"));
  return out;
}

Result<PaymentReleasedEvent> payment_released(const EmittedEvent& e) {
  CIRO_TRY_VOID(expect(e, "PaymentReleased"));
  FeltReader k(std::span(e.keys).subspan(1)), d(e.data);
  PaymentReleasedEvent out;
  CIRO_TRY(out.job_id, k.u256("PaymentReleased.job_id"));
  CIRO_TRY(out.worker, k.felt("PaymentReleased.worker"));
  CIRO_TRY(out.amount, d.u256("PaymentReleased.amount"));
  return out;
}

Result<WorkerRegisteredEvent> worker_registered(const EmittedEvent& e) {
  CIRO_TRY_VOID(expect(e, "WorkerRegistered"));
  FeltReader k(std::span(e.keys).subspan(1));
  WorkerRegisteredEvent out;
  CIRO_TRY(out.worker_id, k.felt("WorkerRegistered.worker_id"));
  CIRO_TRY(out.owner, k.felt("WorkerRegistered.owner"));
  if (e.data.size() < 2) return make_error(Errc::protocol, "WorkerRegistered: data too short for stake_amount");
  out.capabilities.assign(e.data.begin(), e.data.end() - 2);
  FeltReader d(std::span(e.data).subspan(e.data.size() - 2));
  CIRO_TRY(out.stake_amount, d.u256("WorkerRegistered.stake_amount"));
  return out;
}

Result<StakeAddedEvent> stake_added(const EmittedEvent& e) {
  CIRO_TRY_VOID(expect(e, "StakeAdded"));
  FeltReader k(std::span(e.keys).subspan(1)), d(e.data);
  StakeAddedEvent out;
  CIRO_TRY(out.worker, k.felt("StakeAdded.worker"));
  CIRO_TRY(out.amount, d.u256("StakeAdded.amount"));
  CIRO_TRY(out.total_stake, d.u256("StakeAdded.total_stake"));
  return out;
}

}  // namespace events

}  // namespace ciro::blockchain
