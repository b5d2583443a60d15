#pragma once
// FakeStarknet: an in-process Starknet JSON-RPC 0.10 node on 127.0.0.1 (port 0) for tests. It
// owns its own io_context and thread; every public method is thread-safe (one mutex), so tests
// drive it from the test thread while clients talk to it over HTTP.
// State: accounts (nonce, optional public key for signature checks), blocks (number, hash,
// parent), events, receipts. Faults: N×HTTP 429 with Retry-After, N×503, N×no reply (the
// connection is held open until the client gives up), reorgs of the last K blocks, nonces bumped
// by "someone else", REVERTED executions. Every reply it sends is recorded for schema checks.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace ciro::fakes {

struct FakeEvent {
  std::string from_address;
  std::vector<std::string> keys;
  std::vector<std::string> data;
  std::string transaction_hash;  ///< empty: a fresh hash is made up
};

struct FakeFault {
  enum class Kind { http_429, http_503, no_reply, rate_limit_code } kind = Kind::http_429;
  int retry_after_s = 0;  ///< for http_429; 0 = no header
  std::string method;     ///< only requests to this method; empty = any
};

struct RecordedReply {
  std::string method;
  nlohmann::json response;  ///< the whole JSON-RPC response object
};

class FakeStarknet {
 public:
  FakeStarknet();
  ~FakeStarknet();
  FakeStarknet(const FakeStarknet&) = delete;
  FakeStarknet& operator=(const FakeStarknet&) = delete;

  std::string url() const;  ///< "http://127.0.0.1:<port>/rpc/v0_10"
  std::uint16_t port() const { return m_port; }

  // --- chain state ---
  void set_spec_version(std::string v);
  void add_account(const std::string& address, std::uint64_t nonce, const std::string& public_key = "");
  std::uint64_t nonce(const std::string& address);
  /// "Someone else" used the account: its nonce goes up by one.
  void bump_nonce(const std::string& address);
  /// The account's nonce goes up by one right after the next successful fee estimate (a sender
  /// racing us between estimate and submission).
  void bump_nonce_after_next_estimate(const std::string& address);
  void add_contract(const std::string& address);
  /// Appends a block with the events (and with the transactions accepted since the last block).
  std::uint64_t mine_block(std::vector<FakeEvent> events = {});
  std::uint64_t latest_block();
  std::string block_hash(std::uint64_t number);
  /// Replaces the last k blocks by k new blocks with new hashes; replacement[i] gives block i's
  /// events (missing entries: the old block's events).
  void reorg(std::size_t k, std::vector<std::vector<FakeEvent>> replacement = {});
  /// The same from block `first` to the tip, whatever was mined meanwhile (first >= 1).
  void reorg_from(std::uint64_t first, std::vector<std::vector<FakeEvent>> replacement = {});

  // --- behaviour ---
  /// starknet_call handler: (contract, selector, calldata) -> result felts or a JSON-RPC error
  /// object ({"code":..,"message":..}). Default: ENTRYPOINT_NOT_FOUND.
  using CallHandler =
      std::function<nlohmann::json(const std::string&, const std::string&, const std::vector<std::string>&)>;
  void set_call_handler(CallHandler h);
  /// Called for every accepted invoke (the RPC tx JSON); returns the events it emits.
  using InvokeHook = std::function<std::vector<FakeEvent>(const nlohmann::json& tx)>;
  void set_invoke_hook(InvokeHook h);
  /// Mine a block right after each accepted invoke (default true).
  void set_auto_mine(bool on);
  /// The next n accepted invokes execute as REVERTED with this reason.
  void revert_next_invokes(int n, std::string reason);
  void inject(FakeFault fault, int count);

  // --- observation ---
  std::vector<RecordedReply> replies();
  std::vector<nlohmann::json> invokes();  ///< accepted invoke transactions, in order
  int requests(const std::string& method);
  /// Sends a raw body as the next reply to method (for malformed-reply tests).
  void next_raw_reply(const std::string& method, std::string body);

 private:
  void reorg_locked(std::size_t k, std::vector<std::vector<FakeEvent>> replacement);
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  std::uint16_t m_port = 0;
};

}  // namespace ciro::fakes
