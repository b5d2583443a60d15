#pragma once
// The chain client's SQLite schema: one migration list for its own database file (tables are
// prefixed chain_): pending transactions (NonceManager), event cursors and block checkpoints
// (EventFollower), and a small key/value table (ChainService). Open with
// storage::Database::open(file, chain_migrations()).

#include <vector>

#include "storage/database.h"

namespace ciro::blockchain {

const std::vector<storage::Migration>& chain_migrations();

}  // namespace ciro::blockchain
