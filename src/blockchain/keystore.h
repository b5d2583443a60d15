#pragma once
// Keystore: the account's Stark private key encrypted at rest. The key is derived from a password
// with Argon2id (libsodium crypto_pwhash, MODERATE limits by default) and the key bytes sealed
// with XChaCha20-Poly1305 (IETF); the file is JSON
//   {"version":1,"kdf":"argon2id13","salt":hex,"opslimit":n,"memlimit":n,"cipher":"xchacha20poly1305-ietf",
//    "nonce":hex,"ciphertext":hex,"address":"0x..","public_key":"0x.."}
// written with mode 0600. address and public_key are stored in clear for `keys show`.
// The private key never appears in logs or error messages. Stateless functions, any thread.

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "blockchain/field.h"

namespace ciro::blockchain {

struct KdfLimits {
  unsigned long long opslimit;
  std::size_t memlimit;
  static KdfLimits moderate();     ///< crypto_pwhash_*_MODERATE (≈256 MiB, ~1 s)
  static KdfLimits interactive();  ///< for tests
};

struct KeystoreInfo {
  std::string address;     ///< "0x..", may be empty
  std::string public_key;  ///< "0x.."
};

/// Encrypts and writes (atomically, 0600). Errors: invalid key (not in [1, N)), I/O.
Result<void> keystore_write(const std::filesystem::path& file, const U256& private_key, const std::string& password,
                            const std::string& address, KdfLimits limits = KdfLimits::moderate());
/// Decrypts. Errors: permission_denied on a wrong password (or a tampered file), invalid_argument
/// on a malformed file, io when unreadable.
Result<U256> keystore_read(const std::filesystem::path& file, const std::string& password);
/// Reads the clear fields without the password.
Result<KeystoreInfo> keystore_info(const std::filesystem::path& file);
/// The password: from the file when password_file is set (trailing newline removed), else from
/// the environment variable. Errors name the variable/file, never the value.
Result<std::string> read_password(const std::string& env_var, const std::string& password_file);

/// `ciro-worker keys new|import|show` — see the usage text (`keys help`). Returns the exit code.
int keys_cli_main(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace ciro::blockchain
