#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "compute/docker_executor.h"

namespace ciro::compute {
namespace {

ContainerSpec base_spec() {
  ContainerSpec s;
  s.job_id = "job1";
  s.node_id = "node-a";
  s.image = "ciro/busybox:latest";
  s.command = {"sh", "-c", "true"};
  s.memory_bytes = 64ull << 20;
  s.cpus = 1.5;
  s.pids_limit = 100;
  s.tmpfs_bytes = 1 << 20;
  return s;
}

// Given a default spec, when the body is built, then every isolation flag is set and there is no network.
TEST(CreateBody, IsolationFlags) {
  auto b = build_create_body(base_spec());
  const auto& h = b["HostConfig"];
  EXPECT_EQ(b["Image"], "ciro/busybox:latest");
  EXPECT_EQ(b["Cmd"], nlohmann::json::array({"sh", "-c", "true"}));
  EXPECT_FALSE(b.contains("Entrypoint"));
  EXPECT_EQ(b["Labels"]["ciro.node"], "node-a");
  EXPECT_EQ(b["Labels"]["ciro.job"], "job1");
  EXPECT_EQ(h["Privileged"], false);
  EXPECT_EQ(h["CapDrop"], nlohmann::json::array({"ALL"}));
  EXPECT_EQ(h["SecurityOpt"], nlohmann::json::array({"no-new-privileges"}));
  EXPECT_EQ(h["ReadonlyRootfs"], true);
  EXPECT_EQ(h["Tmpfs"]["/tmp"], "rw,size=1048576");
  EXPECT_EQ(h["NetworkMode"], "none");
  EXPECT_EQ(h["Memory"], 64ull << 20);
  EXPECT_EQ(h["MemorySwap"], 64ull << 20);
  EXPECT_EQ(h["NanoCpus"], 1500000000);
  EXPECT_EQ(h["PidsLimit"], 100);
  EXPECT_FALSE(h.contains("Binds"));
  EXPECT_FALSE(h.contains("DeviceRequests"));
  EXPECT_TRUE(b["Volumes"].contains("/output"));
}

// Given GPU ids, when the body is built, then an nvidia device request carries exactly those ids and the gpu capability.
TEST(CreateBody, GpuDeviceRequest) {
  auto s = base_spec();
  s.gpu_device_ids = {"0", "GPU-abc"};
  auto b = build_create_body(s);
  const auto& dr = b["HostConfig"]["DeviceRequests"];
  ASSERT_EQ(dr.size(), 1u);
  EXPECT_EQ(dr[0]["Driver"], "nvidia");
  EXPECT_EQ(dr[0]["DeviceIDs"], nlohmann::json::array({"0", "GPU-abc"}));
  EXPECT_EQ(dr[0]["Capabilities"], nlohmann::json::parse(R"([["gpu"]])"));
  EXPECT_FALSE(dr[0].contains("Count"));
}

// Given an input dir, network allowed, env, entrypoint and workdir, when the body is built, then they appear as the API expects.
TEST(CreateBody, BindsNetworkEnv) {
  auto s = base_spec();
  s.input_dir = "/srv/in";
  s.network = true;
  s.env = {{"A", "1"}, {"B", "x=y"}};
  s.entrypoint = {"/bin/sh"};
  s.workdir = "/tmp";
  auto b = build_create_body(s);
  EXPECT_EQ(b["HostConfig"]["Binds"], nlohmann::json::array({"/srv/in:/input:ro"}));
  EXPECT_NE(b["HostConfig"]["NetworkMode"], "none");
  EXPECT_EQ(b["Env"], nlohmann::json::array({"A=1", "B=x=y"}));
  EXPECT_EQ(b["Entrypoint"], nlohmann::json::array({"/bin/sh"}));
  EXPECT_EQ(b["WorkingDir"], "/tmp");
}

}  // namespace
}  // namespace ciro::compute
