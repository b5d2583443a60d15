#include <gtest/gtest.h>

#include "blockchain/curve.h"
#include "blockchain/field.h"
#include "test_data.h"

#include <random>
#include <vector>

namespace ciro::blockchain {
namespace {

using test::hex;

TEST(U256Hex, ParsesLenientlyAndFormatsMinimally) {
  // given hex with prefixes, case and leading zeros / when parsed and printed / then minimal lowercase
  EXPECT_EQ(to_hex(*parse_hex_u256("0x00000ABc")), "0xabc");
  EXPECT_EQ(to_hex(*parse_hex_u256("abc")), "0xabc");
  EXPECT_EQ(to_hex(*parse_hex_u256("0X0")), "0x0");
  EXPECT_EQ(to_hex(U256()), "0x0");
  EXPECT_FALSE(parse_hex_u256(""));
  EXPECT_FALSE(parse_hex_u256("0x"));
  EXPECT_FALSE(parse_hex_u256("0xg1"));
  EXPECT_FALSE(parse_hex_u256("1" + std::string(64, '0')));  // 257 bits
  EXPECT_TRUE(parse_hex_u256("0x000" + std::string(64, 'f')));
}

TEST(Felt, RejectsValuesAtOrAboveP) {
  // given P and P-1 / when parsed as felts / then P is rejected with a message, P-1 accepted
  const std::string p = "0x800000000000011000000000000000000000000000000000000000000000001";
  const auto bad = Felt::from_hex(p);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, Errc::invalid_argument);
  EXPECT_NE(bad.error().message.find("out of range"), std::string::npos);
  const auto ok = Felt::from_hex("0x800000000000011000000000000000000000000000000000000000000000000");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok + Felt::one()), Felt::zero());
  EXPECT_FALSE(Felt::from_hex("zz").ok());
}

TEST(Felt, ArithmeticIdentities) {
  // given some elements / when combined / then field laws and round-trips hold
  const Felt a = *Felt::from_hex("0x3d937c035c878245caf64531a5756109c53068da139362728feb561405371cb");
  const Felt b = *Felt::from_hex("0x208a0a10250e382e1e4bbe2880906c2791bf6275695e02fbbc6aeff9cd8b31a");
  EXPECT_EQ(a.to_hex(), "0x3d937c035c878245caf64531a5756109c53068da139362728feb561405371cb");
  EXPECT_EQ((a + b) - b, a);
  EXPECT_EQ(a * a.inverse(), Felt::one());
  EXPECT_EQ((a * b) * b.inverse(), a);
  EXPECT_EQ(Felt::from_u64(7) * Felt::from_u64(6), Felt::from_u64(42));
  EXPECT_EQ((-Felt::one()).to_hex(), "0x800000000000011000000000000000000000000000000000000000000000000");
  const Scalar s = *Scalar::from_u256(hex("0x1234567890abcdef"));
  EXPECT_EQ(s * s.inverse(), Scalar::one());
  EXPECT_EQ((-Scalar::one()).to_hex(), "0x800000000000010ffffffffffffffffb781126dcae7b2321e66a241adc64d2e");
}

TEST(Felt, AdxProductMatchesPortableProduct) {
  // given random and edge-case elements (0, 1, P-1, values with all-ones or zero limbs) / when
  // multiplied by the mulx/adx routine and by the portable one / then every product agrees and
  // matches a known product
#if defined(CIRO_FELT_ADX)
  if (!detail::g_felt_adx) GTEST_SKIP() << "this CPU has no BMI2/ADX";
  std::mt19937_64 rng(20261203);
  std::vector<Felt> edge = {Felt::zero(), Felt::one(), -Felt::one(), -Felt::from_u64(2), Felt::from_u64(2)};
  edge.push_back(*Felt::from_u256(U256(~0ULL, ~0ULL, ~0ULL, 0x07ffffffffffffffULL)));
  edge.push_back(Felt::from_mont(U256(~0ULL, ~0ULL, ~0ULL, 0x0800000000000010ULL)));
  edge.push_back(Felt::from_mont(U256(0, 0, 0, 0x0800000000000011ULL)));  // P - 1 in Montgomery limbs
  const auto random = [&] {
    U256 v(rng(), rng(), rng(), rng() & 0x0fffffffffffffffULL);
    return Felt::from_u256_reduce(v);
  };
  int mismatches = 0;
  for (int i = 0; i < 200000; ++i) {
    const Felt a = i < 64 ? edge[i % edge.size()] : random();
    const Felt b = i < 64 ? edge[(i / edge.size()) % edge.size()] : random();
    U256 fast, portable;
    detail::mont_mul_sparse_adx<FeltParams::MOD.w[3]>(fast.w.data(), a.mont().w.data(), b.mont().w.data());
    detail::mont_mul_sparse<FeltParams::MOD.w[3]>(portable.w.data(), a.mont().w.data(), b.mont().w.data());
    mismatches += !(fast == portable);
    EXPECT_LT(fast, FeltParams::MOD);
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(Felt::from_u64(7) * Felt::from_u64(6), Felt::from_u64(42));
  detail::g_felt_adx = false;
  const Felt slow = Felt::from_u64(123456789).inverse();
  detail::g_felt_adx = true;
  EXPECT_EQ(Felt::from_u64(123456789).inverse(), slow);
#else
  GTEST_SKIP() << "x86-64 only";
#endif
}

TEST(Felt, SquareRootOfSquaresAndNonResidues) {
  // given squares and a non-residue / when sqrt is taken / then roots square back, non-residue fails
  for (std::uint64_t v : {1ULL, 4ULL, 9ULL, 12345678901ULL}) {
    const Felt x = Felt::from_u64(v).square() * Felt::from_u64(3);
    const auto r = felt_sqrt(x.square());
    ASSERT_TRUE(r);
    EXPECT_EQ(r->square(), x.square());
  }
  // 3 has no root iff 3^((P-1)/2) = -1; check the function agrees with Euler's criterion.
  const Felt three = Felt::from_u64(3);
  const bool residue = three.pow(shr(U256(0, 0, 0, 0x0800000000000011ULL), 1)) == Felt::one();
  EXPECT_EQ(felt_sqrt(three).has_value(), residue);
}

TEST(Curve, GeneratorOnCurveAndGroupLaw) {
  // given G / when doubled, added, multiplied / then results agree and stay on the curve
  const AffinePoint& g = generator();
  EXPECT_TRUE(is_on_curve(g));
  const JacobianPoint gj = JacobianPoint::from_affine(g);
  const AffinePoint two = to_affine(point_double(gj));
  EXPECT_TRUE(is_on_curve(two));
  EXPECT_EQ(to_affine(point_add(gj, gj)), two);
  EXPECT_EQ(to_affine(scalar_mul(g, U256::from_u64(2))), two);
  EXPECT_EQ(to_affine(generator_mul(U256::from_u64(2))), two);
  const U256 k = hex("0x3c1e9550e66958296d11b60f8e8e7a7ad990d07fa65d5f7652c4a6c87d4e3cc");
  EXPECT_EQ(to_affine(scalar_mul(g, k)), to_affine(generator_mul(k)));
  // n·G = infinity; G + (-G) = infinity
  EXPECT_TRUE(scalar_mul(g, Scalar::MOD).is_infinity());
  EXPECT_TRUE(point_add(gj, point_neg(gj)).is_infinity());
  const auto fromx = point_from_x(g.x);
  ASSERT_TRUE(fromx);
  EXPECT_TRUE(fromx->y == g.y || fromx->y == -g.y);
}

TEST(Curve, SecretGeneratorMultiplicationMatchesTheTable) {
  // given secrets at the edges (1, 2, even and odd, N - 1, N - 2, 2^251, all ones below N) and
  // random ones / when multiplied by the constant-time routine and by the public table / then the
  // points are equal
  const U256 n = ScalarParams::MOD;
  U256 n1, n2;
  sub_borrow(n1, n, U256::from_u64(1));
  sub_borrow(n2, n, U256::from_u64(2));
  std::vector<U256> ks = {U256::from_u64(1), U256::from_u64(2), U256::from_u64(3), U256::from_u64(32),
                          U256::from_u64(33), n1, n2, U256(0, 0, 0, 0x0800000000000000ULL),
                          U256(~0ULL, ~0ULL, ~0ULL, 0x07ffffffffffffffULL)};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200; ++i) {
    U256 k(rng(), rng(), rng(), rng() & 0x07ffffffffffffffULL);
    if (k.is_zero()) continue;
    ks.push_back(k);
  }
  for (const U256& k : ks) {
    EXPECT_EQ(to_affine(generator_mul_secret(k)), to_affine(generator_mul(k))) << to_hex(k);
  }
}

TEST(Curve, PedersenParamsMatchTables) {
  // given cairo-lang's CONSTANT_POINTS / when compared to G and multiples of P1 / then equal
  // (the file holds 76-digit JSON integers, beyond what a JSON library keeps exactly, so the
  // numbers are read as text)
  const std::string text = test::read_data_file("pedersen_params.json");
  auto scalar_field = [&](const std::string& key) {
    const auto at = text.find("\"" + key + "\"");
    const auto digits = text.find_first_of("0123456789", text.find(':', at));
    return test::dec(text.substr(digits, text.find_first_not_of("0123456789", digits) - digits));
  };
  EXPECT_EQ(scalar_field("FIELD_PRIME"), FeltParams::MOD);
  EXPECT_EQ(scalar_field("EC_ORDER"), ScalarParams::MOD);
  EXPECT_EQ(*Felt::from_u256(scalar_field("BETA")), curve_beta());
  std::vector<U256> numbers;
  for (auto pos = text.find_first_of("0123456789", text.find("CONSTANT_POINTS") + 16); pos != std::string::npos;) {
    const auto end_pos = text.find_first_not_of("0123456789", pos);
    numbers.push_back(test::dec(text.substr(pos, end_pos - pos)));
    pos = text.find_first_of("0123456789", end_pos);
  }
  ASSERT_EQ(numbers.size(), 2U * 506U);
  auto point = [&](std::size_t i) {
    return AffinePoint{*Felt::from_u256(numbers[2 * i]), *Felt::from_u256(numbers[2 * i + 1]), false};
  };
  EXPECT_EQ(point(1), generator());
  // 2^i·P1 for every i < 248, and 2^j·P2 for j < 4.
  const AffinePoint p1 = point(2);
  for (unsigned i = 0; i < 248; ++i) {
    ASSERT_EQ(to_affine(scalar_mul(p1, shl(U256::from_u64(1), i))), point(2 + i)) << i;
  }
  for (unsigned j = 0; j < 4; ++j) {
    ASSERT_EQ(to_affine(scalar_mul(point(250), shl(U256::from_u64(1), j))), point(250 + j)) << j;
  }
}

}  // namespace
}  // namespace ciro::blockchain
