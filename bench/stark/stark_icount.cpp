// ciro_stark_icount: runs one Stark crypto operation n times and nothing else, so that
// `valgrind --tool=callgrind` (or perf stat -e instructions) gives a per-op instruction count that
// the machine's load does not disturb: count(n) - count(0), divided by n.
// Usage: ciro_stark_icount pedersen|poseidon_pair|poseidon_many_10|sign|verify|verify_x|public_key n

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "blockchain/ecdsa.h"
#include "blockchain/hash.h"

using namespace ciro::blockchain;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s op n\n", argv[0]);
    return 2;
  }
  const std::string op = argv[1];
  const long n = std::atol(argv[2]);
  const U256 priv = *parse_hex_u256("0x2dccce1da22003777062ee0870e9881b460a8b7eca276870f57c601f182136c");
  const U256 msg = *parse_hex_u256("0xc465dd6b1bbffdb05442eb17f5ca38ad1aa78a6f56bf4415bdee219114a47");
  const Felt a = *Felt::from_hex("0x3d937c035c878245caf64531a5756109c53068da139362728feb561405371cb");
  const Felt b = *Felt::from_hex("0x208a0a10250e382e1e4bbe2880906c2791bf6275695e02fbbc6aeff9cd8b31a");
  std::vector<Felt> ten;
  for (int i = 0; i < 10; ++i) ten.push_back(a + Felt::from_u64(static_cast<std::uint64_t>(i)) * b);
  const Felt pub = *get_public_key(priv);
  const AffinePoint pub_point = *get_public_point(priv);
  const Signature sig = *sign(priv, msg);
  (void)pedersen_hash(a, b);
  (void)poseidon_hash(a, b);
  std::uint64_t sink = 0;
  for (long i = 0; i < n; ++i) {
    if (op == "pedersen") sink += pedersen_hash(a, b).mont().w[0];
    else if (op == "poseidon_pair") sink += poseidon_hash(a, b).mont().w[0];
    else if (op == "poseidon_many_10") sink += poseidon_hash_many(ten).mont().w[0];
    else if (op == "sign") sink += sign(priv, msg)->r.w[0];
    else if (op == "verify") sink += *verify_point(pub_point, msg, sig);
    else if (op == "verify_x") sink += *verify(pub, msg, sig);
    else if (op == "public_key") sink += get_public_key(priv)->mont().w[0];
    else return 2;
  }
  std::printf("%llu\n", static_cast<unsigned long long>(sink));
  return 0;
}
