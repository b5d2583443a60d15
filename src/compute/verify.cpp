#include "compute/verify.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <system_error>

#include "compute/hash.h"
#include "utils/encoding.h"
#include "utils/identity.h"

namespace ciro::compute {

namespace fs = std::filesystem;

namespace {

// manifest.json of a huge output tree stays far below this; anything larger is not ours.
constexpr std::uintmax_t MAX_JSON_BYTES = 64ull << 20;
// How many differing files one error message lists before summarising.
constexpr std::size_t MAX_LISTED = 20;

Result<std::string> read_small_file(const fs::path& path, const std::string& name) {
  std::error_code ec;
  auto st = fs::symlink_status(path, ec);
  if (ec || !fs::exists(st)) return make_error(Errc::not_found, name + ": missing");
  if (!fs::is_regular_file(st)) return make_error(Errc::invalid_argument, name + ": not a regular file");
  auto size = fs::file_size(path, ec);
  if (ec) return make_error(Errc::io, name + ": " + ec.message());
  if (size > MAX_JSON_BYTES) return make_error(Errc::limit_exceeded, name + ": larger than 64 MiB");
  std::ifstream in(path, std::ios::binary);
  std::string data(static_cast<std::size_t>(size), '\0');
  if (!in.read(data.data(), static_cast<std::streamsize>(data.size()))) return make_error(Errc::io, name + ": read failed");
  return data;
}

std::string to_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

bool looks_like_key_hex(const std::string& s) {
  std::string t = s.rfind("0x", 0) == 0 ? s.substr(2) : s;
  return t.size() == 64 && utils::from_hex(t).has_value();
}

std::string describe(std::uint64_t size, const std::string& sha) {
  return std::to_string(size) + " bytes sha256 " + sha;
}

// Compares one file on disk with its digest; appends a line to `diffs` when they differ.
Result<void> check_file(const fs::path& path, const std::string& name, const FileDigest& want,
                        std::vector<std::string>& diffs, VerifyReport& report) {
  std::error_code ec;
  auto st = fs::symlink_status(path, ec);
  if (ec || !fs::exists(st)) {
    diffs.push_back(name + ": missing (expected " + describe(want.size, want.sha256) + ")");
    return {};
  }
  if (!fs::is_regular_file(st)) {
    diffs.push_back(name + ": not a regular file");
    return {};
  }
  std::uint64_t size = 0;
  CIRO_TRY(std::string sha, sha256_file(path, &size));
  ++report.files_checked;
  report.bytes_hashed += size;
  if (size != want.size) {
    diffs.push_back(name + ": size expected " + std::to_string(want.size) + ", actual " + std::to_string(size));
  } else if (sha != want.sha256) {
    diffs.push_back(name + ": sha256 expected " + want.sha256 + ", actual " + sha);
  }
  return {};
}

Result<void> write_file(const fs::path& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return make_error(Errc::io, path.string() + ": write failed");
  return {};
}

Result<void> copy_regular(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  auto st = fs::symlink_status(from, ec);
  if (ec || !fs::exists(st)) return make_error(Errc::not_found, from.string() + ": missing");
  if (!fs::is_regular_file(st)) return make_error(Errc::invalid_argument, from.string() + ": not a regular file");
  fs::create_directories(to.parent_path(), ec);
  if (ec) return make_error(Errc::io, to.parent_path().string() + ": " + ec.message());
  fs::copy_file(from, to, fs::copy_options::overwrite_existing, ec);
  if (ec) return make_error(Errc::io, "copy " + from.string() + " -> " + to.string() + ": " + ec.message());
  return {};
}

}  // namespace

Result<VerifyReport> verify_result_dir(const fs::path& dir, std::optional<std::string> expected) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return make_error(Errc::not_found, dir.string() + ": not a directory");
  VerifyReport report;

  CIRO_TRY(std::string manifest_bytes, read_small_file(dir / MANIFEST_FILE, MANIFEST_FILE));
  CIRO_TRY(std::string sig_bytes, read_small_file(dir / SIGNATURE_FILE, SIGNATURE_FILE));
  CIRO_TRY(SignedManifest sig, parse_signature_file(sig_bytes));
  CIRO_TRY(ResultManifest manifest, parse_manifest(manifest_bytes));

  std::string canonical = canonical_json(manifest);
  if (canonical != manifest_bytes) {
    auto mismatch = std::mismatch(canonical.begin(), canonical.end(), manifest_bytes.begin(), manifest_bytes.end());
    return make_error(Errc::invalid_argument,
                      std::string(MANIFEST_FILE) + ": not in canonical form (first difference at byte " +
                          std::to_string(mismatch.first - canonical.begin()) + ")");
  }
  std::string actual_sha = sha256_hex(manifest_bytes);
  if (actual_sha != sig.manifest_sha256) {
    return make_error(Errc::conflict, std::string(MANIFEST_FILE) + ": sha256 expected " + sig.manifest_sha256 +
                                          " (from " + SIGNATURE_FILE + "), actual " + actual_sha);
  }

  auto key_bytes = utils::from_hex(sig.public_key_hex);
  utils::Ed25519PublicKey public_key{};
  std::copy(key_bytes->begin(), key_bytes->end(), public_key.begin());  // length checked by the parser
  std::string key_peer_id = utils::peer_id_string(public_key);
  if (key_peer_id != sig.peer_id) {
    return make_error(Errc::permission_denied, std::string(SIGNATURE_FILE) + ": public_key " + sig.public_key_hex +
                                                   " is peer " + key_peer_id + ", not peer_id " + sig.peer_id);
  }
  auto sig_bytes_raw = utils::from_hex(sig.signature_hex);
  std::span<const std::uint8_t> message(reinterpret_cast<const std::uint8_t*>(manifest_bytes.data()),
                                        manifest_bytes.size());
  if (!utils::ed25519_verify(public_key, message, *sig_bytes_raw)) {
    return make_error(Errc::permission_denied, std::string(SIGNATURE_FILE) +
                                                   ": signature does not verify for public_key " +
                                                   sig.public_key_hex + " over " + MANIFEST_FILE);
  }
  if (manifest.peer_id != sig.peer_id) {
    return make_error(Errc::permission_denied, "manifest.peer_id " + manifest.peer_id +
                                                   " differs from the signer's peer id " + sig.peer_id);
  }
  if (expected) {
    bool matches = looks_like_key_hex(*expected)
                       ? to_lower(expected->rfind("0x", 0) == 0 ? expected->substr(2) : *expected) == sig.public_key_hex
                       : *expected == sig.peer_id;
    if (!matches) {
      return make_error(Errc::permission_denied, "signed by peer " + sig.peer_id + " (public key " +
                                                     sig.public_key_hex + "), expected " + *expected);
    }
  }

  // Content: every listed output, nothing else under outputs/, and the logs.
  std::vector<std::string> diffs;
  const fs::path outputs_dir = dir / OUTPUTS_DIR;
  std::vector<std::string> skipped;
  std::vector<FileDigest> present;
  if (fs::exists(fs::symlink_status(outputs_dir, ec))) {
    if (!fs::is_directory(fs::symlink_status(outputs_dir, ec))) {
      return make_error(Errc::invalid_argument, std::string(OUTPUTS_DIR) + ": not a directory");
    }
    // Listing first (without hashing) so a missing or extra file is reported even in huge trees.
    for (fs::recursive_directory_iterator it(outputs_dir, fs::directory_options::none, ec), end; !ec && it != end;
         it.increment(ec)) {
      auto st = it->symlink_status(ec);
      if (ec) break;
      if (fs::is_directory(st)) continue;
      std::string rel = it->path().lexically_relative(outputs_dir).generic_string();
      if (!fs::is_regular_file(st)) {
        skipped.push_back(rel);
      } else {
        present.push_back(FileDigest{rel, 0, {}});
      }
    }
    if (ec) return make_error(Errc::io, outputs_dir.string() + ": cannot list: " + ec.message());
  }
  std::sort(skipped.begin(), skipped.end());
  for (const std::string& s : skipped) diffs.push_back(std::string(OUTPUTS_DIR) + "/" + s + ": not a regular file");
  std::map<std::string, bool> listed;
  for (const FileDigest& d : manifest.outputs) listed[d.path] = true;
  std::sort(present.begin(), present.end(), [](const FileDigest& a, const FileDigest& b) { return a.path < b.path; });
  for (const FileDigest& p : present) {
    if (!listed.count(p.path)) diffs.push_back(std::string(OUTPUTS_DIR) + "/" + p.path + ": extra file not in the manifest");
  }
  for (const FileDigest& d : manifest.outputs) {
    CIRO_TRY_VOID(check_file(outputs_dir / d.path, std::string(OUTPUTS_DIR) + "/" + d.path, d, diffs, report));
  }
  CIRO_TRY_VOID(check_file(dir / STDOUT_FILE, STDOUT_FILE, manifest.stdout_log, diffs, report));
  CIRO_TRY_VOID(check_file(dir / STDERR_FILE, STDERR_FILE, manifest.stderr_log, diffs, report));
  if (!diffs.empty()) {
    std::string msg = "result content differs from the signed manifest: ";
    for (std::size_t i = 0; i < diffs.size() && i < MAX_LISTED; ++i) msg += (i ? "; " : "") + diffs[i];
    if (diffs.size() > MAX_LISTED) msg += "; and " + std::to_string(diffs.size() - MAX_LISTED) + " more";
    return make_error(Errc::conflict, msg);
  }

  report.manifest = std::move(manifest);
  sig.manifest_json = std::move(manifest_bytes);
  report.signature = std::move(sig);
  return report;
}

Result<void> write_result_dir(const fs::path& dir, const SignedManifest& signed_manifest,
                              const fs::path& outputs_source_dir, const fs::path& stdout_file,
                              const fs::path& stderr_file) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(dir, ec))) return make_error(Errc::already_exists, dir.string() + ": already exists");
  CIRO_TRY(ResultManifest manifest, parse_manifest(signed_manifest.manifest_json));

  fs::path tmp = dir;
  tmp += ".partial";
  fs::remove_all(tmp, ec);  // leftover of an interrupted write
  fs::create_directories(tmp / OUTPUTS_DIR, ec);
  if (ec) return make_error(Errc::io, (tmp / OUTPUTS_DIR).string() + ": " + ec.message());
  auto fail = [&](Error e) -> Result<void> {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
    return e;
  };

  if (auto r = write_file(tmp / MANIFEST_FILE, signed_manifest.manifest_json); !r) return fail(std::move(r).error());
  if (auto r = write_file(tmp / SIGNATURE_FILE, signature_file_json(signed_manifest)); !r) return fail(std::move(r).error());
  for (const FileDigest& d : manifest.outputs) {
    // parse_manifest guarantees d.path is relative without "..", so both joins stay inside.
    if (auto r = copy_regular(outputs_source_dir / d.path, tmp / OUTPUTS_DIR / d.path); !r) return fail(std::move(r).error());
  }
  const std::pair<const fs::path*, const char*> logs[] = {{&stdout_file, STDOUT_FILE}, {&stderr_file, STDERR_FILE}};
  for (const auto& [source, name] : logs) {
    auto r = source->empty() ? write_file(tmp / name, "") : copy_regular(*source, tmp / name);
    if (!r) return fail(std::move(r).error());
  }
  fs::rename(tmp, dir, ec);
  if (ec) return fail(make_error(Errc::io, "rename " + tmp.string() + " -> " + dir.string() + ": " + ec.message()));
  return {};
}

}  // namespace ciro::compute
