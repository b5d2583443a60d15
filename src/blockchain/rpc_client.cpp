#include "blockchain/rpc_client.h"

#include <openssl/ssl.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <random>

#include "blockchain/cairo_serde.h"
#include "utils/log.h"

namespace ciro::blockchain {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using nlohmann::json;
using tcp = asio::ip::tcp;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

const char* rpc_code_name(int code) noexcept {
  switch (code) {
    case 1:
      return "FAILED_TO_RECEIVE_TXN";
    case 10:
      return "NO_TRACE_AVAILABLE";
    case 20:
      return "CONTRACT_NOT_FOUND";
    case 21:
      return "ENTRYPOINT_NOT_FOUND";
    case 24:
      return "BLOCK_NOT_FOUND";
    case 27:
      return "INVALID_TXN_INDEX";
    case 28:
      return "CLASS_HASH_NOT_FOUND";
    case 29:
      return "TXN_HASH_NOT_FOUND";
    case 31:
      return "PAGE_SIZE_TOO_BIG";
    case 32:
      return "NO_BLOCKS";
    case 33:
      return "INVALID_CONTINUATION_TOKEN";
    case 34:
      return "TOO_MANY_KEYS_IN_FILTER";
    case 40:
      return "CONTRACT_ERROR";
    case 41:
      return "TRANSACTION_EXECUTION_ERROR";
    case 42:
      return "STORAGE_PROOF_NOT_SUPPORTED";
    case 51:
      return "CLASS_ALREADY_DECLARED";
    case 52:
      return "INVALID_TRANSACTION_NONCE";
    case 53:
      return "INSUFFICIENT_RESOURCES_FOR_VALIDATE";
    case 54:
      return "INSUFFICIENT_ACCOUNT_BALANCE";
    case 55:
      return "VALIDATION_FAILURE";
    case 56:
      return "COMPILATION_FAILED";
    case 57:
      return "CONTRACT_CLASS_SIZE_IS_TOO_LARGE";
    case 58:
      return "NON_ACCOUNT";
    case 59:
      return "DUPLICATE_TX";
    case 60:
      return "COMPILED_CLASS_HASH_MISMATCH";
    case 61:
      return "UNSUPPORTED_TX_VERSION";
    case 62:
      return "UNSUPPORTED_CONTRACT_CLASS_VERSION";
    case 63:
      return "UNEXPECTED_ERROR";
    case 64:
      return "REPLACEMENT_TRANSACTION_UNDERPRICED";
    case 65:
      return "FEE_BELOW_MINIMUM";
    case 69:
      return "INVALID_PROOF";
    case -32700:
      return "PARSE_ERROR";
    case -32600:
      return "INVALID_REQUEST";
    case -32601:
      return "METHOD_NOT_FOUND";
    case -32602:
      return "INVALID_PARAMS";
    case -32603:
      return "INTERNAL_ERROR";
    default:
      return "";
  }
}

std::string RpcError::to_string() const {
  std::string s = method.empty() ? std::string() : method + ": ";
  if (code != rpc_code::NONE) {
    s += "rpc error " + std::to_string(code);
    const char* name = rpc_code_name(code);
    if (*name != '\0') s += std::string(" ") + name;
    s += ": ";
  }
  s += message;
  if (!data.is_null()) {
    std::string d = data.is_string() ? data.get<std::string>() : data.dump();
    if (d.size() > 300) d = d.substr(0, 300) + "...";
    s += " (" + d + ")";
  }
  return s;
}

json BlockId::to_json() const {
  switch (kind) {
    case Kind::latest:
      return "latest";
    case Kind::pre_confirmed:
      return "pre_confirmed";
    case Kind::l1_accepted:
      return "l1_accepted";
    case Kind::number:
      return json{{"block_number", number}};
    case Kind::hash:
      return json{{"block_hash", hash.to_hex()}};
  }
  return "latest";
}

std::string u128_hex(unsigned __int128 v) {
  return to_hex(U256(static_cast<std::uint64_t>(v), static_cast<std::uint64_t>(v >> 64), 0, 0));
}

// ---- parsing helpers -------------------------------------------------------------------------

namespace {

Error bad(std::string_view what, std::string_view why) {
  return make_error(Errc::protocol, "malformed reply: " + std::string(what) + " " + std::string(why));
}

Result<Felt> felt_at(const json& j, std::string_view what) {
  if (!j.is_string()) return bad(what, "is not a hex string");
  auto f = Felt::from_hex(j.get<std::string>());
  if (!f) return bad(what, "is not a felt: " + f.error().message);
  return *f;
}

Result<Felt> felt_member(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return bad(key, "is missing");
  return felt_at(j[key], key);
}

Result<std::uint64_t> uint_member(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key)) return bad(key, "is missing");
  if (!j[key].is_number_unsigned() && !(j[key].is_number_integer() && j[key].get<std::int64_t>() >= 0)) {
    return bad(key, "is not a non-negative integer");
  }
  return j[key].get<std::uint64_t>();
}

Result<std::string> string_member(const json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j[key].is_string()) return bad(key, "is missing or not a string");
  return j[key].get<std::string>();
}

Result<std::vector<Felt>> felt_array(const json& j, std::string_view what) {
  if (!j.is_array()) return bad(what, "is not an array");
  std::vector<Felt> out;
  out.reserve(j.size());
  for (std::size_t i = 0; i < j.size(); ++i) {
    CIRO_TRY(Felt f, felt_at(j[i], std::string(what) + "[" + std::to_string(i) + "]"));
    out.push_back(f);
  }
  return out;
}

}  // namespace

Result<unsigned __int128> parse_u128_hex(const json& j, std::string_view what) {
  if (!j.is_string()) return bad(what, "is not a hex string");
  const auto v = parse_hex_u256(j.get<std::string>());
  if (!v || v->w[2] != 0 || v->w[3] != 0) return bad(what, "is not a u128 hex number");
  return static_cast<unsigned __int128>(v->w[0]) | (static_cast<unsigned __int128>(v->w[1]) << 64);
}

Result<EmittedEvent> parse_emitted_event(const json& j) {
  if (!j.is_object()) return bad("event", "is not an object");
  EmittedEvent e;
  CIRO_TRY(e.from_address, felt_member(j, "from_address"));
  if (!j.contains("keys") || !j.contains("data")) return bad("event", "lacks keys or data");
  CIRO_TRY(e.keys, felt_array(j["keys"], "keys"));
  CIRO_TRY(e.data, felt_array(j["data"], "data"));
  if (j.contains("block_hash")) {
    CIRO_TRY(Felt h, felt_at(j["block_hash"], "block_hash"));
    e.block_hash = h;
  }
  if (j.contains("block_number")) {
    CIRO_TRY(std::uint64_t n, uint_member(j, "block_number"));
    e.block_number = n;
  }
  if (j.contains("transaction_hash")) {
    CIRO_TRY(e.transaction_hash, felt_member(j, "transaction_hash"));
  }
  if (j.contains("transaction_index")) {
    CIRO_TRY(e.transaction_index, uint_member(j, "transaction_index"));
  }
  if (j.contains("event_index")) {
    CIRO_TRY(e.event_index, uint_member(j, "event_index"));
  }
  return e;
}

Result<TxReceipt> parse_receipt(const json& j) {
  if (!j.is_object()) return bad("receipt", "is not an object");
  TxReceipt r;
  r.raw = j;
  CIRO_TRY(r.transaction_hash, felt_member(j, "transaction_hash"));
  CIRO_TRY(r.type, string_member(j, "type"));
  CIRO_TRY(r.finality_status, string_member(j, "finality_status"));
  CIRO_TRY(r.execution_status, string_member(j, "execution_status"));
  if (j.contains("revert_reason")) {
    CIRO_TRY(std::string reason, string_member(j, "revert_reason"));
    r.revert_reason = reason;
  }
  if (j.contains("block_hash")) {
    CIRO_TRY(Felt h, felt_member(j, "block_hash"));
    r.block_hash = h;
  }
  if (j.contains("block_number")) {
    CIRO_TRY(std::uint64_t n, uint_member(j, "block_number"));
    r.block_number = n;
  }
  if (!j.contains("actual_fee") || !j["actual_fee"].is_object()) return bad("actual_fee", "is missing");
  CIRO_TRY(r.actual_fee, felt_member(j["actual_fee"], "amount"));
  CIRO_TRY(r.fee_unit, string_member(j["actual_fee"], "unit"));
  if (j.contains("events")) {
    if (!j["events"].is_array()) return bad("events", "is not an array");
    for (const auto& ev : j["events"]) {
      CIRO_TRY(EmittedEvent e, parse_emitted_event(ev));
      r.events.push_back(std::move(e));
    }
  }
  return r;
}

Result<FeeEstimate> parse_fee_estimate(const json& j) {
  if (!j.is_object()) return bad("fee estimate", "is not an object");
  FeeEstimate f;
  auto u64_of = [&](const char* key) -> Result<std::uint64_t> {
    if (!j.contains(key)) return bad(key, "is missing");
    CIRO_TRY(unsigned __int128 v, parse_u128_hex(j[key], key));
    if (v > UINT64_MAX) return bad(key, "exceeds u64");
    return static_cast<std::uint64_t>(v);
  };
  auto u128_of = [&](const char* key) -> Result<unsigned __int128> {
    if (!j.contains(key)) return bad(key, "is missing");
    return parse_u128_hex(j[key], key);
  };
  CIRO_TRY(f.l1_gas_consumed, u64_of("l1_gas_consumed"));
  CIRO_TRY(f.l2_gas_consumed, u64_of("l2_gas_consumed"));
  CIRO_TRY(f.l1_data_gas_consumed, u64_of("l1_data_gas_consumed"));
  CIRO_TRY(f.l1_gas_price, u128_of("l1_gas_price"));
  CIRO_TRY(f.l2_gas_price, u128_of("l2_gas_price"));
  CIRO_TRY(f.l1_data_gas_price, u128_of("l1_data_gas_price"));
  CIRO_TRY(f.overall_fee, u128_of("overall_fee"));
  CIRO_TRY(f.unit, string_member(j, "unit"));
  return f;
}

// ---- transport ------------------------------------------------------------------------------

namespace {

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
  std::string text;  ///< for messages and logs: scheme and authority only, the path (often an API key) as "/…"
};

Result<Url> parse_url(const std::string& text) {
  Url u;
  std::string rest;
  if (text.rfind("http://", 0) == 0) {
    rest = text.substr(7);
  } else if (text.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = text.substr(8);
  } else {
    return make_error(Errc::invalid_argument, "rpc url '" + text + "': must start with http:// or https://");
  }
  const auto slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (u.target.front() != '/') u.target.insert(0, "/");  // "host?key=..." asks for "/?key=..."
  if (const auto hash = u.target.find('#'); hash != std::string::npos) u.target.resize(hash);
  if (authority.empty()) return make_error(Errc::invalid_argument, "rpc url '" + text + "': no host");
  if (authority.find('@') != std::string::npos) {
    return make_error(Errc::invalid_argument, "rpc url: user:password@ is not supported (an API key goes in the path)");
  }
  if (authority.front() == '[') {  // [v6]:port
    const auto close = authority.find(']');
    if (close == std::string::npos) return make_error(Errc::invalid_argument, "rpc url '" + text + "': bad IPv6 host");
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') u.port = authority.substr(close + 2);
  } else {
    const auto colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) u.port = authority.substr(colon + 1);
  }
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  if (u.host.empty()) return make_error(Errc::invalid_argument, "rpc url '" + text + "': no host");
  if (u.port.empty() || u.port.size() > 5 || !std::all_of(u.port.begin(), u.port.end(), ::isdigit)) {
    return make_error(Errc::invalid_argument, "rpc url: the port must be a number");
  }
  u.text = (u.tls ? "https://" : "http://") + authority + (u.target == "/" ? "" : "/…");
  return u;
}

struct HttpReply {
  unsigned status = 0;
  std::optional<std::chrono::milliseconds> retry_after;
  std::string body;
};

/// Transport failure with the metric outcome it counts as.
struct TransportFailure {
  Error error;
  std::string outcome;
};

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view v) {
  if (v.empty() || v.size() > 9) return std::nullopt;
  std::uint64_t s = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;  // HTTP-date form is ignored: backoff applies
    s = s * 10 + static_cast<unsigned>(c - '0');
  }
  return std::chrono::milliseconds(s * 1000);
}

}  // namespace

struct RpcClient::Impl {
  asio::any_io_executor ex;
  asio::ssl::context ssl_ctx{asio::ssl::context::tls_client};
  std::vector<Url> urls;
  std::optional<Error> url_error;
  std::size_t preferred = 0;  // index of the URL that answered last
  std::uint64_t next_id = 1;
  std::mt19937_64 rng{std::random_device{}()};
  std::shared_ptr<spdlog::logger> log = utils::logger("blockchain");

  template <class Stream>
  awaitable<Result<HttpReply>> exchange(Stream& stream, const Url& url, const std::string& body, std::size_t max_body) {
    http::request<http::string_body> req{http::verb::post, url.target, 11};
    req.set(http::field::host, url.host);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::user_agent, "ciro-worker");
    req.set(http::field::connection, "close");
    req.body() = body;
    req.prepare_payload();
    auto [wec, wn] = co_await http::async_write(stream, req, tuple_awaitable);
    if (wec)
      co_return make_error(wec == beast::error::timeout ? Errc::timeout : Errc::io,
                           "write to " + url.text + ": " + wec.message());
    beast::flat_buffer buf;
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body);
    auto [rec, rn] = co_await http::async_read(stream, buf, parser, tuple_awaitable);
    if (rec) {
      co_return make_error(rec == beast::error::timeout ? Errc::timeout : Errc::io,
                           "read from " + url.text + ": " + rec.message());
    }
    auto& res = parser.get();
    HttpReply reply;
    reply.status = res.result_int();
    if (auto it = res.find(http::field::retry_after); it != res.end())
      reply.retry_after = parse_retry_after(it->value());
    reply.body = std::move(res.body());
    co_return reply;
  }

  awaitable<Result<HttpReply>> post(const Url& url, std::string body, std::chrono::milliseconds timeout,
                                    std::size_t max_body) {
    tcp::resolver resolver(ex);
    asio::steady_timer guard(ex);
    guard.expires_after(timeout);
    guard.async_wait([&resolver](boost::system::error_code ec) {
      if (!ec) resolver.cancel();
    });
    auto [rec, results] = co_await resolver.async_resolve(url.host, url.port, tuple_awaitable);
    guard.cancel();
    if (rec) {
      co_return make_error(rec == asio::error::operation_aborted ? Errc::timeout : Errc::unavailable,
                           "resolve " + url.host + ": " + rec.message());
    }
    if (!url.tls) {
      beast::tcp_stream stream(ex);
      stream.expires_after(timeout);
      auto [cec, ep] = co_await stream.async_connect(results, tuple_awaitable);
      if (cec) {
        co_return make_error(cec == beast::error::timeout ? Errc::timeout : Errc::unavailable,
                             "connect " + url.text + ": " + cec.message());
      }
      auto r = co_await exchange(stream, url, body, max_body);
      boost::system::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      co_return r;
    }
    beast::ssl_stream<beast::tcp_stream> stream(ex, ssl_ctx);
    beast::get_lowest_layer(stream).expires_after(timeout);
    boost::system::error_code not_ip;
    (void)asio::ip::make_address(url.host, not_ip);
    if (not_ip && !SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str())) {  // no SNI for an IP
      co_return make_error(Errc::io, "TLS SNI for " + url.host + " failed");
    }
    stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
    auto [cec, ep] = co_await beast::get_lowest_layer(stream).async_connect(results, tuple_awaitable);
    if (cec) {
      co_return make_error(cec == beast::error::timeout ? Errc::timeout : Errc::unavailable,
                           "connect " + url.text + ": " + cec.message());
    }
    auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, tuple_awaitable);
    if (hec) {
      co_return make_error(hec == beast::error::timeout ? Errc::timeout : Errc::unavailable,
                           "TLS handshake with " + url.text + ": " + hec.message());
    }
    auto r = co_await exchange(stream, url, body, max_body);
    auto [sec] = co_await stream.async_shutdown(tuple_awaitable);
    (void)sec;  // peers often close without close_notify
    co_return r;
  }

  std::chrono::milliseconds backoff(const RpcOptions& o, int attempt) {
    const auto ceiling = std::min<std::int64_t>(o.backoff_max.count(), o.backoff_base.count() << std::min(attempt, 20));
    std::uniform_int_distribution<std::int64_t> d(0, std::max<std::int64_t>(ceiling, 0));
    return std::chrono::milliseconds(d(rng));  // full jitter
  }
};

RpcClient::RpcClient(asio::any_io_executor ex, RpcOptions options)
    : m_impl(std::make_unique<Impl>()), m_options(std::move(options)) {
  m_impl->ex = std::move(ex);
  boost::system::error_code ec;
  if (m_options.verify_tls) {
    m_impl->ssl_ctx.set_verify_mode(asio::ssl::verify_peer, ec);
    m_impl->ssl_ctx.set_default_verify_paths(ec);
    if (!m_options.ca_file.empty()) m_impl->ssl_ctx.load_verify_file(m_options.ca_file, ec);
    if (ec) m_impl->url_error = make_error(Errc::invalid_argument, "TLS CA setup: " + ec.message());
  } else {
    m_impl->ssl_ctx.set_verify_mode(asio::ssl::verify_none, ec);
  }
  if (m_options.urls.empty()) m_impl->url_error = make_error(Errc::invalid_argument, "no rpc url configured");
  for (const auto& u : m_options.urls) {
    auto parsed = parse_url(u);
    if (!parsed) {
      m_impl->url_error = parsed.error();
      break;
    }
    m_impl->urls.push_back(std::move(*parsed));
  }
}

RpcClient::~RpcClient() = default;

awaitable<RpcResult<json>> RpcClient::request(std::string_view method_name, json params) {
  const std::string method(method_name);  // copied before the first suspension
  Impl& impl = *m_impl;
  if (impl.url_error) co_return RpcError{impl.url_error->code, rpc_code::NONE, impl.url_error->message, {}, method};
  const auto count = [&](const std::string& outcome) {
    if (m_options.on_call) m_options.on_call(method, outcome);
  };
  RpcError last{Errc::unavailable, rpc_code::NONE, "no attempt made", {}, method};
  std::size_t url_index = impl.preferred;
  for (int attempt = 0; attempt < std::max(1, m_options.max_attempts); ++attempt) {
    if (attempt > 0) {
      auto wait = impl.backoff(m_options, attempt - 1);
      if (last.data.is_object() && last.data.contains("retry_after_ms")) {
        wait =
            std::min(m_options.backoff_max, std::chrono::milliseconds(last.data["retry_after_ms"].get<std::int64_t>()));
        last.data = nullptr;
      }
      asio::steady_timer t(impl.ex);
      t.expires_after(wait);
      co_await t.async_wait(tuple_awaitable);
    }
    const Url& url = impl.urls[url_index % impl.urls.size()];
    const std::uint64_t id = impl.next_id++;
    json req = {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
    std::string body = req.dump();
    auto reply = co_await impl.post(url, std::move(body), m_options.timeout, m_options.max_body);
    bool failover = false;
    if (!reply) {
      const bool timed_out = reply.error().code == Errc::timeout;
      count(timed_out ? "timeout" : "transport");
      last = RpcError{reply.error().code, rpc_code::NONE, reply.error().message, {}, method};
      failover = true;
    } else if (reply->status == 429) {
      count("http_429");
      last = RpcError{Errc::unavailable, rpc_code::NONE, "HTTP 429 Too Many Requests from " + url.text, {}, method};
      if (reply->retry_after) last.data = json{{"retry_after_ms", reply->retry_after->count()}};
    } else if (reply->status >= 500) {
      count("http_5xx");
      last = RpcError{
          Errc::unavailable, rpc_code::NONE, "HTTP " + std::to_string(reply->status) + " from " + url.text, {}, method};
      failover = true;
    } else if (reply->status != 200) {
      count("http_error");
      co_return RpcError{
          Errc::protocol, rpc_code::NONE, "HTTP " + std::to_string(reply->status) + " from " + url.text, {}, method};
    } else {
      json doc = json::parse(reply->body, nullptr, false);
      if (doc.is_discarded() || !doc.is_object()) {
        count("malformed");
        co_return RpcError{
            Errc::protocol, rpc_code::NONE, "malformed reply from " + url.text + ": not a JSON object", {}, method};
      }
      if (doc.contains("error")) {
        const json& e = doc["error"];
        if (!e.is_object() || !e.contains("code") || !e["code"].is_number_integer()) {
          count("malformed");
          co_return RpcError{Errc::protocol, rpc_code::NONE, "malformed error reply from " + url.text, {}, method};
        }
        const int code = e["code"].get<int>();
        std::string msg = e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
        // Provider rate limits (not in the spec): ZAN -32011, others -32016 / -32005.
        if (code == -32011 || code == -32016 || code == -32005) {
          count("rate_limited");
          last = RpcError{Errc::unavailable, code, msg, {}, method};
          continue;
        }
        count("rpc_error");
        Errc errc = Errc::protocol;
        if (code == rpc_code::CONTRACT_NOT_FOUND || code == rpc_code::BLOCK_NOT_FOUND ||
            code == rpc_code::TXN_HASH_NOT_FOUND || code == rpc_code::ENTRYPOINT_NOT_FOUND) {
          errc = Errc::not_found;
        } else if (code == rpc_code::INVALID_TRANSACTION_NONCE || code == rpc_code::DUPLICATE_TX) {
          errc = Errc::conflict;
        } else if (code == rpc_code::CONTRACT_ERROR || code == rpc_code::TRANSACTION_EXECUTION_ERROR ||
                   code == rpc_code::VALIDATION_FAILURE || code == rpc_code::INSUFFICIENT_ACCOUNT_BALANCE ||
                   code == rpc_code::INSUFFICIENT_RESOURCES_FOR_VALIDATE || code == rpc_code::FEE_BELOW_MINIMUM) {
          errc = Errc::invalid_argument;
        }
        impl.preferred = url_index % impl.urls.size();
        co_return RpcError{errc, code, msg, e.contains("data") ? e["data"] : json(), method};
      }
      if (!doc.contains("result")) {
        count("malformed");
        co_return RpcError{Errc::protocol,
                           rpc_code::NONE,
                           "malformed reply from " + url.text + ": no result and no error",
                           {},
                           method};
      }
      if (!doc.contains("id") || doc["id"] != json(id)) {
        count("malformed");
        co_return RpcError{Errc::protocol,
                           rpc_code::NONE,
                           "malformed reply from " + url.text + ": id does not match the request",
                           {},
                           method};
      }
      count("ok");
      impl.preferred = url_index % impl.urls.size();
      co_return std::move(doc["result"]);
    }
    impl.log->debug("{} attempt {} via {} failed: {}", method, attempt + 1, url.text, last.message);
    if (failover && impl.urls.size() > 1) url_index = (url_index + 1) % impl.urls.size();
  }
  last.message = "gave up after " + std::to_string(m_options.max_attempts) + " attempts: " + last.message;
  if (!last.data.is_null() && last.data.is_object() && last.data.contains("retry_after_ms")) last.data = nullptr;
  co_return last;
}

// ---- typed methods ----------------------------------------------------------------------------

namespace {
template <class T>
RpcResult<T> with_method(Result<T> r, const std::string& method) {
  if (r) return std::move(r).value();
  RpcError e{r.error().code, rpc_code::NONE, r.error().message, {}, method};
  return e;
}
}  // namespace

awaitable<RpcResult<std::string>> RpcClient::spec_version() {
  json params = json::object();
  CIRO_CO_TRY(json r, co_await request("starknet_specVersion", std::move(params)));
  if (!r.is_string())
    co_return RpcError{
        Errc::protocol, rpc_code::NONE, "malformed reply: spec version is not a string", {}, "starknet_specVersion"};
  co_return r.get<std::string>();
}

awaitable<RpcResult<std::string>> RpcClient::check_spec_version() {
  CIRO_CO_TRY(std::string v, co_await spec_version());
  if (v.rfind("0.10.", 0) != 0) {
    m_impl->log->warn("Starknet node speaks JSON-RPC {}; this client targets 0.10.x (continuing)", v);
  }
  co_return v;
}

awaitable<RpcResult<Felt>> RpcClient::chain_id() {
  json params = json::object();
  CIRO_CO_TRY(json r, co_await request("starknet_chainId", std::move(params)));
  co_return with_method(felt_at(r, "chain id"), "starknet_chainId");
}

awaitable<RpcResult<std::uint64_t>> RpcClient::block_number() {
  json params = json::object();
  CIRO_CO_TRY(json r, co_await request("starknet_blockNumber", std::move(params)));
  if (!r.is_number_unsigned())
    co_return RpcError{
        Errc::protocol, rpc_code::NONE, "malformed reply: block number is not an integer", {}, "starknet_blockNumber"};
  co_return r.get<std::uint64_t>();
}

awaitable<RpcResult<BlockHashAndNumber>> RpcClient::block_hash_and_number() {
  json params = json::object();
  CIRO_CO_TRY(json r, co_await request("starknet_blockHashAndNumber", std::move(params)));
  auto parse = [&]() -> Result<BlockHashAndNumber> {
    BlockHashAndNumber b;
    CIRO_TRY(b.block_hash, felt_member(r, "block_hash"));
    CIRO_TRY(b.block_number, uint_member(r, "block_number"));
    return b;
  };
  co_return with_method(parse(), "starknet_blockHashAndNumber");
}

awaitable<RpcResult<Felt>> RpcClient::block_hash(std::uint64_t number) {
  json params = {{"block_id", BlockId::at(number).to_json()}};
  CIRO_CO_TRY(json r, co_await request("starknet_getBlockWithTxHashes", std::move(params)));
  co_return with_method(felt_member(r, "block_hash"), "starknet_getBlockWithTxHashes");
}

awaitable<RpcResult<std::vector<Felt>>> RpcClient::call(FunctionCall c, BlockId block) {
  json params = {{"request",
                  {{"contract_address", c.contract_address.to_hex()},
                   {"entry_point_selector", c.entry_point_selector.to_hex()},
                   {"calldata", felts_to_hex(c.calldata)}}},
                 {"block_id", block.to_json()}};
  CIRO_CO_TRY(json r, co_await request("starknet_call", std::move(params)));
  co_return with_method(felt_array(r, "result"), "starknet_call");
}

awaitable<RpcResult<Felt>> RpcClient::get_nonce(Felt contract_address, BlockId block) {
  json params = {{"block_id", block.to_json()}, {"contract_address", contract_address.to_hex()}};
  CIRO_CO_TRY(json r, co_await request("starknet_getNonce", std::move(params)));
  co_return with_method(felt_at(r, "nonce"), "starknet_getNonce");
}

awaitable<RpcResult<EventsChunk>> RpcClient::get_events(EventFilter filter, std::uint32_t chunk_size,
                                                        std::optional<std::string> token) {
  json f = json::object();
  if (filter.from_block) f["from_block"] = filter.from_block->to_json();
  if (filter.to_block) f["to_block"] = filter.to_block->to_json();
  if (filter.address) f["address"] = filter.address->to_hex();
  if (!filter.keys.empty()) {
    json keys = json::array();
    for (const auto& k : filter.keys) keys.push_back(felts_to_hex(k));
    f["keys"] = keys;
  }
  f["chunk_size"] = chunk_size;
  if (token) f["continuation_token"] = *token;
  json params = {{"filter", f}};
  CIRO_CO_TRY(json r, co_await request("starknet_getEvents", std::move(params)));
  auto parse = [&]() -> Result<EventsChunk> {
    if (!r.is_object() || !r.contains("events") || !r["events"].is_array())
      return bad("events chunk", "has no events array");
    EventsChunk c;
    for (const auto& e : r["events"]) {
      CIRO_TRY(EmittedEvent ev, parse_emitted_event(e));
      c.events.push_back(std::move(ev));
    }
    if (r.contains("continuation_token")) {
      if (!r["continuation_token"].is_string()) return bad("continuation_token", "is not a string");
      c.continuation_token = r["continuation_token"].get<std::string>();
    }
    return c;
  };
  co_return with_method(parse(), "starknet_getEvents");
}

awaitable<RpcResult<std::vector<FeeEstimate>>> RpcClient::estimate_fee(json transactions, bool skip_validate,
                                                                       BlockId block) {
  json flags = json::array();
  if (skip_validate) flags.push_back("SKIP_VALIDATE");
  json params = {{"request", std::move(transactions)}, {"simulation_flags", flags}, {"block_id", block.to_json()}};
  CIRO_CO_TRY(json r, co_await request("starknet_estimateFee", std::move(params)));
  auto parse = [&]() -> Result<std::vector<FeeEstimate>> {
    if (!r.is_array()) return bad("estimate", "is not an array");
    std::vector<FeeEstimate> out;
    for (const auto& e : r) {
      CIRO_TRY(FeeEstimate fe, parse_fee_estimate(e));
      out.push_back(fe);
    }
    return out;
  };
  co_return with_method(parse(), "starknet_estimateFee");
}

awaitable<RpcResult<Felt>> RpcClient::add_invoke_transaction(json invoke_transaction) {
  json params = {{"invoke_transaction", std::move(invoke_transaction)}};
  CIRO_CO_TRY(json r, co_await request("starknet_addInvokeTransaction", std::move(params)));
  co_return with_method(felt_member(r, "transaction_hash"), "starknet_addInvokeTransaction");
}

awaitable<RpcResult<TxReceipt>> RpcClient::get_transaction_receipt(Felt transaction_hash) {
  json params = {{"transaction_hash", transaction_hash.to_hex()}};
  CIRO_CO_TRY(json r, co_await request("starknet_getTransactionReceipt", std::move(params)));
  co_return with_method(parse_receipt(r), "starknet_getTransactionReceipt");
}

awaitable<RpcResult<TxStatus>> RpcClient::get_transaction_status(Felt transaction_hash) {
  json params = {{"transaction_hash", transaction_hash.to_hex()}};
  CIRO_CO_TRY(json r, co_await request("starknet_getTransactionStatus", std::move(params)));
  auto parse = [&]() -> Result<TxStatus> {
    TxStatus s;
    CIRO_TRY(s.finality_status, string_member(r, "finality_status"));
    if (r.contains("execution_status")) {
      CIRO_TRY(std::string e, string_member(r, "execution_status"));
      s.execution_status = e;
    }
    if (r.contains("failure_reason")) {
      CIRO_TRY(std::string f, string_member(r, "failure_reason"));
      s.failure_reason = f;
    }
    return s;
  };
  co_return with_method(parse(), "starknet_getTransactionStatus");
}

awaitable<RpcResult<json>> RpcClient::get_class_at(Felt contract_address, BlockId block) {
  json params = {{"block_id", block.to_json()}, {"contract_address", contract_address.to_hex()}};
  CIRO_CO_TRY(json r, co_await request("starknet_getClassAt", std::move(params)));
  if (!r.is_object())
    co_return RpcError{
        Errc::protocol, rpc_code::NONE, "malformed reply: class is not an object", {}, "starknet_getClassAt"};
  co_return r;
}

}  // namespace ciro::blockchain
