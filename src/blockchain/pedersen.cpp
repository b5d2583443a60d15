#include <vector>

#include "blockchain/curve.h"
#include "blockchain/hash.h"

namespace ciro::blockchain {

namespace {

AffinePoint point_from_hex(const char* x, const char* y) {
  return AffinePoint{*Felt::from_u256(*parse_hex_u256(x)), *Felt::from_u256(*parse_hex_u256(y)), false};
}

// P0 is the shift point; a's low 248 bits multiply P1 and its high 4 bits P2; b uses P3 and P4.
struct PedersenTables {
  AffinePoint p0;
  FixedBaseTable p1, p2, p3, p4;
  PedersenTables()
      : p0(point_from_hex("0x49ee3eba8c1600700ee1b87eb599f16716b0b1022947733551fde4050ca6804",
                          "0x3ca0cfe4b3bc6ddf346d49d06ea0ed34e621062c0e056c1d0405d266e10268a")),
        p1(point_from_hex("0x234287dcbaffe7f969c748655fca9e58fa8120b6d56eb0c1080d17957ebe47b",
                          "0x3b056f100f96fb21e889527d41f4e39940135dd7a6c94cc6ed0268ee89e5615"), 31),
        p2(point_from_hex("0x4fa56f376c83db33f9dab2656558f3399099ec1de5e3018b7a6932dba8aa378",
                          "0x3fa0984c931c9e38113e0c0e47e4401562761f92a7a23b45168f4e80ff5b54d"), 1),
        p3(point_from_hex("0x4ba4cc166be8dec764910f75b45f74b40c690c74709e90f3aa372f0bd2d6997",
                          "0x40301cf5c1751f4b971e46c4ede85fcac5c59a5ce5ae7c48151f27b24b219c"), 31),
        p4(point_from_hex("0x54302dcb0e6cc1c6e44cca8f61a63bb2ca65048d53fb325d36ff12c49a58202",
                          "0x1b77b3e37d13504b348046268d8ae25ce98ad783c25561a879dcc77e99c2426"), 1) {}
};

const PedersenTables& tables() {
  static const PedersenTables t;
  return t;
}

void add_input(JacobianPoint& acc, const Felt& v, const FixedBaseTable& low, const FixedBaseTable& high) {
  const auto le = to_le_bytes(v.to_u256());
  low.mul_add(acc, std::span<const std::uint8_t>(le.data(), 31));  // bits 0..247
  high.mul_add(acc, std::span<const std::uint8_t>(le.data() + 31, 1));  // bits 248..251
}

}  // namespace

Felt pedersen_hash(const Felt& a, const Felt& b) {
  const PedersenTables& t = tables();
  JacobianPoint acc = JacobianPoint::from_affine(t.p0);
  add_input(acc, a, t.p1, t.p2);
  add_input(acc, b, t.p3, t.p4);
  return to_affine(acc).x;
}

Result<Felt> pedersen_hash(const U256& a, const U256& b) {
  const auto fa = Felt::from_u256(a);
  if (!fa) return make_error(Errc::invalid_argument, "pedersen input a must be < P: " + to_hex(a));
  const auto fb = Felt::from_u256(b);
  if (!fb) return make_error(Errc::invalid_argument, "pedersen input b must be < P: " + to_hex(b));
  return pedersen_hash(*fa, *fb);
}

Felt compute_hash_on_elements(std::span<const Felt> elements) {
  Felt acc = Felt::zero();
  for (const Felt& e : elements) acc = pedersen_hash(acc, e);
  return pedersen_hash(acc, Felt::from_u64(elements.size()));
}

}  // namespace ciro::blockchain
