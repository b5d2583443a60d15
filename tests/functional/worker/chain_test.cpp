// The worker on Starknet, end to end against the fake JSON-RPC node: it registers itself, follows
// JobAssigned events addressed to it, and after such a job succeeds submits submit_job_result
// with the Poseidon hash of its signed manifest, through a 429 storm, a reorg, and a nonce used
// by someone else meanwhile.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <nlohmann/json.hpp>

#include <thread>

#include "blockchain/chain_service.h"
#include "blockchain/ecdsa.h"
#include "blockchain/hash.h"
#include "blockchain/keystore.h"
#include "fakes/starknet/fake_starknet.h"
#include "worker_process.h"

using namespace ciro::test;
using namespace ciro::blockchain;
using nlohmann::json;

namespace {
const char* ADDR = "0x5eed";
const char* JM = "0x10b";
const char* CDC = "0xcdc";
const std::string V = R"("api_version":"ciro/v1")";

ciro::fakes::FakeEvent job_assigned(std::uint64_t job, const std::string& worker) {
  return {JM, {get_selector_from_name("JobAssigned").to_hex(), Felt::from_u64(job).to_hex(), "0x0", worker}, {}, ""};
}

bool wait_for(const std::function<bool()>& pred, std::chrono::seconds limit = std::chrono::seconds(30)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return pred();
}

std::vector<json> submissions(ciro::fakes::FakeStarknet& node) {
  std::vector<json> out;
  for (const auto& tx : node.invokes()) {
    if (tx["calldata"][2] == get_selector_from_name("submit_job_result").to_hex()) out.push_back(tx);
  }
  return out;
}
}  // namespace

// Given a worker with [blockchain] enabled against the fake node, when a job with chain_job_id
// 0x7 succeeds and the chain (after a reorg that drops an assignment of job 8, during a 429 storm,
// with the account nonce used elsewhere) assigns job 7 to the worker, then exactly one
// submit_job_result for job 7 is sent, carrying the Poseidon hash of the job's manifest.
TEST(WorkerChain, ResultOfAnAssignedJobGoesOnChain) {
  auto dir = fresh_dir("chain");
  ciro::fakes::FakeStarknet node;
  const U256 key = *parse_hex_u256("0x139fe4d6f02e666e86a6f58e65060f115cd3c185bd9e98bd829636931458f79");
  node.add_account(ADDR, 0, get_public_key(key)->to_hex());
  node.add_contract(JM);
  node.add_contract(CDC);
  ASSERT_TRUE(keystore_write(dir / "key.json", key, "pw", ADDR, KdfLimits::interactive()).ok());
  ::setenv("CIRO_FT_CHAIN_PW", "pw", 1);
  WorkerProcess w(dir / "data", {"--set", "blockchain.enabled=true",
                                 "--set", "blockchain.network=\"sepolia\"",
                                 "--set", "blockchain.rpc_url=[\"" + node.url() + "\"]",
                                 "--set", std::string("blockchain.account_address=\"") + ADDR + "\"",
                                 "--set", "blockchain.keystore=\"" + (dir / "key.json").string() + "\"",
                                 "--set", "blockchain.password_env=\"CIRO_FT_CHAIN_PW\"",
                                 "--set", std::string("blockchain.job_manager_address=\"") + JM + "\"",
                                 "--set", std::string("blockchain.cdc_pool_address=\"") + CDC + "\"",
                                 "--set", "blockchain.confirmations=1",
                                 "--set", "blockchain.poll_interval=\"100ms\"",
                                 "--set", "blockchain.heartbeat_interval=\"0s\""});
  ASSERT_TRUE(w.start().ok()) << w.log_text();
  ASSERT_TRUE(wait_for([&] { return json::parse(w.get("/api/v1/node")->body)["chain"].value("running", false); }))
      << w.get("/api/v1/node")->body << w.log_text();
  EXPECT_EQ(json::parse(w.get("/health", false)->body)["checks"]["chain"]["status"], "ok");

  std::string id = w.submit("{" + V + R"(,"command":["sh","-c","echo 42 > /output/answer.txt"],"chain_job_id":"0x7"})");
  ASSERT_FALSE(id.empty());
  ASSERT_EQ(json::parse(w.wait_job(id))["state"], "succeeded");
  const std::string manifest = w.get("/api/v1/jobs/" + id + "/result")->body;
  const std::string expected_hash = poseidon_of_bytes(manifest).to_hex();

  // Not assigned yet: nothing is sent.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(submissions(node).empty());

  node.mine_block({job_assigned(8, ADDR)});  // replaced by the reorg before it confirms
  node.reorg(1, {{job_assigned(7, ADDR)}});
  node.bump_nonce(ADDR);  // someone else used the account meanwhile
  node.inject({ciro::fakes::FakeFault::Kind::http_429, 0, ""}, 5);
  node.mine_block();  // confirms the assignment of job 7

  ASSERT_TRUE(wait_for([&] { return !submissions(node).empty(); })) << w.log_text();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto sent = submissions(node);
  ASSERT_EQ(sent.size(), 1u);
  // calldata: [1, to, selector, len, job.lo, job.hi, job.lo, job.hi, worker, output_data_hash, ...]
  EXPECT_EQ(sent[0]["calldata"][4], "0x7");
  EXPECT_EQ(sent[0]["calldata"][9], expected_hash);
  ASSERT_TRUE(wait_for([&] { return json::parse(w.get("/api/v1/node")->body)["chain"]["results_submitted"] == 1; }));
  auto metrics = w.get("/metrics", false)->body;
  EXPECT_NE(metrics.find("ciro_chain_rpc_calls_total"), std::string::npos);
  EXPECT_EQ(w.terminate(), 0);
  std::filesystem::remove_all(dir);
}

// Given blockchain.enabled with a keystore path that does not exist, when the worker starts,
// then it stops at once saying how to create one.
TEST(WorkerChain, MissingKeystoreIsAClearStartError) {
  auto dir = fresh_dir("chainkey");
  WorkerProcess w(dir / "data",
                  {"--set", "blockchain.enabled=true", "--set", "blockchain.rpc_url=[\"http://127.0.0.1:9/\"]", "--set",
                   "blockchain.account_address=\"0x1\"", "--set", "blockchain.keystore=\"nope.json\""});
  auto r = w.start(std::chrono::seconds(10));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("keys new"), std::string::npos) << r.error().message;
  std::filesystem::remove_all(dir);
}

// Given [blockchain] enabled with a keystore password that does not open the keystore, when the
// worker starts, then it stops by itself with exit status 2 and says why (retrying cannot help),
// and the node reported the failure while it ran.
TEST(WorkerChain, UnusableChainConfigurationStopsTheWorker) {
  auto dir = fresh_dir("chain-badpw");
  ciro::fakes::FakeStarknet node;
  const U256 key = *parse_hex_u256("0x139fe4d6f02e666e86a6f58e65060f115cd3c185bd9e98bd829636931458f79");
  node.add_account(ADDR, 0, get_public_key(key)->to_hex());
  ASSERT_TRUE(keystore_write(dir / "key.json", key, "pw", ADDR, KdfLimits::interactive()).ok());
  ::setenv("CIRO_FT_CHAIN_BADPW", "not-the-password", 1);
  WorkerProcess w(dir / "data", {"--set", "blockchain.enabled=true",
                                 "--set", "blockchain.rpc_url=[\"" + node.url() + "\"]",
                                 "--set", std::string("blockchain.account_address=\"") + ADDR + "\"",
                                 "--set", "blockchain.keystore=\"" + (dir / "key.json").string() + "\"",
                                 "--set", "blockchain.password_env=\"CIRO_FT_CHAIN_BADPW\"",
                                 "--set", std::string("blockchain.job_manager_address=\"") + JM + "\""});
  (void)w.start();  // it may already be gone when /health/ready would answer
  ASSERT_TRUE(wait_for([&] { return !w.running(); })) << w.log_text();
  EXPECT_EQ(w.exit_status(), 2) << w.log_text();
  EXPECT_NE(w.log_text().find("fix the [blockchain] configuration"), std::string::npos) << w.log_text();
  EXPECT_TRUE(node.invokes().empty());
}
