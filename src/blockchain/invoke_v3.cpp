#include "blockchain/invoke_v3.h"

#include <algorithm>
#include <cctype>

#include <nlohmann/json.hpp>

#include "blockchain/hash.h"

namespace ciro::blockchain {

namespace {

// [0x00][7-byte name][u64 amount][u128 price], big-endian.
Felt resource_felt(std::uint64_t name, const ResourceBound& b) {
  U256 v;
  v.w[3] = name;
  v.w[2] = b.max_amount;
  v.w[1] = static_cast<std::uint64_t>(b.max_price_per_unit >> 64);
  v.w[0] = static_cast<std::uint64_t>(b.max_price_per_unit);
  return *Felt::from_u256(v);  // top byte 0 and names < 2^56: below P
}

constexpr std::uint64_t L1_GAS = 0x4c315f474153ULL;
constexpr std::uint64_t L2_GAS = 0x4c325f474153ULL;
constexpr std::uint64_t L1_DATA = 0x4c315f44415441ULL;
constexpr std::uint64_t PREFIX_INVOKE = 0x696e766f6b65ULL;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

Result<U256> json_uint(const nlohmann::json& v, const std::string& field) {
  if (v.is_number_unsigned()) return U256::from_u64(v.get<std::uint64_t>());
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    if (auto h = parse_hex_u256(s)) return *h;
  }
  return make_error(Errc::invalid_argument, field + ": expected a hex string");
}

Result<Felt> json_felt(const nlohmann::json& v, const std::string& field) {
  CIRO_TRY(const U256 u, json_uint(v, field));
  auto f = Felt::from_u256(u);
  if (!f) return make_error(Errc::invalid_argument, field + ": value must be < P");
  return *f;
}

Result<std::vector<Felt>> json_felts(const nlohmann::json& obj, const char* key, bool required) {
  std::vector<Felt> out;
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) {
    if (required) return make_error(Errc::invalid_argument, std::string(key) + ": missing");
    return out;
  }
  if (!it->is_array()) return make_error(Errc::invalid_argument, std::string(key) + ": expected an array");
  for (std::size_t i = 0; i < it->size(); ++i) {
    CIRO_TRY(const Felt f, json_felt((*it)[i], std::string(key) + "[" + std::to_string(i) + "]"));
    out.push_back(f);
  }
  return out;
}

Result<ResourceBound> json_bound(const nlohmann::json& v, const std::string& field) {
  if (!v.is_object()) return make_error(Errc::invalid_argument, field + ": expected an object");
  const auto amount_it = v.find("max_amount");
  const auto price_it = v.find("max_price_per_unit");
  if (amount_it == v.end() || price_it == v.end()) {
    return make_error(Errc::invalid_argument, field + ": needs max_amount and max_price_per_unit");
  }
  CIRO_TRY(const U256 amount, json_uint(*amount_it, field + ".max_amount"));
  CIRO_TRY(const U256 price, json_uint(*price_it, field + ".max_price_per_unit"));
  if (amount.w[1] | amount.w[2] | amount.w[3]) return make_error(Errc::invalid_argument, field + ".max_amount: must fit in 64 bits");
  if (price.w[2] | price.w[3]) return make_error(Errc::invalid_argument, field + ".max_price_per_unit: must fit in 128 bits");
  ResourceBound b;
  b.max_amount = amount.w[0];
  b.max_price_per_unit = (static_cast<unsigned __int128>(price.w[1]) << 64) | price.w[0];
  return b;
}

Result<DaMode> json_da(const nlohmann::json& obj, const char* key) {
  const auto it = obj.find(key);
  if (it == obj.end()) return DaMode::l1;
  if (it->is_string()) {
    const auto s = it->get<std::string>();
    if (s == "L1" || s == "0x0") return DaMode::l1;
    if (s == "L2" || s == "0x1") return DaMode::l2;
  }
  if (it->is_number_unsigned() && it->get<std::uint64_t>() <= 1) return static_cast<DaMode>(it->get<std::uint64_t>());
  return make_error(Errc::invalid_argument, std::string(key) + ": expected \"L1\" or \"L2\"");
}

}  // namespace

Felt invoke_v3_fee_hash(const InvokeV3& tx) {
  std::vector<Felt> parts{Felt::from_u64(tx.tip), resource_felt(L1_GAS, tx.l1_gas), resource_felt(L2_GAS, tx.l2_gas)};
  if (tx.l1_data_gas) parts.push_back(resource_felt(L1_DATA, *tx.l1_data_gas));
  return poseidon_hash_many(parts);
}

Felt invoke_v3_hash(const InvokeV3& tx, const Felt& chain_id, bool query_only) {
  U256 version = U256::from_u64(3);
  if (query_only) version.w[2] = 1;  // 2^128 + 3
  const Felt da = Felt::from_u64((static_cast<std::uint64_t>(tx.nonce_da) << 32) | static_cast<std::uint64_t>(tx.fee_da));
  std::vector<Felt> parts{Felt::from_u64(PREFIX_INVOKE),
                          *Felt::from_u256(version),
                          tx.sender_address,
                          invoke_v3_fee_hash(tx),
                          poseidon_hash_many(tx.paymaster_data),
                          chain_id,
                          tx.nonce,
                          da,
                          poseidon_hash_many(tx.account_deployment_data),
                          poseidon_hash_many(tx.calldata)};
  if (!tx.proof_facts.empty()) parts.push_back(poseidon_hash_many(tx.proof_facts));
  return poseidon_hash_many(parts);
}

Result<Felt> parse_chain_id(std::string_view text) {
  if (text.size() >= 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) return Felt::from_hex(text);
  if (text.empty()) return make_error(Errc::invalid_argument, "chain id is empty");
  return short_string(text);
}

Result<InvokeV3> invoke_v3_from_json(const nlohmann::json& input) {
  const nlohmann::json* j = &input;
  if (j->is_object() && j->contains("invoke_transaction")) j = &(*j)["invoke_transaction"];
  if (j->is_object() && j->contains("Invoke")) {
    const auto& inv = (*j)["Invoke"];
    if (!inv.is_object() || !inv.contains("V3")) return make_error(Errc::invalid_argument, "Invoke: only V3 is supported");
    j = &inv["V3"];
  }
  if (!j->is_object()) return make_error(Errc::invalid_argument, "transaction: expected a JSON object");
  const auto& o = *j;
  if (const auto t = o.find("type"); t != o.end() && !(t->is_string() && t->get<std::string>() == "INVOKE")) {
    return make_error(Errc::invalid_argument, "type: expected \"INVOKE\"");
  }
  if (const auto v = o.find("version"); v != o.end()) {
    const auto ver = json_uint(*v, "version");
    if (!ver || !(*ver == U256::from_u64(3) || *ver == U256(3, 0, 1, 0))) {
      return make_error(Errc::invalid_argument, "version: expected 0x3 or 0x100000000000000000000000000000003");
    }
  }
  InvokeV3 tx;
  if (!o.contains("sender_address")) return make_error(Errc::invalid_argument, "sender_address: missing");
  CIRO_TRY(tx.sender_address, json_felt(o["sender_address"], "sender_address"));
  if (!o.contains("nonce")) return make_error(Errc::invalid_argument, "nonce: missing");
  CIRO_TRY(tx.nonce, json_felt(o["nonce"], "nonce"));
  CIRO_TRY(tx.calldata, json_felts(o, "calldata", true));
  CIRO_TRY(tx.paymaster_data, json_felts(o, "paymaster_data", false));
  CIRO_TRY(tx.account_deployment_data, json_felts(o, "account_deployment_data", false));
  CIRO_TRY(tx.proof_facts, json_felts(o, "proof_facts", false));
  if (const auto t = o.find("tip"); t != o.end()) {
    CIRO_TRY(const U256 tip, json_uint(*t, "tip"));
    if (tip.w[1] | tip.w[2] | tip.w[3]) return make_error(Errc::invalid_argument, "tip: must fit in 64 bits");
    tx.tip = tip.w[0];
  }
  CIRO_TRY(tx.nonce_da, json_da(o, "nonce_data_availability_mode"));
  CIRO_TRY(tx.fee_da, json_da(o, "fee_data_availability_mode"));
  const auto rb = o.find("resource_bounds");
  if (rb == o.end() || !rb->is_object()) return make_error(Errc::invalid_argument, "resource_bounds: missing or not an object");
  bool have_l1 = false, have_l2 = false;
  tx.l1_data_gas.reset();
  for (const auto& [key, value] : rb->items()) {
    const std::string k = lower(key);
    const std::string field = "resource_bounds." + key;
    if (k == "l1_gas") {
      CIRO_TRY(tx.l1_gas, json_bound(value, field));
      have_l1 = true;
    } else if (k == "l2_gas") {
      CIRO_TRY(tx.l2_gas, json_bound(value, field));
      have_l2 = true;
    } else if (k == "l1_data_gas") {
      CIRO_TRY(const ResourceBound b, json_bound(value, field));
      tx.l1_data_gas = b;
    } else {
      return make_error(Errc::invalid_argument, field + ": unknown resource");
    }
  }
  if (!have_l1 || !have_l2) return make_error(Errc::invalid_argument, "resource_bounds: needs l1_gas and l2_gas");
  return tx;
}

}  // namespace ciro::blockchain
