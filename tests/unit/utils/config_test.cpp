#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "utils/config.h"

using namespace ciro::utils;
namespace fs = std::filesystem;

namespace {
fs::path write_toml(const std::string& text) {
  static int n = 0;
  auto p =
      fs::temp_directory_path() / ("ciro-config-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".toml");
  std::ofstream(p) << text;
  return p;
}
}  // namespace

// Given every key the original README documents, when the file is loaded, then each is read.
TEST(Config, ReadsOriginalKeys) {
  auto file = write_toml(R"(
[node]
id = "worker-007"
bind_address = "0.0.0.0:8080"
data_dir = "/var/lib/ciro"
[gpu]
enabled = true
devices = ["0", "1"]
memory_limit = "80%"
utilization_threshold = 0.75
[network]
listen_port = 9100
bootstrap_peers = ["/ip4/1.2.3.4/tcp/9000/p2p/12D3KooWExample"]
[blockchain]
network = "testnet"
rpc_url = "https://rpc.example/v0_10"
)");
  auto c = load_config({file, {}, {}});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->node.id, "worker-007");
  EXPECT_EQ(c->node.bind_address, "0.0.0.0:8080");
  EXPECT_EQ(c->node.data_dir, "/var/lib/ciro");
  EXPECT_EQ(c->gpu.devices, (std::vector<std::string>{"0", "1"}));
  EXPECT_DOUBLE_EQ(c->gpu.memory_fraction, 0.8);
  EXPECT_DOUBLE_EQ(c->gpu.utilization_threshold, 0.75);
  EXPECT_EQ(c->network.listen_port, 9100);
  EXPECT_EQ(c->network.bootstrap_peers.size(), 1u);
  EXPECT_EQ(c->blockchain.rpc_url, (std::vector<std::string>{"https://rpc.example/v0_10"}));
  EXPECT_TRUE(c->warnings.empty());
}

// Given devices = "all" and memory_limit = "8GB", when loaded, then all GPUs and an absolute limit.
TEST(Config, GpuAllAndAbsoluteMemory) {
  auto c = load_config({write_toml("[gpu]\ndevices = \"all\"\nmemory_limit = \"8GB\"\n"), {}, {}});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_TRUE(c->gpu.devices.empty());
  EXPECT_EQ(c->gpu.memory_bytes, 8'000'000'000ull);
}

// Given a file, an environment variable and a flag for the same key, when loaded, then the flag
// wins over the environment, which wins over the file, which wins over the default.
TEST(Config, PrecedenceDefaultsFileEnvFlags) {
  auto file =
      write_toml("[executor]\nmax_concurrent_jobs = 3\ndefault_memory = \"256MiB\"\n[node]\nid = \"from-file\"\n");
  auto only_file = load_config({file, {}, {}});
  ASSERT_TRUE(only_file.ok());
  EXPECT_EQ(only_file->executor.max_concurrent_jobs, 3u);
  EXPECT_EQ(only_file->executor.max_queued_jobs, 1000u);  // default kept

  std::map<std::string, std::string> env = {{"CIRO_EXECUTOR__MAX_CONCURRENT_JOBS", "5"}, {"CIRO_NODE__ID", "from-env"}};
  auto with_env = load_config({file, env, {}});
  ASSERT_TRUE(with_env.ok()) << with_env.error().to_string();
  EXPECT_EQ(with_env->executor.max_concurrent_jobs, 5u);
  EXPECT_EQ(with_env->node.id, "from-env");

  auto with_flag = load_config({file, env, {{"node.id", "from-flag"}}});
  ASSERT_TRUE(with_flag.ok());
  EXPECT_EQ(with_flag->node.id, "from-flag");
  EXPECT_EQ(with_flag->executor.max_concurrent_jobs, 5u);
  EXPECT_EQ(with_flag->executor.default_memory, 256ull << 20);
}

// Given an invalid size on line 3, when loaded, then the error names the file, line, key and what is allowed.
TEST(Config, InvalidValueNamesFileLineKeyAndAllowed) {
  auto file = write_toml("[executor]\nmax_concurrent_jobs = 2\nmax_memory = \"lots\"\n");
  auto c = load_config({file, {}, {}});
  ASSERT_FALSE(c.ok());
  const auto& m = c.error().message;
  EXPECT_NE(m.find(file.string() + ":3"), std::string::npos) << m;
  EXPECT_NE(m.find("executor.max_memory"), std::string::npos) << m;
  EXPECT_NE(m.find("allowed"), std::string::npos) << m;
}

// Given wrong types and out-of-range numbers, when loaded, then each is refused with the key.
TEST(Config, WrongTypesAndRangesAreRefused) {
  for (const char* text :
       {"[node]\nbind_address = 8080\n", "[node]\nbind_address = \"nohost\"\n", "[gpu]\nutilization_threshold = 1.5\n",
        "[gpu]\nmemory_limit = \"180%\"\n", "[network]\nlisten_port = 70000\n", "[node]\nbind_address = \"example.com:8080\"\n",
        "[node]\nbind_address = \"[::1:8080\"\n", "[blockchain]\nnetwork = \"moon\"\n",
        "[blockchain]\naccount_address = \"0xZZ\"\n", "[log]\nformat = \"xml\"\n",
        "[executor]\ndefault_timeout = \"forever\"\n", "[gpu]\nenabled = \"yes\"\n"}) {
    auto c = load_config({write_toml(text), {}, {}});
    EXPECT_FALSE(c.ok()) << text;
  }
}

// Given malformed TOML, when loaded, then the error gives the file and line and says it is not TOML.
TEST(Config, MalformedTomlIsLocated) {
  auto file = write_toml("[node]\nid = \"a\"\nbroken = = 3\n");
  auto c = load_config({file, {}, {}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find(":3"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("TOML"), std::string::npos);
}

// Given an unknown key and an unknown CIRO_ variable, when loaded, then both become warnings, not errors.
TEST(Config, UnknownKeysWarn) {
  auto c = load_config({write_toml("[node]\nid = \"a\"\ncolour = \"blue\"\n"), {{"CIRO_NODE__COLOUR", "red"}}, {}});
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->warnings.size(), 2u);
  EXPECT_NE(c->warnings[0].find("node.colour"), std::string::npos);
}

// Given RUST_LOG and CIRO_LOG, when loaded, then CIRO_LOG wins and RUST_LOG is used alone.
TEST(Config, RustLogIsAnAlias) {
  auto only_rust = load_config({std::nullopt, {{"RUST_LOG", "debug"}}, {}});
  EXPECT_EQ(only_rust->log.level, "debug");
  auto both = load_config({std::nullopt, {{"RUST_LOG", "debug"}, {"CIRO_LOG", "warn,api=trace"}}, {}});
  EXPECT_EQ(both->log.level, "warn,api=trace");
}

// Given an RPC URL (which may carry an API key), when printed, then it is redacted and the rest is valid TOML.
TEST(Config, PrintConfigRedactsSecretsAndReloads) {
  auto c = load_config({write_toml("[blockchain]\nrpc_url = [\"https://rpc.example/v0_10/SECRETKEY\"]\n"), {}, {}});
  ASSERT_TRUE(c.ok());
  std::string text = print_config(*c);
  EXPECT_EQ(text.find("SECRETKEY"), std::string::npos);
  EXPECT_NE(text.find("<redacted>"), std::string::npos);
  auto defaults = load_config({std::nullopt, {}, {}});
  auto again = load_config({write_toml(print_config(*defaults)), {}, {}});
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(print_config(*again), print_config(*defaults));
}

// Given a default above its maximum, when loaded, then the cross-key check refuses it.
TEST(Config, DefaultAboveMaximumRefused) {
  auto c = load_config({write_toml("[executor]\ndefault_memory = \"8GiB\"\nmax_memory = \"1GiB\"\n"), {}, {}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("max_memory"), std::string::npos);
}

// Given an unknown --set key, when loaded, then it is an error naming it.
TEST(Config, UnknownFlagKeyIsAnError) {
  auto c = load_config({std::nullopt, {}, {{"node.colour", "x"}}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("node.colour"), std::string::npos);
}

// Given a short hex address in an environment variable (TOML would read 0x1234 as an integer),
// when loaded, then it is taken as the string it was meant to be.
TEST(Config, HexTextInEnvironmentIsAString) {
  auto c = load_config({std::nullopt, {{"CIRO_BLOCKCHAIN__ACCOUNT_ADDRESS", "0x1234"}}, {}});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->blockchain.account_address, "0x1234");
}

// Given a folder or a missing path as the configuration file, when loaded, then it is an error
// naming the path, not a silent start on the defaults.
TEST(Config, FolderOrMissingFileIsAnError) {
  auto dir = load_config({fs::temp_directory_path(), {}, {}});
  ASSERT_FALSE(dir.ok());
  EXPECT_NE(dir.error().message.find("not a regular file"), std::string::npos) << dir.error().message;
  auto missing = load_config({fs::temp_directory_path() / "no-such-ciro.toml", {}, {}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("no such file"), std::string::npos) << missing.error().message;
}

// Given an unknown log level in the file or in CIRO_LOG, when loaded, then it is refused there
// (file:line or the variable's name), not later when logging starts.
TEST(Config, BadLogLevelIsRefusedWhereItWasSet) {
  auto file = write_toml("[log]\nlevel = \"loud\"\n");
  auto c = load_config({file, {}, {}});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find(file.string() + ":2"), std::string::npos) << c.error().message;
  auto e = load_config({std::nullopt, {{"CIRO_LOG", "info,api=shouty"}}, {}});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("CIRO_LOG"), std::string::npos) << e.error().message;
}

// Given a cross-key conflict caused by an environment variable, when loaded, then the error
// blames the variable, not the file.
TEST(Config, CrossKeyErrorNamesWhereTheValueCameFrom) {
  auto file = write_toml("[executor]\nmax_memory = \"2GiB\"\n");
  auto c = load_config({file, {{"CIRO_EXECUTOR__DEFAULT_MEMORY", "3GiB"}}, {}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message.rfind("environment CIRO_EXECUTOR__DEFAULT_MEMORY", 0), 0u) << c.error().message;
  auto m = load_config({std::nullopt, {{"CIRO_EXECUTOR__MAX_MEMORY", "8MiB"}}, {}});
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().message.rfind("environment CIRO_EXECUTOR__MAX_MEMORY", 0), 0u) << m.error().message;
  // A decimal number where a hex felt is expected is named as such, not as a type mismatch.
  auto felt = load_config({std::nullopt, {{"CIRO_BLOCKCHAIN__ACCOUNT_ADDRESS", "1234"}}, {}});
  ASSERT_FALSE(felt.ok());
  EXPECT_NE(felt.error().message.find("hex felt"), std::string::npos) << felt.error().message;
}

// Given chain values that cannot work (an address not below the Stark prime, a URL without a
// host or with credentials, mainnet or devnet without contract addresses), when loaded, then
// each is refused at start-up, and no message repeats the URL's path (it may hold an API key).
TEST(Config, UnusableChainValuesAreRefused) {
  const std::string p = "0x800000000000011000000000000000000000000000000000000000000000001";
  for (const std::string& text :
       {"[blockchain]\naccount_address = \"" + p + "\"\n",
        "[blockchain]\njob_manager_address = \"0x" + std::string(64, 'f') + "\"\n",
        std::string("[blockchain]\nrpc_url = \"http://\"\n"), std::string("[blockchain]\nrpc_url = \"https:///v2/KEY1\"\n"),
        std::string("[blockchain]\nrpc_url = \"https://user:KEY2@rpc.example/v2\"\n"),
        std::string("[blockchain]\nrpc_url = \"http://rpc.example:notaport/KEY3\"\n"),
        std::string("[blockchain]\nenabled = true\nnetwork = \"mainnet\"\nrpc_url = \"https://rpc.example\"\n"
                    "account_address = \"0x1\"\nkeystore = \"k.json\"\n"),
        std::string("[blockchain]\nenabled = true\nnetwork = \"devnet\"\nrpc_url = \"http://127.0.0.1:5050\"\n"
                    "account_address = \"0x1\"\nkeystore = \"k.json\"\n")}) {
    auto c = load_config({write_toml(text), {}, {}});
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.error().message.find("KEY"), std::string::npos) << c.error().message;
  }
  auto below = load_config({write_toml("[blockchain]\naccount_address = \"" + p.substr(0, p.size() - 1) + "0\"\n"), {}, {}});
  EXPECT_TRUE(below.ok()) << below.error().to_string();  // P - 1
}

// Given a relative data_dir, when loaded, then it is made absolute against the current
// directory (the engine resolves bind mounts against its own).
TEST(Config, RelativeDataDirIsMadeAbsolute) {
  auto c = load_config({write_toml("[node]\ndata_dir = \"./some/data\"\n"), {}, {}});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_TRUE(c->node.data_dir.is_absolute());
  EXPECT_EQ(c->node.data_dir, (fs::current_path() / "some" / "data"));
}
