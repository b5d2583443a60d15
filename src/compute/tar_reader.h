#pragma once
// TarReader: an incremental tar parser (ustar, GNU long names 'L'/'K', pax 'x' path/linkpath/size).
// Pure: bytes in, events out; no I/O, no allocation beyond the current header and long-name
// buffers. Fed by the /output collector with the chunks of GET /containers/{id}/archive.
// Not thread-safe; one reader per archive.

#include <cstdint>
#include <string>
#include <string_view>

#include "utils/result.h"

namespace ciro::compute {

enum class TarEntryType { file, directory, symlink, hardlink, other };

struct TarEntry {
  std::string path;         ///< as written in the archive (pax/GNU long name applied)
  TarEntryType type = TarEntryType::other;
  char typeflag = '0';      ///< the raw ustar typeflag
  std::uint64_t size = 0;   ///< bytes of content that follow (0 for non-files)
  std::uint32_t mode = 0;
  std::string link_target;  ///< for symlinks and hardlinks
};

/// Receives the archive's events in order: on_entry, on_data* (files only), on_entry_end.
/// Returning an error stops the reader; feed() then returns that error.
class TarVisitor {
 public:
  virtual ~TarVisitor() = default;
  virtual Result<void> on_entry(const TarEntry& entry) = 0;
  virtual Result<void> on_data(std::string_view data) = 0;
  virtual Result<void> on_entry_end() = 0;
};

class TarReader {
 public:
  /// Upper bound on a GNU long name or a pax header block (a malformed archive cannot make us
  /// buffer more than this).
  static constexpr std::uint64_t MAX_META_BYTES = 1 << 20;

  /// Consumes a chunk. Returns an Errc::protocol error on a malformed archive (bad checksum,
  /// bad number field, oversized metadata) or the visitor's error; afterwards the reader is
  /// failed and every call returns the same error.
  Result<void> feed(std::string_view data, TarVisitor& visitor);

  /// Call at the end of input: an error when the archive stopped in the middle of an entry.
  /// An archive that ends right after an entry without the two zero blocks is accepted (some
  /// engines omit them).
  Result<void> finish() const;

  /// True once the end-of-archive marker (a zero block) was read.
  bool at_end() const noexcept { return m_state == State::end; }

 private:
  enum class State { header, data, meta, padding, end, failed };

  Result<void> fail(Error error);
  Result<void> on_header(TarVisitor& visitor);
  Result<void> on_meta_complete();

  State m_state = State::header;
  std::string m_block;              // partial 512-byte header
  std::uint64_t m_remaining = 0;    // content bytes left in the current entry
  std::uint64_t m_padding = 0;      // padding bytes left after the content
  char m_meta_type = 0;             // 'L', 'K', 'x', 'g' while State::meta
  std::string m_meta;               // content of a meta entry being read
  std::string m_next_path;          // from a GNU 'L' or pax path, for the next entry
  std::string m_next_link;
  bool m_has_next_size = false;
  std::uint64_t m_next_size = 0;
  bool m_in_entry = false;          // a visitor entry is open (data pending)
  Error m_error;
};

}  // namespace ciro::compute
