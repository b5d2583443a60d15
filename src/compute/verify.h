#pragma once
// Verification of a downloaded (or locally written) job result folder. Pure functions over the
// disk, thread-safe; they hash every output, so run them on the blocking-work pool.
//
// Layout of a result folder:
//   DIR/manifest.json       canonical JSON of the ResultManifest (the signed bytes)
//   DIR/manifest.sig.json   {"manifest_sha256","peer_id","public_key","signature"}
//   DIR/outputs/<files>     exactly the files the manifest lists, nothing else
//   DIR/stdout.log          the job's stdout as captured (possibly truncated)
//   DIR/stderr.log

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "compute/manifest.h"
#include "utils/result.h"

namespace ciro::compute {

inline constexpr const char* MANIFEST_FILE = "manifest.json";
inline constexpr const char* SIGNATURE_FILE = "manifest.sig.json";
inline constexpr const char* OUTPUTS_DIR = "outputs";
inline constexpr const char* STDOUT_FILE = "stdout.log";
inline constexpr const char* STDERR_FILE = "stderr.log";

/// What a successful verification established.
struct VerifyReport {
  ResultManifest manifest;
  SignedManifest signature;       ///< manifest_json holds the verified bytes
  std::size_t files_checked = 0;  ///< outputs plus the two logs
  std::uint64_t bytes_hashed = 0;
};

/// Checks, in order: both JSON files parse; manifest.json is byte-for-byte canonical; its SHA-256
/// is manifest_sha256; the public key matches the peer id, the manifest's peer_id and, when
/// given, the expected key (64 hex digits) or peer id; the Ed25519 signature is valid; every
/// output exists with the listed size and SHA-256, outputs/ holds nothing else (no symlinks or
/// other special files); the logs match. Errors name what differs, with expected and actual:
/// invalid_argument (malformed files), permission_denied (signature or identity), conflict
/// (content: every differing file is listed), not_found (missing folder or JSON file), io.
Result<VerifyReport> verify_result_dir(const std::filesystem::path& dir,
                                       std::optional<std::string> expected_public_key_or_peer_id);

/// Writes the layout above: the manifest and signature as given, the outputs the manifest lists
/// copied from outputs_source_dir (regular files only), and the two logs (an empty path writes an
/// empty log). Builds DIR.partial and renames it to DIR at the end, so DIR is either absent or
/// complete; fails (already_exists) when DIR exists, (invalid_argument) when the manifest does not
/// parse, (not_found / io) when a source file is missing or unreadable. Does not re-hash: callers
/// that want a check run verify_result_dir on the result.
Result<void> write_result_dir(const std::filesystem::path& dir, const SignedManifest& signed_manifest,
                              const std::filesystem::path& outputs_source_dir,
                              const std::filesystem::path& stdout_file, const std::filesystem::path& stderr_file);

}  // namespace ciro::compute
