#include "fakes/starknet/fake_starknet.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <deque>
#include <sstream>
#include <thread>

#include "blockchain/ecdsa.h"
#include "blockchain/invoke_v3.h"

namespace ciro::fakes {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using nlohmann::json;
using tcp = asio::ip::tcp;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

namespace {

const char* SEPOLIA = "0x534e5f5345504f4c4941";
const char* QUERY_V3 = "0x100000000000000000000000000000003";

std::string hex(std::uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

json rpc_error(int code, const char* message, json data = nullptr) {
  json e = {{"code", code}, {"message", message}};
  if (!data.is_null()) e["data"] = std::move(data);
  return e;
}

struct Block {
  std::uint64_t number = 0;
  std::string hash;
  std::string parent;
  std::uint64_t timestamp = 0;
  std::vector<FakeEvent> events;  // each with its transaction hash
  std::vector<std::string> tx_hashes;
};

struct Tx {
  json tx;
  std::string hash;
  bool reverted = false;
  std::string revert_reason;
  std::optional<std::uint64_t> block;  // nullopt while only received
  std::vector<FakeEvent> events;
};

struct Account {
  std::uint64_t nonce = 0;
  std::string public_key;
};

}  // namespace

struct FakeStarknet::Impl {
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread thread;
  std::mutex mu;

  std::string spec_version = "0.10.0";
  std::map<std::string, Account> accounts;  // normalised address -> account
  std::map<std::string, bool> contracts;
  std::vector<Block> blocks;
  std::map<std::string, Tx> txs;
  std::vector<std::string> unmined;
  std::vector<json> accepted;
  std::uint64_t seq = 1;
  bool auto_mine = true;
  int reverts_left = 0;
  std::string bump_after_estimate;
  std::string revert_reason;
  CallHandler call_handler;
  InvokeHook invoke_hook;
  std::deque<FakeFault> faults;
  std::vector<RecordedReply> replies;
  std::map<std::string, int> counts;
  std::map<std::string, std::deque<std::string>> raw_replies;

  static std::string norm(const std::string& a) {
    auto v = blockchain::parse_hex_u256(a);
    return v ? blockchain::to_hex(*v) : a;
  }
  std::string fresh_hash(std::uint64_t tag) { return hex((tag << 40) | (seq++ * 0x9e37ULL)); }

  void mine_locked(std::vector<FakeEvent> events) {
    Block b;
    b.number = blocks.empty() ? 0 : blocks.back().number + 1;
    b.parent = blocks.empty() ? "0x0" : blocks.back().hash;
    b.hash = fresh_hash(0xb10c);
    b.timestamp = 1'700'000'000 + b.number * 6;
    for (const auto& h : unmined) {
      Tx& t = txs[h];
      t.block = b.number;
      b.tx_hashes.push_back(h);
      if (!t.reverted) {
        for (auto e : t.events) {
          e.transaction_hash = h;
          b.events.push_back(std::move(e));
        }
      }
    }
    unmined.clear();
    for (auto& e : events) {
      if (e.transaction_hash.empty()) {
        e.transaction_hash = fresh_hash(0x7e);
        b.tx_hashes.push_back(e.transaction_hash);
      }
      b.events.push_back(std::move(e));
    }
    blocks.push_back(std::move(b));
  }

  std::optional<std::size_t> resolve_block(const json& id) {
    if (blocks.empty()) return std::nullopt;
    if (id.is_string()) return blocks.size() - 1;  // latest / pre_confirmed / l1_accepted
    if (id.is_object() && id.contains("block_number") && id["block_number"].is_number_unsigned()) {
      const auto n = id["block_number"].get<std::uint64_t>();
      if (n < blocks.size()) return static_cast<std::size_t>(n);
      return std::nullopt;
    }
    if (id.is_object() && id.contains("block_hash")) {
      for (std::size_t i = 0; i < blocks.size(); ++i) {
        if (blocks[i].hash == id["block_hash"]) return i;
      }
    }
    return std::nullopt;
  }

  json receipt(const Tx& t) {
    json r = {{"type", "INVOKE"},
              {"transaction_hash", t.hash},
              {"actual_fee", {{"amount", "0x2540be400"}, {"unit", "FRI"}}},
              {"finality_status", "ACCEPTED_ON_L2"},
              {"execution_status", t.reverted ? "REVERTED" : "SUCCEEDED"},
              {"messages_sent", json::array()},
              {"events", json::array()},
              {"execution_resources", {{"l1_gas", 0}, {"l1_data_gas", 128}, {"l2_gas", 480000}}}};
    if (t.reverted) r["revert_reason"] = t.revert_reason;
    if (!t.reverted) {
      for (const auto& e : t.events)
        r["events"].push_back({{"from_address", e.from_address}, {"keys", e.keys}, {"data", e.data}});
    }
    if (t.block) {
      r["block_number"] = *t.block;
      r["block_hash"] = blocks[*t.block].hash;
    } else {
      r["finality_status"] = "PRE_CONFIRMED";
      r["block_number"] = blocks.empty() ? 0 : blocks.back().number + 1;
    }
    return r;
  }

  static json fee_estimate() {
    return {{"l1_gas_consumed", "0x0"},          {"l1_gas_price", "0x38d7ea4c68000"},
            {"l2_gas_consumed", "0x75300"},      {"l2_gas_price", "0x2cb417800"},
            {"l1_data_gas_consumed", "0x80"},    {"l1_data_gas_price", "0x4ed4ad26f"},
            {"overall_fee", "0x1e8b0d5c8c7400"}, {"unit", "FRI"}};
  }

  /// Checks nonce and signature of an invoke; returns an error object or null.
  json check_invoke(const json& tx, bool query, bool check_nonce) {
    auto parsed = blockchain::invoke_v3_from_json(tx);
    if (!parsed) return rpc_error(63, "An unexpected error occurred", parsed.error().message);
    const std::string sender = norm(tx.value("sender_address", ""));
    auto it = accounts.find(sender);
    if (it == accounts.end()) return rpc_error(58, "Sender address is not an account contract");
    const auto nonce = blockchain::parse_hex_u256(tx.value("nonce", ""));
    if (check_nonce && (!nonce || nonce->w[0] != it->second.nonce || nonce->w[1] != 0)) {
      return rpc_error(
          52, "Invalid transaction nonce",
          "account nonce is " + hex(it->second.nonce) + ", transaction nonce is " + tx.value("nonce", "?"));
    }
    if (!it->second.public_key.empty()) {
      const auto chain = *blockchain::Felt::from_hex(SEPOLIA);
      const auto hash = blockchain::invoke_v3_hash(*parsed, chain, query);
      const auto& sig = tx["signature"];
      if (!sig.is_array() || sig.size() != 2)
        return rpc_error(55, "Account validation failed", "signature must be [r, s]");
      auto pk = blockchain::Felt::from_hex(it->second.public_key);
      auto r = blockchain::parse_hex_u256(sig[0].get<std::string>());
      auto s = blockchain::parse_hex_u256(sig[1].get<std::string>());
      if (!pk || !r || !s) return rpc_error(55, "Account validation failed", "bad signature encoding");
      auto ok = blockchain::verify(*pk, hash.to_u256(), blockchain::Signature{*r, *s});
      if (!ok || !*ok) return rpc_error(55, "Account validation failed", "invalid signature");
    }
    return nullptr;
  }

  /// Handles one JSON-RPC request; returns the response object.
  json handle(const json& req, std::string& method) {
    json id = req.contains("id") ? req["id"] : json();
    method = req.value("method", "");
    const json params = req.contains("params") ? req["params"] : json::object();
    auto ok = [&](json result) { return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}}; };
    auto err = [&](json e) { return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", std::move(e)}}; };
    auto p = [&](const char* name) -> json {
      return params.is_object() && params.contains(name) ? params[name] : json();
    };

    if (method == "starknet_specVersion") return ok(spec_version);
    if (method == "starknet_chainId") return ok(SEPOLIA);
    if (method == "starknet_blockNumber") {
      if (blocks.empty()) return err(rpc_error(32, "There are no blocks"));
      return ok(blocks.back().number);
    }
    if (method == "starknet_blockHashAndNumber") {
      if (blocks.empty()) return err(rpc_error(32, "There are no blocks"));
      return ok({{"block_hash", blocks.back().hash}, {"block_number", blocks.back().number}});
    }
    if (method == "starknet_getBlockWithTxHashes") {
      auto i = resolve_block(p("block_id"));
      if (!i) return err(rpc_error(24, "Block not found"));
      const Block& b = blocks[*i];
      json price = {{"price_in_fri", "0x2cb417800"}, {"price_in_wei", "0x3b9aca00"}};
      return ok({{"status", "ACCEPTED_ON_L2"},
                 {"block_hash", b.hash},
                 {"parent_hash", b.parent},
                 {"block_number", b.number},
                 {"new_root", hex(0x5a0 + b.number)},
                 {"timestamp", b.timestamp},
                 {"sequencer_address", "0x1176a1bd84444c89232ec27754698e5d2e7e1a7f1539f12027f28b23ec9f3d8"},
                 {"l1_gas_price", price},
                 {"l2_gas_price", price},
                 {"l1_data_gas_price", price},
                 {"l1_da_mode", "BLOB"},
                 {"starknet_version", "0.14.1"},
                 {"event_commitment", "0x1"},
                 {"transaction_commitment", "0x2"},
                 {"receipt_commitment", "0x3"},
                 {"state_diff_commitment", "0x4"},
                 {"event_count", b.events.size()},
                 {"transaction_count", b.tx_hashes.size()},
                 {"state_diff_length", 1},
                 {"transactions", b.tx_hashes}});
    }
    if (method == "starknet_getNonce") {
      const std::string addr = norm(p("contract_address").is_string() ? p("contract_address").get<std::string>() : "");
      auto it = accounts.find(addr);
      if (it == accounts.end()) return err(rpc_error(20, "Contract not found"));
      return ok(hex(it->second.nonce));
    }
    if (method == "starknet_call") {
      const json r = p("request");
      if (!r.is_object()) return err(rpc_error(-32602, "Invalid params"));
      const std::string addr = norm(r.value("contract_address", ""));
      if (!contracts.count(addr) && !accounts.count(addr)) return err(rpc_error(20, "Contract not found"));
      std::vector<std::string> calldata = r.value("calldata", std::vector<std::string>{});
      json out = call_handler ? call_handler(addr, norm(r.value("entry_point_selector", "")), calldata)
                              : rpc_error(21, "Requested entry point does not exist in the contract");
      if (out.is_object()) return err(out);
      return ok(out);
    }
    if (method == "starknet_getClassAt") {
      const std::string addr = norm(p("contract_address").is_string() ? p("contract_address").get<std::string>() : "");
      if (!contracts.count(addr) && !accounts.count(addr)) return err(rpc_error(20, "Contract not found"));
      return ok({{"sierra_program", {"0x1", "0x3", "0x0"}},
                 {"contract_class_version", "0.1.0"},
                 {"entry_points_by_type",
                  {{"CONSTRUCTOR", json::array()},
                   {"EXTERNAL",
                    {{{"selector", "0x15d40a3d6ca2ac30f4031e42be28da9b056fef9bb7357ac5e85627ee876e5ad"},
                      {"function_idx", 0}}}},
                   {"L1_HANDLER", json::array()}}},
                 {"abi", "[]"}});
    }
    if (method == "starknet_estimateFee") {
      const json txs = p("request");
      if (!txs.is_array()) return err(rpc_error(-32602, "Invalid params"));
      json out = json::array();
      for (std::size_t i = 0; i < txs.size(); ++i) {
        if (txs[i].value("version", "") != QUERY_V3) {
          return err(rpc_error(41, "Transaction execution error",
                               {{"transaction_index", i}, {"execution_error", "estimate needs the query version"}}));
        }
        json e = check_invoke(txs[i], true, true);
        if (!e.is_null()) {
          return err(rpc_error(41, "Transaction execution error",
                               {{"transaction_index", i}, {"execution_error", e["message"].get<std::string>()}}));
        }
        out.push_back(fee_estimate());
      }
      if (!bump_after_estimate.empty()) {
        accounts[bump_after_estimate].nonce++;
        bump_after_estimate.clear();
      }
      return ok(out);
    }
    if (method == "starknet_addInvokeTransaction") {
      const json tx = p("invoke_transaction");
      if (!tx.is_object()) return err(rpc_error(-32602, "Invalid params"));
      if (tx.value("version", "") != "0x3") return err(rpc_error(61, "the transaction version is not supported"));
      auto parsed = blockchain::invoke_v3_from_json(tx);
      if (!parsed) return err(rpc_error(63, "An unexpected error occurred", parsed.error().message));
      const std::string hash = blockchain::invoke_v3_hash(*parsed, *blockchain::Felt::from_hex(SEPOLIA)).to_hex();
      if (txs.count(hash)) return err(rpc_error(59, "A transaction with the same hash already exists in the mempool"));
      json e = check_invoke(tx, false, true);
      if (!e.is_null()) return err(e);
      // The bounds must cover the estimate (as the sequencer's minimal fee check does).
      if (parsed->l2_gas.max_amount < 0x75300 || parsed->l2_gas.max_price_per_unit < 0x2cb417800) {
        return err(rpc_error(53, "The transaction's resources don't cover validation or the minimal transaction fee"));
      }
      Tx t;
      t.tx = tx;
      t.hash = hash;
      if (reverts_left > 0) {
        --reverts_left;
        t.reverted = true;
        t.revert_reason = revert_reason;
      }
      if (invoke_hook) t.events = invoke_hook(tx);
      accounts[norm(tx["sender_address"].get<std::string>())].nonce++;
      txs[hash] = std::move(t);
      unmined.push_back(hash);
      accepted.push_back(tx);
      if (auto_mine) mine_locked({});
      return ok({{"transaction_hash", hash}});
    }
    if (method == "starknet_getTransactionReceipt" || method == "starknet_getTransactionStatus") {
      const std::string h = norm(p("transaction_hash").is_string() ? p("transaction_hash").get<std::string>() : "");
      auto it = txs.find(h);
      if (it == txs.end()) return err(rpc_error(29, "Transaction hash not found"));
      if (method == "starknet_getTransactionReceipt") return ok(receipt(it->second));
      json s = {{"finality_status", it->second.block ? "ACCEPTED_ON_L2" : "RECEIVED"}};
      if (it->second.block) s["execution_status"] = it->second.reverted ? "REVERTED" : "SUCCEEDED";
      if (it->second.reverted && it->second.block) s["failure_reason"] = it->second.revert_reason;
      return ok(s);
    }
    if (method == "starknet_getEvents") {
      const json f = p("filter");
      if (!f.is_object() || !f.contains("chunk_size") || !f["chunk_size"].is_number_unsigned())
        return err(rpc_error(-32602, "Invalid params"));
      const auto chunk = f["chunk_size"].get<std::uint64_t>();
      if (chunk == 0) return err(rpc_error(-32602, "Invalid params"));
      if (chunk > 1000) return err(rpc_error(31, "Requested page size is too big"));
      if (blocks.empty()) return ok({{"events", json::array()}});
      std::size_t from = 0, to = blocks.size() - 1;
      if (f.contains("from_block")) {
        auto i = resolve_block(f["from_block"]);
        if (!i) return err(rpc_error(24, "Block not found"));
        from = *i;
      }
      if (f.contains("to_block")) {
        auto i = f["to_block"].is_object() && f["to_block"].contains("block_number") &&
                         f["to_block"]["block_number"].get<std::uint64_t>() >= blocks.size()
                     ? std::optional<std::size_t>(blocks.size() - 1)
                     : resolve_block(f["to_block"]);
        if (!i) return err(rpc_error(24, "Block not found"));
        to = *i;
      }
      std::vector<std::string> addresses;
      if (f.contains("address")) {
        if (f["address"].is_array())
          for (const auto& a : f["address"]) addresses.push_back(norm(a.get<std::string>()));
        else
          addresses.push_back(norm(f["address"].get<std::string>()));
      }
      json keys = f.contains("keys") ? f["keys"] : json::array();
      json matched = json::array();
      for (std::size_t bi = from; bi <= to && bi < blocks.size(); ++bi) {
        const Block& b = blocks[bi];
        std::map<std::string, std::uint64_t> per_tx;
        std::vector<std::string> order;
        for (const auto& e : b.events) {
          if (!per_tx.count(e.transaction_hash)) {
            per_tx[e.transaction_hash] = 0;
            order.push_back(e.transaction_hash);
          }
          const std::uint64_t event_index = per_tx[e.transaction_hash]++;
          const std::uint64_t tx_index = static_cast<std::uint64_t>(
              std::find(b.tx_hashes.begin(), b.tx_hashes.end(), e.transaction_hash) - b.tx_hashes.begin());
          if (!addresses.empty() &&
              std::find(addresses.begin(), addresses.end(), norm(e.from_address)) == addresses.end())
            continue;
          bool match = true;
          for (std::size_t k = 0; k < keys.size() && match; ++k) {
            if (keys[k].empty()) continue;
            if (k >= e.keys.size()) {
              match = false;
              break;
            }
            bool any = false;
            for (const auto& want : keys[k]) any = any || norm(want.get<std::string>()) == norm(e.keys[k]);
            match = any;
          }
          if (!match) continue;
          matched.push_back({{"from_address", e.from_address},
                             {"keys", e.keys},
                             {"data", e.data},
                             {"block_hash", b.hash},
                             {"block_number", b.number},
                             {"transaction_hash", e.transaction_hash},
                             {"transaction_index", tx_index},
                             {"event_index", event_index}});
        }
      }
      std::size_t offset = 0;
      if (f.contains("continuation_token")) {
        const std::string tok = f["continuation_token"].is_string() ? f["continuation_token"].get<std::string>() : "";
        try {
          offset = std::stoul(tok.substr(tok.find('-') + 1));
          if (tok.rfind("ct-", 0) != 0 || offset > matched.size()) throw std::out_of_range("token");
        } catch (const std::exception&) {
          return err(rpc_error(33, "The supplied continuation token is invalid or unknown"));
        }
      }
      json out = {{"events", json::array()}};
      for (std::size_t i = offset; i < matched.size() && i < offset + chunk; ++i) out["events"].push_back(matched[i]);
      if (offset + chunk < matched.size()) out["continuation_token"] = "ct-" + std::to_string(offset + chunk);
      return ok(out);
    }
    return err(rpc_error(-32601, "Method not found"));
  }

  awaitable<void> serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(stream, buf, req, tuple_awaitable);
      if (ec) co_return;
      json body = json::parse(req.body(), nullptr, false);
      std::string method = body.is_object() ? body.value("method", "") : "";
      std::optional<FakeFault> fault;
      std::optional<std::string> raw;
      {
        std::lock_guard lock(mu);
        counts[method]++;
        for (auto it = faults.begin(); it != faults.end(); ++it) {
          if (it->method.empty() || it->method == method) {
            fault = *it;
            faults.erase(it);
            break;
          }
        }
        if (!fault) {
          auto r = raw_replies.find(method);
          if (r != raw_replies.end() && !r->second.empty()) {
            raw = r->second.front();
            r->second.pop_front();
          }
        }
      }
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.set(http::field::content_type, "application/json");
      res.keep_alive(req.keep_alive());
      if (fault && fault->kind == FakeFault::Kind::no_reply) {
        asio::steady_timer t(stream.get_executor());
        t.expires_after(std::chrono::seconds(30));
        co_await t.async_wait(tuple_awaitable);
        co_return;
      }
      if (fault && fault->kind == FakeFault::Kind::http_429) {
        res.result(http::status::too_many_requests);
        if (fault->retry_after_s > 0) res.set(http::field::retry_after, std::to_string(fault->retry_after_s));
        res.body() = "Too Many Requests";
      } else if (fault && fault->kind == FakeFault::Kind::http_503) {
        res.result(http::status::service_unavailable);
        res.body() = "Service Unavailable";
      } else if (fault && fault->kind == FakeFault::Kind::rate_limit_code) {
        res.body() = json{{"jsonrpc", "2.0"},
                          {"id", body.value("id", json())},
                          {"error", {{"code", -32011}, {"message", "cu limit exceeded; Request too fast per second"}}}}
                         .dump();
      } else if (raw) {
        res.body() = *raw;
      } else if (body.is_discarded() || !body.is_object()) {
        res.body() =
            json{{"jsonrpc", "2.0"}, {"id", nullptr}, {"error", {{"code", -32700}, {"message", "Parse error"}}}}.dump();
      } else {
        std::lock_guard lock(mu);
        json reply = handle(body, method);
        replies.push_back({method, reply});
        res.body() = reply.dump();
      }
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, res, tuple_awaitable);
      if (wec || !req.keep_alive()) co_return;
    }
  }

  awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(tuple_awaitable);
      if (ec) co_return;
      asio::co_spawn(io, serve(std::move(sock)), asio::detached);
    }
  }
};

FakeStarknet::FakeStarknet() : m_impl(std::make_unique<Impl>()) {
  Impl& i = *m_impl;
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  i.acceptor.open(ep.protocol());
  i.acceptor.set_option(tcp::acceptor::reuse_address(true));
  i.acceptor.bind(ep);
  i.acceptor.listen();
  m_port = i.acceptor.local_endpoint().port();
  i.mine_locked({});  // genesis
  asio::co_spawn(i.io, i.accept_loop(), asio::detached);
  i.thread = std::thread([&i] { i.io.run(); });
}

FakeStarknet::~FakeStarknet() {
  m_impl->io.stop();
  if (m_impl->thread.joinable()) m_impl->thread.join();
}

std::string FakeStarknet::url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/rpc/v0_10"; }

void FakeStarknet::set_spec_version(std::string v) {
  std::lock_guard l(m_impl->mu);
  m_impl->spec_version = std::move(v);
}
void FakeStarknet::add_account(const std::string& address, std::uint64_t nonce, const std::string& public_key) {
  std::lock_guard l(m_impl->mu);
  m_impl->accounts[Impl::norm(address)] = Account{nonce, public_key};
}
std::uint64_t FakeStarknet::nonce(const std::string& address) {
  std::lock_guard l(m_impl->mu);
  return m_impl->accounts[Impl::norm(address)].nonce;
}
void FakeStarknet::bump_nonce(const std::string& address) {
  std::lock_guard l(m_impl->mu);
  m_impl->accounts[Impl::norm(address)].nonce++;
}
void FakeStarknet::bump_nonce_after_next_estimate(const std::string& address) {
  std::lock_guard l(m_impl->mu);
  m_impl->bump_after_estimate = Impl::norm(address);
}
void FakeStarknet::add_contract(const std::string& address) {
  std::lock_guard l(m_impl->mu);
  m_impl->contracts[Impl::norm(address)] = true;
}
std::uint64_t FakeStarknet::mine_block(std::vector<FakeEvent> events) {
  std::lock_guard l(m_impl->mu);
  m_impl->mine_locked(std::move(events));
  return m_impl->blocks.back().number;
}
std::uint64_t FakeStarknet::latest_block() {
  std::lock_guard l(m_impl->mu);
  return m_impl->blocks.back().number;
}
std::string FakeStarknet::block_hash(std::uint64_t number) {
  std::lock_guard l(m_impl->mu);
  return number < m_impl->blocks.size() ? m_impl->blocks[number].hash : "";
}
void FakeStarknet::reorg_from(std::uint64_t first, std::vector<std::vector<FakeEvent>> replacement) {
  std::lock_guard l(m_impl->mu);
  const std::size_t n = m_impl->blocks.size();
  reorg_locked(first >= 1 && first < n ? n - first : 0, std::move(replacement));
}
void FakeStarknet::reorg(std::size_t k, std::vector<std::vector<FakeEvent>> replacement) {
  std::lock_guard l(m_impl->mu);
  reorg_locked(k, std::move(replacement));
}
void FakeStarknet::reorg_locked(std::size_t k, std::vector<std::vector<FakeEvent>> replacement) {
  Impl& i = *m_impl;
  k = std::min(k, i.blocks.size() - 1);  // genesis stays
  const std::size_t first = i.blocks.size() - k;
  for (std::size_t j = first; j < i.blocks.size(); ++j) {
    Block& b = i.blocks[j];
    b.hash = i.fresh_hash(0xf0c);
    b.parent = i.blocks[j - 1].hash;
    const std::size_t idx = j - first;
    if (idx < replacement.size()) {
      b.events.clear();
      for (auto e : replacement[idx]) {
        if (e.transaction_hash.empty()) {
          e.transaction_hash = i.fresh_hash(0x7e);
          b.tx_hashes.push_back(e.transaction_hash);
        }
        b.events.push_back(std::move(e));
      }
    }
  }
}
void FakeStarknet::set_call_handler(CallHandler h) {
  std::lock_guard l(m_impl->mu);
  m_impl->call_handler = std::move(h);
}
void FakeStarknet::set_invoke_hook(InvokeHook h) {
  std::lock_guard l(m_impl->mu);
  m_impl->invoke_hook = std::move(h);
}
void FakeStarknet::set_auto_mine(bool on) {
  std::lock_guard l(m_impl->mu);
  m_impl->auto_mine = on;
}
void FakeStarknet::revert_next_invokes(int n, std::string reason) {
  std::lock_guard l(m_impl->mu);
  m_impl->reverts_left = n;
  m_impl->revert_reason = std::move(reason);
}
void FakeStarknet::inject(FakeFault fault, int count) {
  std::lock_guard l(m_impl->mu);
  for (int j = 0; j < count; ++j) m_impl->faults.push_back(fault);
}
std::vector<RecordedReply> FakeStarknet::replies() {
  std::lock_guard l(m_impl->mu);
  return m_impl->replies;
}
std::vector<json> FakeStarknet::invokes() {
  std::lock_guard l(m_impl->mu);
  return m_impl->accepted;
}
int FakeStarknet::requests(const std::string& method) {
  std::lock_guard l(m_impl->mu);
  return m_impl->counts[method];
}
void FakeStarknet::next_raw_reply(const std::string& method, std::string body) {
  std::lock_guard l(m_impl->mu);
  m_impl->raw_replies[method].push_back(std::move(body));
}

}  // namespace ciro::fakes
