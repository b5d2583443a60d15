#include "blockchain/stark_cli.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "blockchain/ecdsa.h"
#include "blockchain/hash.h"
#include "blockchain/invoke_v3.h"
#include "utils/encoding.h"
#include "utils/json_keys.h"

using ciro::utils::from_hex;

namespace ciro::blockchain {

namespace {

constexpr const char* USAGE =
    "usage: ciroctl stark <command> [args]\n"
    "  selector NAME             starknet_keccak(NAME): the entry-point selector\n"
    "  pedersen A B              Pedersen hash of two felts\n"
    "  poseidon A [B ...]        one value: poseidon_hash_single; two: poseidon_hash;\n"
    "                            otherwise (or with --many first) poseidon_hash_many\n"
    "  keccak HEX                starknet_keccak of the bytes HEX (Keccak-256, low 250 bits)\n"
    "  pubkey PRIV               Stark public key (x-coordinate) of a private key\n"
    "  sign PRIV HASH            deterministic signature (RFC 6979): prints r then s\n"
    "  verify PUB HASH R S       exit 0 when valid, 1 when invalid\n"
    "  invoke-hash FILE [--chain-id ID] [--query]\n"
    "                            hash of an INVOKE v3 transaction (RPC JSON; chain id from\n"
    "                            --chain-id or the file's chain_id field, e.g. SN_MAIN or 0x...)\n"
    "  help                      this text\n"
    "Numbers are hex (0x optional); output is minimal lowercase hex, one value per line.\n";

int usage_error(std::ostream& err, const std::string& message) {
  err << "error: " << message << "\n" << USAGE;
  return 2;
}

int input_error(std::ostream& err, const std::string& message) {
  err << "error: " << message << "\n";
  return 2;
}

Result<U256> parse_number(const std::string& what, const std::string& text) {
  const auto v = parse_hex_u256(text);
  if (!v) return make_error(Errc::invalid_argument, what + ": not a hex number of at most 256 bits: '" + text.substr(0, 80) + "'");
  return *v;
}

Result<Felt> parse_felt(const std::string& what, const std::string& text) {
  auto f = Felt::from_hex(text);
  if (!f) return make_error(Errc::invalid_argument, what + ": " + f.error().message);
  return f;
}

int cmd_invoke_hash(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string file;
  std::string chain;
  bool query = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    if (args[i] == "--chain-id") {
      if (i + 1 >= args.size()) return usage_error(err, "--chain-id needs a value");
      chain = args[++i];
    } else if (args[i] == "--query") {
      query = true;
    } else if (file.empty()) {
      file = args[i];
    } else {
      return usage_error(err, "invoke-hash takes one FILE");
    }
  }
  if (file.empty()) return usage_error(err, "invoke-hash needs a FILE");
  std::error_code fec;
  if (!std::filesystem::is_regular_file(file, fec)) return input_error(err, file + ": not a readable file");
  std::ifstream in(file);
  if (!in) return input_error(err, "cannot read " + file);
  std::stringstream buf;
  buf << in.rdbuf();
  utils::DuplicateKeyCheck keys;  // a field given twice would silently pick one of two hashes
  const auto j = nlohmann::json::parse(buf.str(), keys.callback(), false);
  if (j.is_discarded()) return input_error(err, file + ": not valid JSON");
  if (!keys.duplicate().empty()) {
    return input_error(err, file + ": field '" + keys.duplicate().substr(0, 80) + "' is given twice");
  }
  if (chain.empty() && j.is_object() && j.contains("chain_id") && j["chain_id"].is_string()) chain = j["chain_id"].get<std::string>();
  if (chain.empty()) return usage_error(err, "no chain id: pass --chain-id or put chain_id in the file");
  auto chain_id = parse_chain_id(chain);
  if (!chain_id) return input_error(err, "chain id: " + chain_id.error().message);
  const nlohmann::json& txj = (j.is_object() && j.contains("transaction")) ? j["transaction"] : j;
  auto tx = invoke_v3_from_json(txj);
  if (!tx) return input_error(err, file + ": " + tx.error().message);
  // A query-version field in the file selects the query hash too.
  if (txj.is_object() && txj.contains("version") && txj["version"].is_string()) {
    const auto v = parse_hex_u256(txj["version"].get<std::string>());
    if (v && *v == U256(3, 0, 1, 0)) query = true;
  }
  out << invoke_v3_hash(*tx, *chain_id, query).to_hex() << "\n";
  return 0;
}

}  // namespace

int stark_cli_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty()) return usage_error(err, "missing command");
  const std::string& cmd = args[0];
  const std::size_t n = args.size() - 1;
  auto need = [&](std::size_t count) { return n == count; };

  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    out << USAGE;
    return 0;
  }
  if (cmd == "selector") {
    if (!need(1)) return usage_error(err, "selector takes NAME");
    out << get_selector_from_name(args[1]).to_hex() << "\n";
    return 0;
  }
  if (cmd == "pedersen") {
    if (!need(2)) return usage_error(err, "pedersen takes A B");
    auto a = parse_felt("A", args[1]);
    if (!a) return input_error(err, a.error().message);
    auto b = parse_felt("B", args[2]);
    if (!b) return input_error(err, b.error().message);
    out << pedersen_hash(*a, *b).to_hex() << "\n";
    return 0;
  }
  if (cmd == "poseidon") {
    std::size_t first = 1;
    bool many = false;
    if (n >= 1 && args[1] == "--many") {
      many = true;
      first = 2;
    }
    std::vector<Felt> values;
    for (std::size_t i = first; i < args.size(); ++i) {
      auto f = parse_felt("value " + std::to_string(i - first + 1), args[i]);
      if (!f) return input_error(err, f.error().message);
      values.push_back(*f);
    }
    if (!many && values.empty()) return usage_error(err, "poseidon takes at least one value (or --many)");
    Felt h;
    if (many || values.size() > 2) h = poseidon_hash_many(values);
    else if (values.size() == 1) h = poseidon_hash_single(values[0]);
    else h = poseidon_hash(values[0], values[1]);
    out << h.to_hex() << "\n";
    return 0;
  }
  if (cmd == "keccak") {
    if (!need(1)) return usage_error(err, "keccak takes HEX");
    std::string hex = args[1];
    if (hex.size() >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) hex = hex.substr(2);
    if (hex.size() % 2 == 1) hex = "0" + hex;
    const auto bytes = from_hex(hex);
    if (!bytes) return input_error(err, "keccak: not hex bytes: '" + args[1].substr(0, 80) + "'");
    out << starknet_keccak(*bytes).to_hex() << "\n";
    return 0;
  }
  if (cmd == "pubkey") {
    if (!need(1)) return usage_error(err, "pubkey takes PRIV");
    auto d = parse_number("PRIV", args[1]);
    if (!d) return input_error(err, d.error().message);
    auto pk = get_public_key(*d);
    if (!pk) return input_error(err, pk.error().message);
    out << pk->to_hex() << "\n";
    return 0;
  }
  if (cmd == "sign") {
    if (!need(2)) return usage_error(err, "sign takes PRIV HASH");
    auto d = parse_number("PRIV", args[1]);
    if (!d) return input_error(err, d.error().message);
    auto z = parse_number("HASH", args[2]);
    if (!z) return input_error(err, z.error().message);
    auto sig = sign(*d, *z);
    if (!sig) return input_error(err, sig.error().message);
    out << to_hex(sig->r) << "\n" << to_hex(sig->s) << "\n";
    return 0;
  }
  if (cmd == "verify") {
    if (!need(4)) return usage_error(err, "verify takes PUB HASH R S");
    auto pub = parse_felt("PUB", args[1]);
    if (!pub) return input_error(err, pub.error().message);
    auto z = parse_number("HASH", args[2]);
    if (!z) return input_error(err, z.error().message);
    auto r = parse_number("R", args[3]);
    if (!r) return input_error(err, r.error().message);
    auto s = parse_number("S", args[4]);
    if (!s) return input_error(err, s.error().message);
    auto ok = verify(*pub, *z, Signature{*r, *s});
    if (!ok) {
      err << "invalid: " << ok.error().message << "\n";
      return 1;
    }
    out << (*ok ? "valid" : "invalid") << "\n";
    return *ok ? 0 : 1;
  }
  if (cmd == "invoke-hash") return cmd_invoke_hash(args, out, err);
  return usage_error(err, "unknown command '" + cmd + "'");
}

}  // namespace ciro::blockchain
