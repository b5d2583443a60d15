#include "blockchain/keystore.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "blockchain/ecdsa.h"
#include "utils/encoding.h"

namespace ciro::blockchain {

using nlohmann::json;

KdfLimits KdfLimits::moderate() { return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE}; }
KdfLimits KdfLimits::interactive() { return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE}; }

namespace {

struct Wipe {
  void* p;
  std::size_t n;
  ~Wipe() { sodium_memzero(p, n); }
};

Result<void> derive(unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES], const std::string& password,
                    const unsigned char* salt, const KdfLimits& l) {
  if (sodium_init() < 0) return make_error(Errc::internal, "libsodium failed to initialise");
  if (crypto_pwhash(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, password.data(), password.size(), salt,
                    l.opslimit, l.memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(Errc::limit_exceeded, "Argon2id key derivation failed (out of memory?)");
  }
  return {};
}

Result<json> load(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return make_error(Errc::io, "cannot read keystore " + file.string());
  json j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(Errc::invalid_argument, "keystore " + file.string() + " is not JSON");
  if (j.value("version", 0) != 1)
    return make_error(Errc::invalid_argument, "keystore " + file.string() + ": unsupported version");
  return j;
}

}  // namespace

Result<void> keystore_write(const std::filesystem::path& file, const U256& private_key, const std::string& password,
                            const std::string& address, KdfLimits limits) {
  CIRO_TRY(Felt pub, get_public_key(private_key));
  if (password.empty()) return make_error(Errc::invalid_argument, "keystore password must not be empty");
  unsigned char salt[crypto_pwhash_SALTBYTES];
  unsigned char nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
  Wipe wk{key, sizeof key};
  randombytes_buf(salt, sizeof salt);
  randombytes_buf(nonce, sizeof nonce);
  CIRO_TRY_VOID(derive(key, password, salt, limits));
  auto plain = to_be_bytes(private_key);
  Wipe wp{plain.data(), plain.size()};
  std::vector<unsigned char> ct(plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  unsigned long long ct_len = 0;
  const std::string ad = "ciro-keystore-v1";
  crypto_aead_xchacha20poly1305_ietf_encrypt(ct.data(), &ct_len, plain.data(), plain.size(),
                                             reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr,
                                             nonce, key);
  ct.resize(ct_len);
  json j = {{"version", 1},
            {"kdf", "argon2id13"},
            {"salt", utils::to_hex(salt)},
            {"opslimit", limits.opslimit},
            {"memlimit", limits.memlimit},
            {"cipher", "xchacha20poly1305-ietf"},
            {"nonce", utils::to_hex(nonce)},
            {"ciphertext", utils::to_hex(ct)},
            {"address", address},
            {"public_key", pub.to_hex()}};
  const std::string body = j.dump(2) + "\n";
  const auto tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(Errc::io, "cannot create " + tmp);
  ::fchmod(fd, 0600);
  const bool ok = ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return make_error(Errc::io, "cannot write " + tmp);
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) return make_error(Errc::io, "cannot rename " + tmp + " to " + file.string() + ": " + ec.message());
  return {};
}

Result<U256> keystore_read(const std::filesystem::path& file, const std::string& password) {
  CIRO_TRY(json j, load(file));
  auto field = [&](const char* k) -> std::optional<utils::Bytes> {
    if (!j.contains(k) || !j[k].is_string()) return std::nullopt;
    return utils::from_hex(j[k].get<std::string>());
  };
  auto salt = field("salt"), nonce = field("nonce"), ct = field("ciphertext");
  if (!salt || salt->size() != crypto_pwhash_SALTBYTES || !nonce ||
      nonce->size() != crypto_aead_xchacha20poly1305_ietf_NPUBBYTES || !ct ||
      ct->size() != 32 + crypto_aead_xchacha20poly1305_ietf_ABYTES || !j.contains("opslimit") ||
      !j.contains("memlimit") || !j["opslimit"].is_number_unsigned() || !j["memlimit"].is_number_unsigned()) {
    return make_error(Errc::invalid_argument, "keystore " + file.string() + ": malformed salt/nonce/ciphertext/params");
  }
  KdfLimits l{j["opslimit"].get<unsigned long long>(), j["memlimit"].get<std::size_t>()};
  // Bound what a file may ask for (a hostile file must not make us allocate 64 GiB).
  if (l.opslimit < crypto_pwhash_OPSLIMIT_MIN || l.opslimit > 32 || l.memlimit < crypto_pwhash_MEMLIMIT_MIN ||
      l.memlimit > (4ULL << 30)) {
    return make_error(Errc::invalid_argument, "keystore " + file.string() + ": KDF limits out of the accepted range");
  }
  unsigned char key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
  Wipe wk{key, sizeof key};
  CIRO_TRY_VOID(derive(key, password, salt->data(), l));
  std::array<unsigned char, 32> plain{};
  Wipe wp{plain.data(), plain.size()};
  unsigned long long plain_len = 0;
  const std::string ad = "ciro-keystore-v1";
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain.data(), &plain_len, nullptr, ct->data(), ct->size(),
                                                 reinterpret_cast<const unsigned char*>(ad.data()), ad.size(),
                                                 nonce->data(), key) != 0 ||
      plain_len != 32) {
    return make_error(Errc::permission_denied, "keystore " + file.string() + ": wrong password or corrupted file");
  }
  return from_be_bytes(std::span<const std::uint8_t, 32>(plain.data(), 32));
}

Result<KeystoreInfo> keystore_info(const std::filesystem::path& file) {
  CIRO_TRY(json j, load(file));
  return KeystoreInfo{j.value("address", ""), j.value("public_key", "")};
}

Result<std::string> read_password(const std::string& env_var, const std::string& password_file) {
  if (!password_file.empty()) {
    std::ifstream in(password_file);
    if (!in) return make_error(Errc::io, "cannot read password file " + password_file);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string p = ss.str();
    while (!p.empty() && (p.back() == '\n' || p.back() == '\r')) p.pop_back();
    if (p.empty()) return make_error(Errc::invalid_argument, "password file " + password_file + " is empty");
    return p;
  }
  const char* v = env_var.empty() ? nullptr : std::getenv(env_var.c_str());
  if (v == nullptr || *v == '\0') {
    return make_error(Errc::invalid_argument, "no keystore password: set " +
                                                  (env_var.empty() ? std::string("a password variable") : env_var) +
                                                  " or give --password-file");
  }
  return std::string(v);
}

// ---- CLI -------------------------------------------------------------------------------------

namespace {
const char* USAGE =
    "usage: ciro-worker keys <command> [options]\n"
    "  new     --keystore FILE [--address 0x..]            generate a key and write it encrypted\n"
    "  import  --keystore FILE [--address 0x..] (--key-file F | --key-env VAR)\n"
    "                                                       encrypt an existing private key\n"
    "  show    --keystore FILE [--decrypt]                  print address and public key\n"
    "options: --password-env VAR (default CIRO_KEYSTORE_PASSWORD), --password-file F, --fast-kdf (tests only)\n";
}

int keys_cli_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] == "help" || args[0] == "--help") {
    (args.empty() ? err : out) << USAGE;
    return args.empty() ? 2 : 0;
  }
  const std::string cmd = args[0];
  // Before the options, so that a mistyped command is named as such, not as a missing --keystore.
  if (cmd != "new" && cmd != "import" && cmd != "show") {
    err << "keys: unknown command '" << cmd << "'; commands: new, import, show\n" << USAGE;
    return 2;
  }
  std::string keystore, address, key_file, key_env, password_env = "CIRO_KEYSTORE_PASSWORD", password_file;
  bool fast = false, decrypt = false;
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string& dst) {
      if (i + 1 >= args.size()) return false;
      dst = args[++i];
      return true;
    };
    bool ok = true;
    if (a == "--keystore")
      ok = value(keystore);
    else if (a == "--address")
      ok = value(address);
    else if (a == "--key-file")
      ok = value(key_file);
    else if (a == "--key-env")
      ok = value(key_env);
    else if (a == "--password-env")
      ok = value(password_env);
    else if (a == "--password-file")
      ok = value(password_file);
    else if (a == "--fast-kdf")
      fast = true;
    else if (a == "--decrypt")
      decrypt = true;
    else if (a == "--help" || a == "-h") {
      out << USAGE;
      return 0;
    } else {
      err << "keys: unknown option " << a << "\n" << USAGE;
      return 2;
    }
    if (!ok) {
      err << "keys: " << a << " needs a value\n";
      return 2;
    }
  }
  if (keystore.empty()) {
    err << "keys " << cmd << ": --keystore FILE is required\n";
    return 2;
  }
  if (!address.empty()) {
    auto a = Felt::from_hex(address);
    if (!a) {
      err << "keys: --address: " << a.error().message << "\n";
      return 2;
    }
    address = a->to_hex();
  }
  if (cmd == "show") {
    auto info = keystore_info(keystore);
    if (!info) {
      err << "keys show: " << info.error().to_string() << "\n";
      return 1;
    }
    if (decrypt) {  // proves the password opens it; still prints only public data
      auto pw = read_password(password_env, password_file);
      if (!pw) {
        err << "keys show: " << pw.error().message << "\n";
        return 1;
      }
      auto k = keystore_read(keystore, *pw);
      if (!k) {
        err << "keys show: " << k.error().message << "\n";
        return 1;
      }
      auto pub = get_public_key(*k);
      sodium_memzero(&*k, sizeof(U256));
      if (!pub || pub->to_hex() != info->public_key) {
        err << "keys show: the stored public key does not match the encrypted key\n";
        return 1;
      }
    }
    out << "address: " << (info->address.empty() ? "(not set)" : info->address) << "\n";
    out << "public_key: " << info->public_key << "\n";
    return 0;
  }
  if (std::filesystem::exists(keystore)) {
    err << "keys " << cmd << ": " << keystore << " exists; refusing to overwrite\n";
    return 1;
  }
  auto pw = read_password(password_env, password_file);
  if (!pw) {
    err << "keys " << cmd << ": " << pw.error().message << "\n";
    return 1;
  }
  U256 key;
  Wipe wk{&key, sizeof key};
  if (cmd == "new") {
    if (sodium_init() < 0) return 1;
    for (;;) {  // uniform in [1, N): rejection sampling on 252 bits
      std::array<std::uint8_t, 32> b{};
      randombytes_buf(b.data(), b.size());
      b[0] &= 0x0f;
      key = from_be_bytes(b);
      sodium_memzero(b.data(), b.size());
      if (!key.is_zero() && key < ScalarParams::MOD) break;
    }
  } else {
    std::string text;
    if (!key_file.empty()) {
      std::ifstream in(key_file);
      if (!in) {
        err << "keys import: cannot read " << key_file << "\n";
        return 1;
      }
      std::getline(in, text);
    } else if (!key_env.empty() && std::getenv(key_env.c_str()) != nullptr) {
      text = std::getenv(key_env.c_str());
    } else {
      err << "keys import: give --key-file F or --key-env VAR\n";
      return 2;
    }
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
    auto parsed = parse_hex_u256(text);
    sodium_memzero(text.data(), text.size());
    if (!parsed || parsed->is_zero() || !(*parsed < ScalarParams::MOD)) {
      err << "keys import: the private key is not a hex number in [1, N)\n";  // never echo it
      return 1;
    }
    key = *parsed;
  }
  auto w = keystore_write(keystore, key, *pw, address, fast ? KdfLimits::interactive() : KdfLimits::moderate());
  if (!w) {
    err << "keys " << cmd << ": " << w.error().message << "\n";
    return 1;
  }
  auto info = keystore_info(keystore);
  out << "wrote " << keystore << "\n";
  out << "address: " << (address.empty() ? "(not set)" : address) << "\n";
  out << "public_key: " << (info ? info->public_key : "?") << "\n";
  return 0;
}

}  // namespace ciro::blockchain
