#include "fakes/starknet/tls_front.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <cstdio>
#include <stdexcept>
#include <thread>

namespace ciro::fakes {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("TlsFront: " + what); }

// A P-256 key and a self-signed certificate for CN=ciro-test with the given subjectAltNames,
// valid for a day, written as PEM files.
void make_certificate(const std::filesystem::path& cert_file, const std::filesystem::path& key_file,
                      const std::string& names) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) fail("EC key generation");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("ciro-test"), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair<int, std::string>{NID_subject_alt_name, names},
                                   {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) fail("extension '" + value + "'");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert, key, EVP_sha256()) == 0) fail("signing the certificate");
  FILE* c = std::fopen(cert_file.c_str(), "w");
  FILE* k = std::fopen(key_file.c_str(), "w");
  const bool ok = c != nullptr && k != nullptr && PEM_write_X509(c, cert) == 1 &&
                  PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  if (c != nullptr) std::fclose(c);
  if (k != nullptr) std::fclose(k);
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!ok) fail("writing " + cert_file.string());
}

template <class From, class To>
asio::awaitable<void> pump(From& from, To& to) {
  char buf[16384];
  for (;;) {
    auto [ec, n] = co_await from.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec || n == 0) break;
    auto [wec, w] = co_await asio::async_write(to, asio::buffer(buf, n), asio::as_tuple(asio::use_awaitable));
    if (wec) break;
  }
  boost::system::error_code ignored;
  to.lowest_layer().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace

struct TlsFront::Impl {
  asio::io_context io;
  asio::ssl::context ssl{asio::ssl::context::tls_server};
  tcp::acceptor acceptor{io};
  std::uint16_t backend = 0;
  std::filesystem::path cert;
  std::atomic<int> handshakes{0};
  std::thread thread;

  asio::awaitable<void> serve(tcp::socket socket) {
    auto tls = std::make_shared<asio::ssl::stream<tcp::socket>>(std::move(socket), ssl);
    auto [hec] = co_await tls->async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
    if (hec) co_return;  // a client that refused our certificate
    ++handshakes;
    auto plain = std::make_shared<tcp::socket>(io);
    const tcp::endpoint to(asio::ip::address_v4::loopback(), backend);
    auto [cec] = co_await plain->async_connect(to, asio::as_tuple(asio::use_awaitable));
    if (cec) co_return;
    asio::co_spawn(io, [tls, plain]() -> asio::awaitable<void> { co_await pump(*plain, *tls); }, asio::detached);
    co_await pump(*tls, *plain);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
  }
};

TlsFront::TlsFront(std::uint16_t backend_port, const std::filesystem::path& dir, const std::string& names)
    : m_impl(std::make_unique<Impl>()) {
  m_impl->backend = backend_port;
  m_impl->cert = dir / "tls_front_cert.pem";
  const auto key = dir / "tls_front_key.pem";
  make_certificate(m_impl->cert, key, names);
  m_impl->ssl.use_certificate_chain_file(m_impl->cert.string());
  m_impl->ssl.use_private_key_file(key.string(), asio::ssl::context::pem);
  const tcp::endpoint ep(asio::ip::address_v4::loopback(), 0);
  m_impl->acceptor.open(ep.protocol());
  m_impl->acceptor.bind(ep);
  m_impl->acceptor.listen();
  asio::co_spawn(m_impl->io, m_impl->accept_loop(), asio::detached);
  m_impl->thread = std::thread([impl = m_impl.get()] { impl->io.run(); });
}

TlsFront::~TlsFront() {
  m_impl->io.stop();
  m_impl->thread.join();
}

std::uint16_t TlsFront::port() const { return m_impl->acceptor.local_endpoint().port(); }
const std::filesystem::path& TlsFront::certificate() const { return m_impl->cert; }
int TlsFront::handshakes() const { return m_impl->handshakes.load(); }

}  // namespace ciro::fakes
