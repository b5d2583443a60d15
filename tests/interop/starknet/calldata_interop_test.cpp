// The CIRO contract calls encoded by ciro::blockchain compared with starknet.js 10.8.0
// (CallData.compile, hash.getSelectorFromName, transaction.getExecuteCalldata, byteArray), run by
// node on calldata_oracle.mjs. Needs `npm ci` in this folder (label interop).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "blockchain/ciro_contracts.h"
#include "blockchain/hash.h"

using namespace ciro::blockchain;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {
Felt F(const char* h) { return *Felt::from_hex(h); }
std::vector<std::string> hex(const Felts& f) { return felts_to_hex(f); }
}  // namespace

// Given the same inputs, when both sides encode every binding, then selectors and calldata match.
TEST(CalldataInterop, MatchesStarknetJs) {
  const fs::path dir = fs::path(CIRO_SOURCE_DIR) / "tests" / "interop" / "starknet";
  if (!fs::exists(dir / "node_modules" / "starknet")) GTEST_FAIL() << "run `npm ci` in " << dir;
  if (std::system("node --version > /dev/null 2>&1") != 0) GTEST_FAIL() << "node is not on PATH";
  const std::string text = "CIRO worker result manifest: longer than thirty-one bytes, with a tail";
  json in = {{"worker_id", "0x5eed"},
             {"worker_address", "0x49d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7"},
             {"job_id", "0x1000000000000000000000000000000002a"},
             {"output_data_hash", "0x6fea80189363a786037ed3e7ba546dad0ef7de49fccae0e31eb658b7dd4ea76"},
             {"proof", {"0x1", "0x2", "0x3"}},
             {"gas_used", "0x5208"},
             {"execution_time", "0x3c"},
             {"caps",
              {{"gpu_memory", 80},
               {"cpu_cores", 64},
               {"ram", 512},
               {"storage", 4000},
               {"bandwidth", 10000},
               {"capability_flags", 1 | 4 | 64},
               {"gpu_model", "H100"},
               {"cpu_model", "EPYC"}}},
             {"location_hash", "0xabc"},
             {"metrics",
              {{"avg_response_time", 1200},
               {"completion_rate", 99},
               {"quality_score", 97},
               {"uptime_percentage", 100},
               {"last_updated", 1764720000}}},
             {"stake_amount", "0xde0b6b3a7640000000000000000000000001"},
             {"lock_period", 2592000},
             {"text", text},
             {"job_manager", ContractAddresses::sepolia().job_manager.to_hex()},
             {"cdc_pool", ContractAddresses::sepolia().cdc_pool.to_hex()}};
  const fs::path tmp = fs::temp_directory_path() / ("ciro_calldata_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  std::ofstream(tmp / "in.json") << in.dump();
  const std::string cmd = "cd '" + dir.string() + "' && node calldata_oracle.mjs < '" + (tmp / "in.json").string() +
                          "' > '" + (tmp / "out.json").string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  std::ifstream outf(tmp / "out.json");
  json js = json::parse(outf);
  fs::remove_all(tmp);

  const Felt jm = ContractAddresses::sepolia().job_manager, cdc = ContractAddresses::sepolia().cdc_pool;
  const JobId job = CairoU256::from_u256(*parse_hex_u256("0x1000000000000000000000000000000002a"));
  JobResult r;
  r.job_id = job;
  r.worker_id = F("0x5eed");
  r.output_data_hash = F("0x6fea80189363a786037ed3e7ba546dad0ef7de49fccae0e31eb658b7dd4ea76");
  r.computation_proof = {Felt::from_u64(1), Felt::from_u64(2), Felt::from_u64(3)};
  r.gas_used = CairoU256::from_u64(0x5208);
  r.execution_time = 60;
  WorkerCapabilities caps{80, 64, 512, 4000, 10000, 1 | 4 | 64, *short_string("H100"), *short_string("EPYC")};
  PerformanceMetrics m{1200, 99, 97, 100, 1764720000};

  auto check_call = [&](const std::string& name, const Call& c) {
    SCOPED_TRACE(name);
    EXPECT_EQ(c.selector.to_hex(), js[name]["selector"].get<std::string>());
    EXPECT_EQ(hex(c.calldata), js[name]["calldata"].get<std::vector<std::string>>());
  };
  auto check_view = [&](const std::string& name, const FunctionCall& c) {
    SCOPED_TRACE(name);
    EXPECT_EQ(c.entry_point_selector.to_hex(), js[name]["selector"].get<std::string>());
    EXPECT_EQ(hex(c.calldata), js[name]["calldata"].get<std::vector<std::string>>());
  };
  check_call("jm_register_worker",
             job_manager::register_worker(jm, F("0x5eed"),
                                          F("0x49d36570d4e46f48e99674bd3fcc84644ddd6b96f7c741b1562b82f9e004dc7")));
  const Call submit = job_manager::submit_job_result(jm, r);
  check_call("jm_submit_job_result", submit);
  check_view("jm_get_job_details", job_manager::get_job_details(jm, job));
  check_view("jm_get_job_state", job_manager::get_job_state(jm, job));
  check_view("jm_get_worker_stats", job_manager::get_worker_stats(jm, F("0x5eed")));
  check_call("cdc_register_worker", cdc_pool::register_worker(cdc, caps, r.computation_proof, F("0xabc")));
  const Call hb = cdc_pool::submit_heartbeat(cdc, F("0x5eed"), m);
  check_call("cdc_submit_heartbeat", hb);
  check_call(
      "cdc_stake",
      cdc_pool::stake(cdc, CairoU256::from_u256(*parse_hex_u256("0xde0b6b3a7640000000000000000000000001")), 2592000));
  EXPECT_EQ(hex(encode_byte_array(text)), js["byte_array"]["calldata"].get<std::vector<std::string>>());
  std::vector<Call> calls = {submit, hb};
  EXPECT_EQ(hex(execute_calldata(calls)), js["execute"]["calldata"].get<std::vector<std::string>>());
  EXPECT_EQ(get_selector_from_name("__execute__").to_hex(), js["execute"]["selector"].get<std::string>());
  for (const auto& [name, sel] : js["events"].items())
    EXPECT_EQ(events::selector(name).to_hex(), sel.get<std::string>()) << name;
}
