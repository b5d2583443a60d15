// Calldata oracle for ciro::blockchain's CIRO contract bindings: starknet.js (CallData.compile,
// hash.getSelectorFromName, transaction.getExecuteCalldata, byteArray) encodes the same calls
// from the JSON on stdin; prints {"<case>": {"selector": HEX, "calldata": [HEX...]}, ...}.
import { CallData, cairo, hash, transaction, byteArray } from 'starknet';
import { readFileSync } from 'node:fs';

const input = JSON.parse(readFileSync(0, 'utf8'));
const hex = (v) => '0x' + BigInt(v).toString(16);
const norm = (arr) => arr.map(hex);
const out = {};
const add = (name, entry, args) => {
  out[name] = { selector: hash.getSelectorFromName(entry), calldata: norm(CallData.compile(args)) };
};

const a = input;
add('jm_register_worker', 'register_worker', { worker_id: a.worker_id, worker_address: a.worker_address });
const jobResult = {
  job_id: cairo.uint256(a.job_id),
  worker_id: a.worker_id,
  output_data_hash: a.output_data_hash,
  computation_proof: a.proof,
  gas_used: cairo.uint256(a.gas_used),
  execution_time: a.execution_time,
};
add('jm_submit_job_result', 'submit_job_result', { job_id: cairo.uint256(a.job_id), result: jobResult });
add('jm_get_job_details', 'get_job_details', { job_id: cairo.uint256(a.job_id) });
add('jm_get_job_state', 'get_job_state', { job_id: cairo.uint256(a.job_id) });
add('jm_get_worker_stats', 'get_worker_stats', { worker_id: a.worker_id });
add('cdc_register_worker', 'register_worker', {
  capabilities: {
    gpu_memory: a.caps.gpu_memory, cpu_cores: a.caps.cpu_cores, ram: a.caps.ram, storage: a.caps.storage,
    bandwidth: a.caps.bandwidth, capability_flags: a.caps.capability_flags,
    gpu_model: cairo.felt(a.caps.gpu_model), cpu_model: cairo.felt(a.caps.cpu_model),
  },
  proof_of_resources: a.proof,
  location_hash: a.location_hash,
});
add('cdc_submit_heartbeat', 'submit_heartbeat', {
  worker_id: a.worker_id,
  performance_data: {
    avg_response_time: a.metrics.avg_response_time, completion_rate: a.metrics.completion_rate,
    quality_score: a.metrics.quality_score, uptime_percentage: a.metrics.uptime_percentage, last_updated: a.metrics.last_updated,
  },
});
add('cdc_stake', 'stake', { amount: cairo.uint256(a.stake_amount), lock_period: a.lock_period });
out.byte_array = { selector: '0x0', calldata: norm(CallData.compile({ s: byteArray.byteArrayFromString(a.text) })) };
const calls = [
  { contractAddress: a.job_manager, entrypoint: 'submit_job_result', calldata: out.jm_submit_job_result.calldata },
  { contractAddress: a.cdc_pool, entrypoint: 'submit_heartbeat', calldata: out.cdc_submit_heartbeat.calldata },
];
out.execute = { selector: hash.getSelectorFromName('__execute__'), calldata: norm(transaction.getExecuteCalldata(calls, '1')) };
out.events = {};
for (const n of ['JobSubmitted', 'JobAssigned', 'JobCompleted', 'PaymentReleased', 'WorkerRegistered', 'StakeAdded']) {
  out.events[n] = hash.getSelectorFromName(n);
}
process.stdout.write(JSON.stringify(out));
