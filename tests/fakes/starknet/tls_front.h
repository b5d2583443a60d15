#pragma once
// TlsFront: a TLS-terminating relay on 127.0.0.1 (port 0) for tests of HTTPS clients. Each
// connection is decrypted with a self-signed certificate made at construction and relayed as
// plain bytes to a backend port on 127.0.0.1 (a FakeStarknet, say). It owns its io_context and
// thread; the destructor stops both. The certificate (PEM) is written to a folder the caller
// names, so a client can trust it as its CA file.

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace ciro::fakes {

class TlsFront {
 public:
  /// `names` is the certificate's subjectAltName list, e.g. "IP:127.0.0.1,DNS:localhost".
  TlsFront(std::uint16_t backend_port, const std::filesystem::path& dir, const std::string& names);
  ~TlsFront();
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  std::uint16_t port() const;
  /// The self-signed certificate (PEM): the CA file a client must trust.
  const std::filesystem::path& certificate() const;
  /// Connections whose TLS handshake completed.
  int handshakes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace ciro::fakes
