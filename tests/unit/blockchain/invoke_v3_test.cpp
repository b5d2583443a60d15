#include <gtest/gtest.h>

#include "blockchain/hash.h"
#include "blockchain/invoke_v3.h"
#include "test_data.h"

namespace ciro::blockchain {
namespace {

using test::hex;

ResourceBound bound(const nlohmann::json& pair) {
  ResourceBound b;
  b.max_amount = hex(pair[0]).w[0];
  const U256 p = hex(pair[1]);
  b.max_price_per_unit = (static_cast<unsigned __int128>(p.w[1]) << 64) | p.w[0];
  return b;
}

TEST(InvokeV3, FeeHashVectors) {
  // given starknet.js's fee-field vectors / when the fee hash is computed / then it matches (zero L1_DATA still hashed)
  const auto kat = test::read_json("kat.json");
  for (const auto& v : kat["invoke_v3_tx_hash"]["fee_field_hash"]) {
    InvokeV3 tx;
    tx.tip = hex(v["tip"]).w[0];
    tx.l1_gas = bound(v["l1_gas"]);
    tx.l2_gas = bound(v["l2_gas"]);
    tx.l1_data_gas = bound(v["l1_data_gas"]);
    EXPECT_EQ(invoke_v3_fee_hash(tx).to_hex(), v["out"].get<std::string>());
  }
}

TEST(InvokeV3, SequencerExamplesFromJson) {
  // given the sequencer's invoke_v3_tx1/2 files / when parsed and hashed on SN_MAIN / then the official and query hashes
  const auto kat = test::read_json("kat.json");
  int n = 0;
  for (const auto& v : kat["invoke_v3_tx_hash"]["full"]) {
    if (!v.contains("file") || v["file"].get<std::string>().find("invoke_v3_tx") == std::string::npos) continue;
    const std::string file = v["file"].get<std::string>().substr(v["file"].get<std::string>().rfind('/') + 1);
    const auto tx = invoke_v3_from_json(test::read_json(file));
    ASSERT_TRUE(tx.ok()) << tx.error().message;
    const Felt chain = *parse_chain_id(v["chain_id"].get<std::string>());
    EXPECT_EQ(invoke_v3_hash(*tx, chain).to_hex(), v["hash"].get<std::string>()) << file;
    EXPECT_EQ(invoke_v3_hash(*tx, chain, true).to_hex(), v["query_hash"].get<std::string>()) << file;
    ++n;
  }
  EXPECT_EQ(n, 2);
}

TEST(InvokeV3, SequencerTransactionHashJsonV3Entries) {
  // given transaction_hash.json's mainnet Invoke V3 entries (two bounds; one with proof_facts) / when hashed / then both hashes match
  const auto entries = test::read_json("transaction_hash.json");
  int n = 0;
  for (const auto& e : entries) {
    const auto& t = e["transaction"];
    if (!t.contains("Invoke") || !t["Invoke"].contains("V3")) continue;
    const auto tx = invoke_v3_from_json(t);
    ASSERT_TRUE(tx.ok()) << tx.error().message;
    EXPECT_FALSE(tx->l1_data_gas.has_value());
    const Felt chain = *parse_chain_id(e["chain_id"].get<std::string>());
    EXPECT_EQ(invoke_v3_hash(*tx, chain).to_hex(), e["transaction_hash"].get<std::string>());
    EXPECT_EQ(invoke_v3_hash(*tx, chain, true).to_hex(), e["only_query_transaction_hash"].get<std::string>());
    ++n;
  }
  EXPECT_EQ(n, 2);
}

TEST(InvokeV3, StarknetJsBaseArgsOnSepoliaWithProofFacts) {
  // given starknet.js's baseArgs on SN_SEPOLIA / when hashed with and without proof facts / then kat.json's values
  const auto kat = test::read_json("kat.json");
  for (const auto& v : kat["invoke_v3_tx_hash"]["full"]) {
    if (!v.contains("sender")) continue;
    nlohmann::json j = {{"type", "INVOKE"}, {"version", "0x3"}, {"sender_address", v["sender"]},
                        {"calldata", v["calldata"]}, {"nonce", v["nonce"]}, {"tip", v["tip"]},
                        {"resource_bounds",
                         {{"l1_gas", {{"max_amount", v["l1_gas"][0]}, {"max_price_per_unit", v["l1_gas"][1]}}},
                          {"l2_gas", {{"max_amount", v["l2_gas"][0]}, {"max_price_per_unit", v["l2_gas"][1]}}},
                          {"l1_data_gas", {{"max_amount", v["l1_data_gas"][0]}, {"max_price_per_unit", v["l1_data_gas"][1]}}}}},
                        {"paymaster_data", nlohmann::json::array()}, {"account_deployment_data", nlohmann::json::array()},
                        {"nonce_data_availability_mode", "L1"}, {"fee_data_availability_mode", "L1"}};
    auto tx = invoke_v3_from_json(j);
    ASSERT_TRUE(tx.ok()) << tx.error().message;
    const Felt chain = *parse_chain_id(v["chain_id"].get<std::string>());
    EXPECT_EQ(invoke_v3_hash(*tx, chain).to_hex(), v["hash"].get<std::string>());
    tx->proof_facts = {Felt::from_u64(1), Felt::from_u64(2)};
    EXPECT_EQ(invoke_v3_hash(*tx, chain).to_hex(), v["hash_with_proof_facts_[0x1,0x2]"].get<std::string>());
  }
}

TEST(InvokeV3, JsonErrorsNameTheField) {
  // given malformed transactions / when parsed / then errors that name the field
  EXPECT_NE(invoke_v3_from_json(nlohmann::json::array()).error().message.find("object"), std::string::npos);
  nlohmann::json j = {{"sender_address", "0x1"}, {"nonce", "0x1"}, {"calldata", {"0xzz"}}, {"resource_bounds", nlohmann::json::object()}};
  EXPECT_NE(invoke_v3_from_json(j).error().message.find("calldata[0]"), std::string::npos);
  j["calldata"] = {"0x1"};
  EXPECT_NE(invoke_v3_from_json(j).error().message.find("resource_bounds"), std::string::npos);
  j["resource_bounds"] = {{"l1_gas", {{"max_amount", "0x10000000000000000"}, {"max_price_per_unit", "0x1"}}},
                          {"l2_gas", {{"max_amount", "0x0"}, {"max_price_per_unit", "0x0"}}}};
  EXPECT_NE(invoke_v3_from_json(j).error().message.find("max_amount"), std::string::npos);
  j["sender_address"] = "0x800000000000011000000000000000000000000000000000000000000000001";
  EXPECT_NE(invoke_v3_from_json(j).error().message.find("sender_address"), std::string::npos);
}

}  // namespace
}  // namespace ciro::blockchain
