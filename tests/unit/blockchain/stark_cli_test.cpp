#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "blockchain/stark_cli.h"
#include "test_data.h"

namespace ciro::blockchain {
namespace {

struct Run {
  int rc;
  std::string out;
  std::string err;
};

Run run(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int rc = stark_cli_main(args, out, err);
  return {rc, out.str(), err.str()};
}

TEST(StarkCli, SelectorPedersenPoseidonKeccak) {
  // given known inputs / when each hash command runs / then minimal hex, one value per line, exit 0
  EXPECT_EQ(run({"selector", "transfer"}).out, "0x83afd3f4caedc6eebf44246fe54e38c95e3179a5ec9ea81740eca5b482d12e\n");
  EXPECT_EQ(run({"pedersen", "0", "0"}).out, "0x49ee3eba8c1600700ee1b87eb599f16716b0b1022947733551fde4050ca6804\n");
  EXPECT_EQ(run({"poseidon", "0xb662f9017fa7956fd70e26129b1833e10ad000fd37b4d9f4e0ce6884b7bbe",
                 "0x1fe356bf76102cdae1bfbdc173602ead228b12904c00dad9cf16e035468bea"}).out,
            "0x75540825a6ecc5dc7d7c2f5f868164182742227f1367d66c43ee51ec7937a81\n");
  EXPECT_EQ(run({"poseidon", "0x9dad5d6f502ccbcb6d34ede04f0337df3b98936aaf782f4cc07d147e3a4fd6"}).out,
            "0x11222854783f17f1c580ff64671bc3868de034c236f956216e8ed4ab7533455\n");
  EXPECT_EQ(run({"poseidon", "--many"}).out, "0x2272be0f580fd156823304800919530eaa97430e972d7213ee13f4fbf7a5dbc\n");
  // "execute" as bytes
  EXPECT_EQ(run({"keccak", "0x65786563757465"}).out, "0x240060cdb34fcc260f41eac7474ee1d7c80b7e3607daff9ac67c7ea2ebb1c44\n");
}

TEST(StarkCli, PubkeySignVerify) {
  // given the kat key and hash / when pubkey, sign and verify run / then kat values and exit 0, tampered exit 1
  const std::string priv = "0x139fe4d6f02e666e86a6f58e65060f115cd3c185bd9e98bd829636931458f79";
  const std::string z = "0x6fea80189363a786037ed3e7ba546dad0ef7de49fccae0e31eb658b7dd4ea76";
  const std::string pub = "0x2c5dbad71c92a45cc4b40573ae661f8147869a91d57b8d9b8f48c8af7f83159";
  EXPECT_EQ(run({"pubkey", priv}).out, pub + "\n");
  const auto s = run({"sign", priv, z});
  EXPECT_EQ(s.rc, 0);
  EXPECT_EQ(s.out, "0x61ec782f76a66f6984efc3a1b6d152a124c701c00abdd2bf76641b4135c770f\n"
                   "0x4e44e759cea02c23568bb4d8a09929bbca8768ab68270d50c18d214166ccd9a\n");
  EXPECT_EQ(run({"verify", pub, z, "0x61ec782f76a66f6984efc3a1b6d152a124c701c00abdd2bf76641b4135c770f",
                 "0x4e44e759cea02c23568bb4d8a09929bbca8768ab68270d50c18d214166ccd9a"}).rc, 0);
  EXPECT_EQ(run({"verify", pub, z, "0x61ec782f76a66f6984efc3a1b6d152a124c701c00abdd2bf76641b4135c770f",
                 "0x4e44e759cea02c23568bb4d8a09929bbca8768ab68270d50c18d214166ccd9b"}).rc, 1);
  EXPECT_EQ(run({"verify", pub, z, "0x0", "0x1"}).rc, 1);
}

TEST(StarkCli, InvokeHashFromFileWithChainIdFlag) {
  // given the sequencer's tx1 file / when invoke-hash runs with --chain-id SN_MAIN / then the official hash
  const std::string path = std::string(CIRO_TEST_DATA_DIR) + "/starknet/invoke_v3_tx1.json";
  const auto r = run({"invoke-hash", path, "--chain-id", "SN_MAIN"});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "0x2064a4dec0242812bd3b83a4427789b440dfe67f916e58125ed789994a8bfd3\n");
  EXPECT_EQ(run({"invoke-hash", path, "--chain-id", "SN_MAIN", "--query"}).out,
            "0x16dcd6675a2fb01a42f53bb57ef44810ae0266a88f48ec707871ea676b87979\n");
  // chain id inside the file (RPC shape)
  const std::string tmp = ::testing::TempDir() + "/stark_cli_tx.json";
  {
    std::ofstream f(tmp);
    f << R"({"chain_id":"0x534e5f5345504f4c4941","type":"INVOKE","version":"0x3","sender_address":"0x12fd538",
            "calldata":["0x11","0x26"],"nonce":"0x9","tip":"0x0","paymaster_data":[],"account_deployment_data":[],
            "nonce_data_availability_mode":"L1","fee_data_availability_mode":"L1",
            "resource_bounds":{"l1_gas":{"max_amount":"0x7c9","max_price_per_unit":"0x1"},
              "l2_gas":{"max_amount":"0x0","max_price_per_unit":"0x0"},
              "l1_data_gas":{"max_amount":"0x0","max_price_per_unit":"0x0"}}})";
  }
  EXPECT_EQ(run({"invoke-hash", tmp}).out, "0x27469ecfdadc3a4cef67840e6c078d3c55a5a1040db290da4eaca1b62e62e27\n");
  std::remove(tmp.c_str());
}

TEST(StarkCli, InvokeHashRefusesAmbiguousInput) {
  // given a transaction file naming its nonce twice, a folder as FILE, and "--chain-id 0x" / when
  // invoke-hash runs / then each is refused with a message (no hash of a guessed input)
  const std::string tmp = ::testing::TempDir() + "/stark_cli_twice.json";
  {
    std::ofstream f(tmp);
    f << R"({"chain_id":"0x534e5f5345504f4c4941","type":"INVOKE","version":"0x3","sender_address":"0x12fd538",
            "calldata":[],"nonce":"0x54","nonce":"0x55","tip":"0x0","paymaster_data":[],"account_deployment_data":[],
            "nonce_data_availability_mode":"L1","fee_data_availability_mode":"L1",
            "resource_bounds":{"l1_gas":{"max_amount":"0x7c9","max_price_per_unit":"0x1"},
              "l2_gas":{"max_amount":"0x0","max_price_per_unit":"0x0"},
              "l1_data_gas":{"max_amount":"0x0","max_price_per_unit":"0x0"}}})";
  }
  const auto twice = run({"invoke-hash", tmp});
  EXPECT_NE(twice.rc, 0);
  EXPECT_NE(twice.err.find("'nonce' is given twice"), std::string::npos) << twice.err;
  const auto folder = run({"invoke-hash", ::testing::TempDir()});
  EXPECT_NE(folder.rc, 0);
  EXPECT_NE(folder.err.find("not a readable file"), std::string::npos) << folder.err;
  const std::string path = std::string(CIRO_TEST_DATA_DIR) + "/starknet/invoke_v3_tx1.json";
  const auto empty_hex = run({"invoke-hash", path, "--chain-id", "0x"});
  EXPECT_NE(empty_hex.rc, 0);
  EXPECT_TRUE(empty_hex.out.empty()) << empty_hex.out;
  std::remove(tmp.c_str());
}

TEST(StarkCli, BadUsageExitsTwoWithMessage) {
  // given missing or malformed arguments / when run / then exit 2 and a message on stderr
  for (const auto& args : std::vector<std::vector<std::string>>{
           {}, {"nope"}, {"pedersen", "1"}, {"pedersen", "0x800000000000011000000000000000000000000000000000000000000000001", "0"},
           {"pubkey", "0"}, {"pubkey", "xyz"}, {"sign", "1", "0x800000000000000000000000000000000000000000000000000000000000000"},
           {"keccak", "0xzz"}, {"invoke-hash"}, {"invoke-hash", "/nonexistent/file.json", "--chain-id", "SN_MAIN"},
           {"verify", "1", "2"}}) {
    const auto r = run(args);
    EXPECT_EQ(r.rc, 2) << (args.empty() ? "" : args[0]);
    EXPECT_FALSE(r.err.empty());
  }
  const auto h = run({"help"});
  EXPECT_EQ(h.rc, 0);
  EXPECT_NE(h.out.find("invoke-hash"), std::string::npos);
}

}  // namespace
}  // namespace ciro::blockchain
