#pragma once
// RpcClient: a Starknet JSON-RPC 0.10 client over HTTP and HTTPS (OpenSSL, certificates verified
// by default). Every call has a timeout; timeouts, connection failures, HTTP 5xx, HTTP 429
// (honouring Retry-After) and provider rate-limit codes are retried with exponential backoff and
// full jitter, failing over between the configured URLs. JSON-RPC errors from the node come back
// as RpcError values carrying the spec's code, name and message. Malformed replies are protocol
// errors, never crashes.
// Lives on the executor given at construction (the node's io_context thread): call its
// coroutines from that executor. One connection per request (no pooling): the worker's call rate
// is a few per second at most. Beast and OpenSSL stay in rpc_client.cpp.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "blockchain/field.h"

namespace ciro::blockchain {

/// Error codes the Starknet JSON-RPC spec defines (starknet_api_openrpc.json, write API).
namespace rpc_code {
inline constexpr int CONTRACT_NOT_FOUND = 20;
inline constexpr int ENTRYPOINT_NOT_FOUND = 21;
inline constexpr int BLOCK_NOT_FOUND = 24;
inline constexpr int TXN_HASH_NOT_FOUND = 29;
inline constexpr int PAGE_SIZE_TOO_BIG = 31;
inline constexpr int NO_BLOCKS = 32;
inline constexpr int INVALID_CONTINUATION_TOKEN = 33;
inline constexpr int TOO_MANY_KEYS_IN_FILTER = 34;
inline constexpr int CONTRACT_ERROR = 40;
inline constexpr int TRANSACTION_EXECUTION_ERROR = 41;
inline constexpr int INVALID_TRANSACTION_NONCE = 52;
inline constexpr int INSUFFICIENT_RESOURCES_FOR_VALIDATE = 53;
inline constexpr int INSUFFICIENT_ACCOUNT_BALANCE = 54;
inline constexpr int VALIDATION_FAILURE = 55;
inline constexpr int DUPLICATE_TX = 59;
inline constexpr int UNSUPPORTED_TX_VERSION = 61;
inline constexpr int UNEXPECTED_ERROR = 63;
inline constexpr int REPLACEMENT_TRANSACTION_UNDERPRICED = 64;
inline constexpr int FEE_BELOW_MINIMUM = 65;
/// Not an RPC code: the failure happened before or outside a JSON-RPC error reply.
inline constexpr int NONE = 0;
}  // namespace rpc_code

/// The spec's name for a code ("INVALID_TRANSACTION_NONCE"), or "" when unknown.
const char* rpc_code_name(int code) noexcept;

/// A failed call: the JSON-RPC error (code != 0) or a transport/protocol failure (code == 0).
struct RpcError {
  Errc errc = Errc::internal;
  int code = rpc_code::NONE;
  std::string message;  ///< the node's message, or ours for transport failures
  nlohmann::json data;  ///< the error's data member, when the node sent one
  std::string method;   ///< e.g. "starknet_getNonce"
  /// "starknet_getNonce: rpc error 20 CONTRACT_NOT_FOUND: Contract not found"
  std::string to_string() const;
  Error to_error() const { return Error(errc, to_string()); }
  operator Error() const { return to_error(); }  // NOLINT: lets CIRO_TRY flow into Result<T>
};

/// Result<T> whose failure keeps the RPC error code. Converts to Result<T> on demand.
template <typename T>
class [[nodiscard]] RpcResult {
 public:
  RpcResult(T value) : m_v(std::in_place_index<0>, std::move(value)) {}  // NOLINT
  RpcResult(RpcError e) : m_v(std::in_place_index<1>, std::move(e)) {}   // NOLINT
  RpcResult(Error e)
      : m_v(std::in_place_index<1>, RpcError{e.code, rpc_code::NONE, std::move(e.message), {}, {}}) {}  // NOLINT
  bool ok() const noexcept { return m_v.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  T& value() & { return std::get<0>(m_v); }
  const T& value() const& { return std::get<0>(m_v); }
  T&& value() && { return std::get<0>(std::move(m_v)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const RpcError& error() const& { return std::get<1>(m_v); }
  RpcError&& error() && { return std::get<1>(std::move(m_v)); }
  int code() const { return ok() ? 0 : error().code; }
  Result<T> to_result() && {
    if (ok()) return std::move(*this).value();
    return std::move(*this).error().to_error();
  }

 private:
  std::variant<T, RpcError> m_v;
};

/// co_return-flavoured CIRO_TRY for coroutines.
#define CIRO_CO_TRY_IMPL(tmp, decl, expr)          \
  auto tmp = (expr);                               \
  if (!tmp.ok()) co_return std::move(tmp).error(); \
  decl = std::move(tmp).value()
#define CIRO_CO_TRY(decl, expr) CIRO_CO_TRY_IMPL(CIRO_CONCAT(ciro_co_try_, __LINE__), decl, expr)
#define CIRO_CO_TRY_VOID(expr)                                                   \
  do {                                                                           \
    auto ciro_co_try_void_ = (expr);                                             \
    if (!ciro_co_try_void_.ok()) co_return std::move(ciro_co_try_void_).error(); \
  } while (0)

/// A block reference: a tag, a number or a hash.
struct BlockId {
  enum class Kind { latest, pre_confirmed, l1_accepted, number, hash } kind = Kind::latest;
  std::uint64_t number = 0;
  Felt hash;
  static BlockId latest() { return {}; }
  static BlockId pre_confirmed() { return {Kind::pre_confirmed, 0, {}}; }
  static BlockId at(std::uint64_t n) { return {Kind::number, n, {}}; }
  static BlockId with_hash(const Felt& h) { return {Kind::hash, 0, h}; }
  nlohmann::json to_json() const;
};

struct BlockHashAndNumber {
  Felt block_hash;
  std::uint64_t block_number = 0;
};

struct EmittedEvent {
  Felt from_address;
  std::vector<Felt> keys;
  std::vector<Felt> data;
  std::optional<Felt> block_hash;  ///< absent for pre-confirmed events
  std::optional<std::uint64_t> block_number;
  Felt transaction_hash;
  std::uint64_t transaction_index = 0;
  std::uint64_t event_index = 0;
};

struct EventFilter {
  std::optional<BlockId> from_block;
  std::optional<BlockId> to_block;
  std::optional<Felt> address;
  std::vector<std::vector<Felt>> keys;  ///< keys[i]: allowed values of key i; empty = any
};

struct EventsChunk {
  std::vector<EmittedEvent> events;
  std::optional<std::string> continuation_token;
};

struct FeeEstimate {
  std::uint64_t l1_gas_consumed = 0, l2_gas_consumed = 0, l1_data_gas_consumed = 0;
  unsigned __int128 l1_gas_price = 0, l2_gas_price = 0, l1_data_gas_price = 0, overall_fee = 0;
  std::string unit;
};

struct TxStatus {
  std::string finality_status;  ///< RECEIVED | CANDIDATE | PRE_CONFIRMED | ACCEPTED_ON_L2 | ACCEPTED_ON_L1
  std::optional<std::string> execution_status;  ///< SUCCEEDED | REVERTED
  std::optional<std::string> failure_reason;
};

struct TxReceipt {
  Felt transaction_hash;
  std::string type;
  std::string finality_status;
  std::string execution_status;
  std::optional<std::string> revert_reason;
  std::optional<Felt> block_hash;
  std::optional<std::uint64_t> block_number;
  Felt actual_fee;
  std::string fee_unit;
  std::vector<EmittedEvent> events;  ///< from_address/keys/data only
  nlohmann::json raw;
};

struct FunctionCall {
  Felt contract_address;
  Felt entry_point_selector;
  std::vector<Felt> calldata;
};

/// One call's outcome for the metrics hook: "ok", "rpc_error", "timeout", "http_429",
/// "http_5xx", "http_error", "transport", "malformed", "rate_limited". Called once per attempt.
using RpcCallHook = std::function<void(const std::string& method, const std::string& outcome)>;

struct RpcOptions {
  std::vector<std::string> urls;                 ///< http(s)://host:port/path; tried in order, failing over
  std::chrono::milliseconds timeout{10'000};     ///< per attempt, connect to last byte
  int max_attempts = 6;                          ///< attempts per call, over all URLs
  std::chrono::milliseconds backoff_base{250};   ///< first backoff ceiling (doubles per attempt)
  std::chrono::milliseconds backoff_max{8'000};  ///< backoff ceiling, also caps Retry-After
  bool verify_tls = true;                        ///< verify certificates and host names
  std::string ca_file;                           ///< extra CA bundle (PEM); empty = system store
  std::size_t max_body = 32u << 20;              ///< largest reply accepted
  RpcCallHook on_call;                           ///< per-method/outcome counter hook (optional)
};

class RpcClient {
 public:
  RpcClient(boost::asio::any_io_executor ex, RpcOptions options);
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  /// Raw call with named params; returns the "result" member.
  boost::asio::awaitable<RpcResult<nlohmann::json>> request(std::string_view method_name, nlohmann::json params);

  boost::asio::awaitable<RpcResult<std::string>> spec_version();
  /// Reads the spec version: 0.10.x is accepted, another version is accepted with a warning
  /// (returned in the string), an unreadable reply is an error.
  boost::asio::awaitable<RpcResult<std::string>> check_spec_version();
  boost::asio::awaitable<RpcResult<Felt>> chain_id();
  boost::asio::awaitable<RpcResult<std::uint64_t>> block_number();
  boost::asio::awaitable<RpcResult<BlockHashAndNumber>> block_hash_and_number();
  /// The block hash of a block (starknet_getBlockWithTxHashes); error 24 when absent.
  boost::asio::awaitable<RpcResult<Felt>> block_hash(std::uint64_t number);
  boost::asio::awaitable<RpcResult<std::vector<Felt>>> call(FunctionCall call, BlockId block);
  boost::asio::awaitable<RpcResult<Felt>> get_nonce(Felt contract_address, BlockId block);
  boost::asio::awaitable<RpcResult<EventsChunk>> get_events(EventFilter filter, std::uint32_t chunk_size,
                                                            std::optional<std::string> continuation_token);
  boost::asio::awaitable<RpcResult<std::vector<FeeEstimate>>> estimate_fee(nlohmann::json transactions,
                                                                           bool skip_validate, BlockId block);
  /// Returns the transaction hash.
  boost::asio::awaitable<RpcResult<Felt>> add_invoke_transaction(nlohmann::json invoke_transaction);
  boost::asio::awaitable<RpcResult<TxReceipt>> get_transaction_receipt(Felt transaction_hash);
  boost::asio::awaitable<RpcResult<TxStatus>> get_transaction_status(Felt transaction_hash);
  boost::asio::awaitable<RpcResult<nlohmann::json>> get_class_at(Felt contract_address, BlockId block);

  const RpcOptions& options() const { return m_options; }

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
  RpcOptions m_options;
};

/// Parsers shared with tests (strict about types; errors name the field).
Result<EmittedEvent> parse_emitted_event(const nlohmann::json& j);
Result<TxReceipt> parse_receipt(const nlohmann::json& j);
Result<FeeEstimate> parse_fee_estimate(const nlohmann::json& j);
/// Minimal hex of an unsigned 128-bit integer ("0x0" for zero).
std::string u128_hex(unsigned __int128 v);
Result<unsigned __int128> parse_u128_hex(const nlohmann::json& j, std::string_view what);

}  // namespace ciro::blockchain
