#pragma once
// Result manifests: what a job produced (exit, timing, every output file's SHA-256), written by the
// worker, signed with the node's Ed25519 key, and checked by whoever downloads the result.
// Plain values and pure functions, thread-safe; hash_output_tree reads the disk, so it belongs on
// the blocking-work pool.
//
// Canonical JSON (the bytes that are hashed and signed), version 1:
//  - one JSON object, no whitespace anywhere, keys sorted by their UTF-8 bytes at every level;
//  - numbers are integers only, in shortest decimal form (no '+', no leading zeros, no exponent,
//    no fraction); booleans are true/false; no nulls;
//  - strings are UTF-8, written raw except '"' -> \", '\\' -> \\\\, \b \f \n \r \t, and other
//    control characters below 0x20 as \u00xx (lowercase hex); '/' and non-ASCII are not escaped;
//    invalid UTF-8 in a field is replaced by U+FFFD before signing;
//  - outputs are sorted by path, paths unique.
// A verifier re-serialises what it parsed and requires the exact same bytes, so a manifest with
// duplicate keys, extra spaces or other spellings of the same values is refused.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "utils/identity.h"
#include "utils/result.h"

namespace ciro::compute {

struct FileDigest {
  std::string path;        ///< relative, '/'-separated, no "." or ".." segments
  std::uint64_t size = 0;  ///< bytes
  std::string sha256;      ///< lowercase hex
  bool operator==(const FileDigest&) const = default;
};

struct ResultManifest {
  int version = 1;
  std::string job_id, node_id, peer_id, image, spec_sha256;
  int exit_code = 0;
  std::string reason;       ///< exited|timeout|out_of_memory|cancelled|engine_error|node_restarted
  std::string detail;       ///< free text for people, e.g. the engine's error
  std::string started_at, finished_at;  ///< RFC 3339 UTC with milliseconds: 2024-05-01T12:00:00.123Z
  std::uint64_t duration_ms = 0;
  std::vector<FileDigest> outputs;      ///< sorted by path
  FileDigest stdout_log, stderr_log;    ///< paths "stdout" / "stderr"
  bool output_truncated = false, logs_truncated = false;
  bool operator==(const ResultManifest&) const = default;
};

/// The reasons a job can end with; parse_manifest refuses any other.
bool is_valid_reason(std::string_view reason);

/// "2024-05-01T12:00:00.123Z".
std::string rfc3339_utc_ms(std::chrono::system_clock::time_point t);

/// Canonical JSON of the manifest (rules above). Never fails; outputs are written in the order
/// given, so callers keep them sorted (hash_output_tree does).
std::string canonical_json(const ResultManifest& manifest);

/// Strict parse: every field present with the right type, no unknown field, version 1, known
/// reason, 64-hex digests, safe relative output paths sorted and unique. The error
/// (invalid_argument) names the field, e.g. "manifest.outputs[2].size: expected an unsigned integer".
Result<ResultManifest> parse_manifest(std::string_view json);

/// Digests of every regular file under dir, recursively, with relative '/'-separated paths sorted
/// bytewise. Symlinks (never followed), FIFOs, sockets and devices are not results: they are
/// skipped and their relative paths appended to *skipped when given; so are files whose names are
/// not valid UTF-8. Empty directories leave no trace. Fails (not_found / io) when dir cannot be
/// read or a file cannot be hashed.
Result<std::vector<FileDigest>> hash_output_tree(const std::filesystem::path& dir,
                                                 std::vector<std::string>* skipped = nullptr);

/// A manifest with its hash and the node's signature. The signature is Ed25519 over the exact
/// bytes of manifest_json (the canonical JSON).
struct SignedManifest {
  std::string manifest_json;    ///< canonical JSON
  std::string manifest_sha256;  ///< hex SHA-256 of manifest_json
  std::string signature_hex;    ///< 64 bytes, hex
  std::string public_key_hex;   ///< 32 bytes, hex
  std::string peer_id;          ///< libp2p peer id of the same key
};

SignedManifest sign_manifest(const ResultManifest& manifest, const utils::NodeKey& key);

/// manifest.sig.json: canonical JSON {"manifest_sha256","peer_id","public_key","signature"}.
std::string signature_file_json(const SignedManifest& signed_manifest);
/// Parses manifest.sig.json into a SignedManifest whose manifest_json is empty. Fails
/// (invalid_argument) naming the field when one is missing, not a string, or badly encoded.
Result<SignedManifest> parse_signature_file(std::string_view json);

/// True when s is well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF).
bool is_valid_utf8(std::string_view s);

}  // namespace ciro::compute
