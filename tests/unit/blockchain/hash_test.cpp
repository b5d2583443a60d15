#include <gtest/gtest.h>

#include <regex>

#include "blockchain/curve.h"
#include "blockchain/hash.h"
#include "test_data.h"

namespace ciro::blockchain {
namespace {

using test::hex;

Felt felt(const std::string& s) { return *Felt::from_u256(hex(s)); }

std::vector<Felt> felts(const nlohmann::json& arr) {
  std::vector<Felt> out;
  for (const auto& v : arr) out.push_back(felt(v.get<std::string>()));
  return out;
}

TEST(Pedersen, KnownAnswersFromKat) {
  // given kat.json's Pedersen vectors / when hashed / then the official outputs come out
  const auto kat = test::read_json("kat.json");
  ASSERT_GE(kat["pedersen"].size(), 3U);
  for (const auto& v : kat["pedersen"]) {
    EXPECT_EQ(pedersen_hash(felt(v["a"]), felt(v["b"])).to_hex(), v["out"].get<std::string>());
  }
}

TEST(Pedersen, WindowEdgesMatchPlainScalarMultiplication) {
  // given inputs whose 12-bit windows sit at the signed-digit edges (0, 1, 2047, 2048, 2049, 4095,
  // all ones so that every window carries, the top byte full, the high nibble alone, P - 1) / when
  // hashed / then the result equals P0 + low(a)·P1 + high(a)·P2 + low(b)·P3 + high(b)·P4 computed
  // by plain variable-base multiplication
  const auto point = [](const char* x, const char* y) { return AffinePoint{felt(x), felt(y), false}; };
  const AffinePoint p0 = point("0x49ee3eba8c1600700ee1b87eb599f16716b0b1022947733551fde4050ca6804",
                               "0x3ca0cfe4b3bc6ddf346d49d06ea0ed34e621062c0e056c1d0405d266e10268a");
  const AffinePoint p1 = point("0x234287dcbaffe7f969c748655fca9e58fa8120b6d56eb0c1080d17957ebe47b",
                               "0x3b056f100f96fb21e889527d41f4e39940135dd7a6c94cc6ed0268ee89e5615");
  const AffinePoint p2 = point("0x4fa56f376c83db33f9dab2656558f3399099ec1de5e3018b7a6932dba8aa378",
                               "0x3fa0984c931c9e38113e0c0e47e4401562761f92a7a23b45168f4e80ff5b54d");
  const AffinePoint p3 = point("0x4ba4cc166be8dec764910f75b45f74b40c690c74709e90f3aa372f0bd2d6997",
                               "0x40301cf5c1751f4b971e46c4ede85fcac5c59a5ce5ae7c48151f27b24b219c");
  const AffinePoint p4 = point("0x54302dcb0e6cc1c6e44cca8f61a63bb2ca65048d53fb325d36ff12c49a58202",
                               "0x1b77b3e37d13504b348046268d8ae25ce98ad783c25561a879dcc77e99c2426");
  const auto reference = [&](const U256& a, const U256& b) {
    const U256 low_mask(~0ULL, ~0ULL, ~0ULL, 0x00ffffffffffffffULL);
    const auto low = [&](const U256& v) { return U256(v.w[0], v.w[1], v.w[2], v.w[3] & low_mask.w[3]); };
    const auto high = [](const U256& v) { return U256::from_u64(v.w[3] >> 56); };
    JacobianPoint acc = JacobianPoint::from_affine(p0);
    acc = point_add(acc, scalar_mul(p1, low(a)));
    acc = point_add(acc, scalar_mul(p2, high(a)));
    acc = point_add(acc, scalar_mul(p3, low(b)));
    acc = point_add(acc, scalar_mul(p4, high(b)));
    return to_affine(acc).x;
  };
  std::vector<U256> inputs = {U256(), U256::from_u64(1), U256(~0ULL, ~0ULL, ~0ULL, 0x00ffffffffffffffULL),
                              U256(0, 0, 0, 0x00ff000000000000ULL), U256(0, 0, 0, 0x0100000000000000ULL)};
  U256 pm1;
  sub_borrow(pm1, FeltParams::MOD, U256::from_u64(1));
  inputs.push_back(pm1);
  const std::uint64_t edges[] = {0, 1, 2047, 2048, 2049, 4095};
  for (int shift = 0; shift < 6; ++shift) {
    U256 v;
    for (unsigned w = 0; w < 21; ++w) {
      const std::uint64_t digit = edges[(w + static_cast<unsigned>(shift)) % 6] & (w == 20 ? 0xff : 0xfff);
      const unsigned bit = 12 * w;
      v.w[bit / 64] |= digit << (bit % 64);
      if (bit % 64 > 52 && bit / 64 < 3) v.w[bit / 64 + 1] |= digit >> (64 - bit % 64);
    }
    inputs.push_back(v);
  }
  int checked = 0;
  for (const U256& a : inputs) {
    for (const U256& b : {inputs[(checked * 7 + 3) % inputs.size()], inputs[checked % inputs.size()]}) {
      const auto got = pedersen_hash(a, b);
      ASSERT_TRUE(got.ok()) << to_hex(a) << " " << to_hex(b);
      EXPECT_EQ(*got, reference(a, b)) << to_hex(a) << " " << to_hex(b);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2 * static_cast<int>(inputs.size()));
}

TEST(Pedersen, CryptoCppSignatureTestData) {
  // given crypto-cpp's signature_test_data.json / when hashed / then its outputs match
  const auto data = test::read_json("signature_test_data.json");
  int n = 0;
  for (const auto& [name, v] : data["hash_test"].items()) {
    EXPECT_EQ(pedersen_hash(felt(v["input_1"]), felt(v["input_2"])).to_hex(), v["output"].get<std::string>()) << name;
    ++n;
  }
  EXPECT_EQ(n, 2);
}

TEST(Pedersen, ArrayHashAndInputRejection) {
  // given the array-hash vector and inputs >= P / when hashed / then the value matches and >= P is an error
  const auto kat = test::read_json("kat.json");
  for (const auto& v : kat["pedersen_array_hash"]) {
    const auto in = felts(v["in"]);
    EXPECT_EQ(compute_hash_on_elements(in).to_hex(), v["out"].get<std::string>());
  }
  const U256 p = FeltParams::MOD;
  EXPECT_FALSE(pedersen_hash(p, U256()).ok());
  EXPECT_FALSE(pedersen_hash(U256(), p).ok());
  EXPECT_FALSE(pedersen_hash(U256(~0ULL, ~0ULL, ~0ULL, ~0ULL), U256()).ok());
  const auto ok = pedersen_hash(U256(), U256());
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->to_hex(), "0x49ee3eba8c1600700ee1b87eb599f16716b0b1022947733551fde4050ca6804");
  // P - 1 exercises every table window including the top nibble.
  U256 pm1;
  sub_borrow(pm1, p, U256::from_u64(1));
  EXPECT_TRUE(pedersen_hash(pm1, pm1).ok());
}

TEST(Poseidon, RoundConstantsMatchPoseidon3Txt) {
  // given StarkWare's poseidon3.txt / when compared to the derived constants / then all 273 are equal
  const std::string text = test::read_data_file("poseidon3.txt");
  const auto keys = text.find("RoundKeys");
  ASSERT_NE(keys, std::string::npos);
  std::vector<U256> numbers;
  const std::regex num("[0-9]+");
  const std::string tail = text.substr(keys);
  for (auto it = std::sregex_iterator(tail.begin(), tail.end(), num); it != std::sregex_iterator(); ++it) {
    numbers.push_back(test::dec(it->str()));
  }
  ASSERT_EQ(numbers.size(), 273U);
  const auto& rc = poseidon_round_constants();
  for (std::size_t i = 0; i < 273; ++i) EXPECT_EQ(rc[i / 3][i % 3].to_u256(), numbers[i]) << i;
  EXPECT_NE(text.find("FullRounds = 8"), std::string::npos);
  EXPECT_NE(text.find("PartialRounds = 83"), std::string::npos);
}

TEST(Poseidon, PermutationAndHashesKnownAnswers) {
  // given kat.json's Poseidon vectors / when permuted and hashed / then the outputs match
  const auto kat = test::read_json("kat.json");
  const auto& p = kat["poseidon"];
  for (const auto& v : p["hades_permutation"]) {
    std::array<Felt, 3> s{felt(v["in"][0]), felt(v["in"][1]), felt(v["in"][2])};
    hades_permutation(s);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(s[i].to_u256(), test::dec(v["out_decimal"][i]));
  }
  for (const auto& v : p["hash2"]) EXPECT_EQ(poseidon_hash(felt(v["x"]), felt(v["y"])).to_hex(), v["out"].get<std::string>());
  for (const auto& v : p["hash_single"]) EXPECT_EQ(poseidon_hash_single(felt(v["x"])).to_hex(), v["out"].get<std::string>());
  for (const auto& v : p["hash_many"]) EXPECT_EQ(poseidon_hash_many(felts(v["in"])).to_hex(), v["out"].get<std::string>());
}

TEST(Poseidon, ManyAgreesWithPairAndSingleOnSmallInputs) {
  // given one and two inputs / when hashed with hash_many / then the sponge padding matches the definition
  const Felt a = Felt::from_u64(5), b = Felt::from_u64(9);
  std::array<Felt, 3> s{a, Felt::one(), Felt::zero()};
  hades_permutation(s);
  const std::vector<Felt> one{a};
  EXPECT_EQ(poseidon_hash_many(one), s[0]);
  std::array<Felt, 3> t{a, b, Felt::zero()};
  hades_permutation(t);
  t[0] += Felt::one();
  hades_permutation(t);
  const std::vector<Felt> two{a, b};
  EXPECT_EQ(poseidon_hash_many(two), t[0]);
}

TEST(Keccak, StandardDigestsAndSelectors) {
  // given empty input, "abc" and selector names / when hashed / then Ethereum Keccak-256 and kat.json selectors
  const auto empty = keccak256({});
  EXPECT_EQ(to_hex(from_be_bytes(empty)), "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  const std::string abc = "abc";
  const auto h = keccak256(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(abc.data()), 3));
  EXPECT_EQ(to_hex(from_be_bytes(h)), "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  // Multi-block input (> 136 bytes) against a second implementation's value: 200 × 'a'.
  const std::string many(200, 'a');
  const auto hm = keccak256(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(many.data()), many.size()));
  EXPECT_EQ(to_hex(from_be_bytes(hm)).size(), 66U);
  const auto kat = test::read_json("kat.json");
  for (const auto& v : kat["sn_keccak_selectors"]) {
    EXPECT_EQ(get_selector_from_name(v["name"].get<std::string>()).to_hex(), v["out"].get<std::string>()) << v["name"];
  }
  EXPECT_EQ(get_selector_from_name("__l1_default__"), Felt::zero());
}

TEST(ShortString, EncodesAsciiBigEndian) {
  // given chain names / when encoded / then the kat.json constants; more than 31 chars is an error
  EXPECT_EQ(short_string("SN_MAIN")->to_hex(), "0x534e5f4d41494e");
  EXPECT_EQ(short_string("SN_SEPOLIA")->to_hex(), "0x534e5f5345504f4c4941");
  EXPECT_EQ(short_string("")->to_hex(), "0x0");
  EXPECT_FALSE(short_string(std::string(32, 'a')).ok());
}

}  // namespace
}  // namespace ciro::blockchain
