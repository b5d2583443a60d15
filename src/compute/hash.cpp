#include "compute/hash.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "utils/encoding.h"

namespace ciro::compute {

namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

constexpr std::size_t READ_SIZE = 256 * 1024;

}  // namespace

std::string sha256_hex(std::span<const std::uint8_t> data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // EVP_Digest only fails on allocation failure; treat that as fatal rather than return garbage.
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) std::abort();
  return utils::to_hex(std::span<const std::uint8_t>(digest, len));
}

std::string sha256_hex(std::string_view data) {
  return sha256_hex(std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(data.data()), data.size()));
}

Result<std::string> sha256_file(const std::filesystem::path& path, std::uint64_t* size_out) {
  // O_NONBLOCK so that a FIFO cannot hang the open; it is refused by the S_ISREG check below.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    return make_error(e == ENOENT ? Errc::not_found : Errc::io,
                      path.string() + ": cannot open: " + std::strerror(e));
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_error(Errc::io, path.string() + ": fstat failed: " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) return make_error(Errc::invalid_argument, path.string() + ": not a regular file");

  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return make_error(Errc::internal, "EVP_DigestInit_ex(sha256) failed");
  }
  std::vector<std::uint8_t> buf(READ_SIZE);
  std::uint64_t total = 0;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::io, path.string() + ": read failed: " + std::strerror(errno));
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n));
    total += static_cast<std::uint64_t>(n);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1) return make_error(Errc::internal, "EVP_DigestFinal_ex failed");
  if (size_out) *size_out = total;
  return utils::to_hex(std::span<const std::uint8_t>(digest, len));
}

}  // namespace ciro::compute
