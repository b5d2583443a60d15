#include "compute/gpu.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

namespace ciro::compute {
namespace {

constexpr const char* UUID0 = "GPU-00000000-1111-2222-3333-444444444444";
constexpr const char* UUID1 = "GPU-55555555-6666-7777-8888-999999999999";
constexpr std::uint64_t GIB = 1ull << 30;

GpuOptions fake_options() {
  GpuOptions o;
  o.library = CIRO_FAKE_NVML;
  return o;
}

TEST(GpuManager, FakeLibraryIsNamedLikeTheDriver) {
  // given the fake built by the tests / when we look at its file / then it is libnvidia-ml.so.1
  EXPECT_EQ(std::filesystem::path(CIRO_FAKE_NVML).filename(), "libnvidia-ml.so.1");
  EXPECT_EQ(std::filesystem::path(CIRO_FAKE_NVML_NO_COUNT).filename(), "libnvidia-ml.so.1");
}

TEST(GpuManager, SeesTwoGpusWithTheirFields) {
  // given the two-GPU fake / when we take a snapshot / then both GPUs come with every field of GPU 0
  GpuManager gpus(fake_options());
  EXPECT_TRUE(gpus.available()) << gpus.note();
  EXPECT_EQ(gpus.note(), "");
  EXPECT_EQ(gpus.driver_version(), "550.54.15-fake");
  auto devices = gpus.snapshot();
  ASSERT_EQ(devices.size(), 2u);
  const GpuDevice& d = devices[0];
  EXPECT_EQ(d.index, 0u);
  EXPECT_EQ(d.uuid, UUID0);
  EXPECT_EQ(d.name, "Fake NVIDIA H100 80GB HBM3");
  EXPECT_EQ(d.memory_total, 80 * GIB);
  EXPECT_EQ(d.memory_used, 1 * GIB);
  EXPECT_EQ(d.utilization_pct, 42u);
  EXPECT_EQ(d.memory_utilization_pct, 17u);
  EXPECT_EQ(d.temperature_c, 55u);
  EXPECT_EQ(d.power_mw, 123456u);
  EXPECT_TRUE(d.offered);
  EXPECT_EQ(d.offered_memory_bytes, 80 * GIB);
  EXPECT_EQ(devices[1].uuid, UUID1);
  EXPECT_EQ(devices[1].memory_total, 24 * GIB);
  EXPECT_EQ(gpus.offered_count(), 2u);
  EXPECT_EQ(gpus.offered_memory_per_gpu(), 24 * GIB);
}

TEST(GpuManager, UnsupportedQueriesLeaveFieldsAbsent) {
  // given GPU 1 answers NOT_SUPPORTED for utilisation, temperature and power / when snapshot / then those fields are empty
  GpuManager gpus(fake_options());
  auto devices = gpus.snapshot();
  ASSERT_EQ(devices.size(), 2u);
  const GpuDevice& d = devices[1];
  EXPECT_EQ(d.name, "Fake NVIDIA A10");
  EXPECT_FALSE(d.utilization_pct.has_value());
  EXPECT_FALSE(d.memory_utilization_pct.has_value());
  EXPECT_FALSE(d.temperature_c.has_value());
  EXPECT_FALSE(d.power_mw.has_value());
  EXPECT_TRUE(d.offered);
}

TEST(GpuManager, MissingLibraryMeansNoGpusAndANote) {
  // given a library path that does not exist / when the manager starts / then zero GPUs and a note naming NVML
  GpuOptions o;
  o.library = "/nonexistent/libnvidia-ml.so.1";
  GpuManager gpus(o);
  EXPECT_FALSE(gpus.available());
  EXPECT_TRUE(gpus.snapshot().empty());
  EXPECT_EQ(gpus.offered_count(), 0u);
  EXPECT_EQ(gpus.driver_version(), "");
  EXPECT_NE(gpus.note().find("NVML not available"), std::string::npos) << gpus.note();
  EXPECT_NE(gpus.note().find("/nonexistent/libnvidia-ml.so.1"), std::string::npos) << gpus.note();
}

TEST(GpuManager, MissingRequiredSymbolMeansNoGpusAndANote) {
  // given a fake without nvmlDeviceGetCount_v2 / when the manager starts / then zero GPUs and the note names the symbol
  GpuOptions o;
  o.library = CIRO_FAKE_NVML_NO_COUNT;
  GpuManager gpus(o);
  EXPECT_FALSE(gpus.available());
  EXPECT_TRUE(gpus.snapshot().empty());
  EXPECT_NE(gpus.note().find("nvmlDeviceGetCount_v2"), std::string::npos) << gpus.note();
  auto chosen = gpus.choose(1, 0, {});
  EXPECT_FALSE(chosen.ok());
}

TEST(GpuManager, DisabledOffersNothing) {
  // given gpu.enabled = false / when the manager starts / then nothing is offered and the note says disabled
  GpuOptions o = fake_options();
  o.enabled = false;
  GpuManager gpus(o);
  EXPECT_FALSE(gpus.available());
  EXPECT_EQ(gpus.offered_count(), 0u);
  EXPECT_NE(gpus.note().find("disabled"), std::string::npos);
  auto check = gpus.check_request(1, 0);
  ASSERT_FALSE(check.ok());
  EXPECT_NE(check.error().message.find("disabled"), std::string::npos) << check.error().message;
  EXPECT_TRUE(gpus.check_request(0, 0).ok());
}

TEST(GpuManager, DevicesListRestrictsWhatIsOffered) {
  // given devices = ["1"] / when the manager starts / then only GPU 1 is offered and chosen
  GpuOptions o = fake_options();
  o.devices = {"1"};
  GpuManager gpus(o);
  EXPECT_EQ(gpus.offered_count(), 1u);
  auto devices = gpus.snapshot();
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_FALSE(devices[0].offered);
  EXPECT_TRUE(devices[1].offered);
  auto chosen = gpus.choose(1, 0, {});
  ASSERT_TRUE(chosen.ok()) << chosen.error().message;
  EXPECT_EQ(*chosen, std::vector<std::string>{UUID1});
  EXPECT_FALSE(gpus.check_request(2, 0).ok());
}

TEST(GpuManager, DevicesListAcceptsUuidsAndReportsUnknownEntries) {
  // given devices = [UUID0, "7"] / when the manager starts / then GPU 0 is offered and the note names "7"
  GpuOptions o = fake_options();
  o.devices = {UUID0, "7"};
  GpuManager gpus(o);
  EXPECT_EQ(gpus.offered_count(), 1u);
  EXPECT_EQ(gpus.snapshot()[0].offered, true);
  EXPECT_NE(gpus.note().find("\"7\""), std::string::npos) << gpus.note();
}

TEST(GpuManager, MemoryLimitAsFraction) {
  // given memory_limit "80%" / when the manager starts / then each GPU offers 80% of its memory
  GpuOptions o = fake_options();
  o.memory_limit.fraction = 0.8;
  GpuManager gpus(o);
  auto devices = gpus.snapshot();
  ASSERT_EQ(devices.size(), 2u);
  EXPECT_EQ(devices[0].offered_memory_bytes, static_cast<std::uint64_t>(80 * GIB * 0.8));
  EXPECT_EQ(devices[1].offered_memory_bytes, static_cast<std::uint64_t>(24 * GIB * 0.8));
  EXPECT_EQ(gpus.offered_memory_per_gpu(), static_cast<std::uint64_t>(24 * GIB * 0.8));
}

TEST(GpuManager, MemoryLimitAsBytes) {
  // given memory_limit "8GB" / when the manager starts / then every GPU offers 8 GB
  GpuOptions o = fake_options();
  o.memory_limit.bytes = 8'000'000'000ull;
  GpuManager gpus(o);
  for (const GpuDevice& d : gpus.snapshot()) EXPECT_EQ(d.offered_memory_bytes, 8'000'000'000ull);
  EXPECT_EQ(gpus.offered_memory_per_gpu(), 8'000'000'000ull);
}

TEST(GpuManager, CheckRequestRefusesTooManyGpus) {
  // given two offered GPUs / when a job asks for three / then it is refused naming the counts
  GpuManager gpus(fake_options());
  EXPECT_TRUE(gpus.check_request(2, 0).ok());
  auto r = gpus.check_request(3, 0);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::limit_exceeded);
  EXPECT_NE(r.error().message.find("resources.gpus: 3 GPU(s) requested but this node offers 2"),
            std::string::npos)
      << r.error().message;
}

TEST(GpuManager, CheckRequestRefusesTooMuchMemory) {
  // given GPUs offering 80 and 24 GiB / when a job asks 2 GPUs of 40 GiB or one of 100 GiB / then refused naming memory
  GpuManager gpus(fake_options());
  EXPECT_TRUE(gpus.check_request(1, 40 * GIB).ok());
  auto r = gpus.check_request(2, 40 * GIB);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("resources.gpu_memory"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("only 1 offered GPU(s)"), std::string::npos) << r.error().message;
  auto big = gpus.check_request(1, 100 * GIB);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.error().message.find("80.0 GiB"), std::string::npos) << big.error().message;
}

TEST(GpuManager, ChooseSkipsBusyDevices) {
  // given GPU 0 busy with a job / when one GPU is chosen / then GPU 1 is returned, and none when both are busy
  GpuManager gpus(fake_options());
  auto chosen = gpus.choose(1, 0, {UUID0});
  ASSERT_TRUE(chosen.ok()) << chosen.error().message;
  EXPECT_EQ(*chosen, std::vector<std::string>{UUID1});
  auto none = gpus.choose(1, 0, {UUID0, UUID1});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, Errc::unavailable);
  EXPECT_NE(none.error().message.find("busy"), std::string::npos) << none.error().message;
}

TEST(GpuManager, ChooseSkipsGpusOverTheUtilisationThreshold) {
  // given GPU 0 at 42% and a 40% threshold / when two GPUs are asked / then refused naming utilisation; one gives GPU 1
  GpuOptions o = fake_options();
  o.utilization_threshold = 0.4;
  GpuManager gpus(o);
  auto two = gpus.choose(2, 0, {});
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("GPU 0 utilisation 42% >= threshold 40%"), std::string::npos)
      << two.error().message;
  auto one = gpus.choose(1, 0, {});
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(*one, std::vector<std::string>{UUID1});
}

TEST(GpuManager, ChooseRespectsMemoryAndReturnsUuids) {
  // given the default threshold / when two GPUs are chosen / then both UUIDs come back; 30 GiB each only fits GPU 0
  GpuManager gpus(fake_options());
  auto two = gpus.choose(2, 1 * GIB, {});
  ASSERT_TRUE(two.ok()) << two.error().message;
  EXPECT_EQ(two->size(), 2u);
  auto big = gpus.choose(1, 30 * GIB, {});
  ASSERT_TRUE(big.ok()) << big.error().message;
  EXPECT_EQ(*big, std::vector<std::string>{UUID0});
  EXPECT_FALSE(gpus.choose(2, 30 * GIB, {}).ok());
}

TEST(GpuManager, DevicesAllMeansEveryGpu) {
  // given devices = ["all"] / when the manager starts / then both GPUs are offered and the note is empty
  GpuOptions o = fake_options();
  o.devices = {"all"};
  GpuManager gpus(o);
  EXPECT_EQ(gpus.offered_count(), 2u);
  EXPECT_EQ(gpus.note(), "");
}

TEST(GpuMemoryLimitParse, PercentagesAndSizes) {
  // given config strings / when parsed / then a fraction or bytes per GPU; nonsense is refused naming the key
  auto pct = parse_gpu_memory_limit("80%");
  ASSERT_TRUE(pct.ok());
  EXPECT_DOUBLE_EQ(pct->fraction, 0.8);
  EXPECT_FALSE(pct->bytes.has_value());
  EXPECT_EQ(parse_gpu_memory_limit("8GB")->bytes, 8'000'000'000ull);
  EXPECT_EQ(parse_gpu_memory_limit("8GiB")->bytes, 8 * GIB);
  EXPECT_EQ(parse_gpu_memory_limit("1.5 gib")->bytes, GIB + GIB / 2);
  EXPECT_EQ(parse_gpu_memory_limit("4096")->bytes, 4096u);
  EXPECT_DOUBLE_EQ(parse_gpu_memory_limit("8GB")->fraction, 1.0);
  for (const char* bad : {"", "%", "0%", "120%", "8XB", "-1GB", "GB", "1.2.3GB"}) {
    auto r = parse_gpu_memory_limit(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("gpu.memory_limit"), std::string::npos);
  }
}

TEST(GpuManager, ConcurrentQueriesAreSafe) {
  // given one manager shared by four pool threads / when they snapshot, check and choose at once / then every answer is consistent
  GpuManager gpus(fake_options());
  std::vector<std::thread> threads;
  std::atomic<int> bad{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (gpus.snapshot().size() != 2) ++bad;
        if (!gpus.check_request(2, GIB).ok()) ++bad;
        auto c = gpus.choose(1, 0, {UUID1});
        if (!c.ok() || (*c)[0] != UUID0) ++bad;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(GpuManager, RealDriverWhenPresent) {
  // given this machine's own libnvidia-ml.so.1 / when loaded / then each GPU has a UUID, a name and memory (skipped without a driver)
  GpuManager gpus(GpuOptions{});
  if (!gpus.available()) GTEST_SKIP() << "no NVIDIA driver here: " << gpus.note();
  EXPECT_FALSE(gpus.driver_version().empty());
  for (const GpuDevice& d : gpus.snapshot()) {
    EXPECT_EQ(d.uuid.rfind("GPU-", 0), 0u) << d.uuid;
    EXPECT_FALSE(d.name.empty());
    EXPECT_GT(d.memory_total, 0u);
    EXPECT_LE(d.memory_used, d.memory_total);
  }
}

}  // namespace
}  // namespace ciro::compute
