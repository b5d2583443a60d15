#include "blockchain/chain_db.h"

namespace ciro::blockchain {

const std::vector<storage::Migration>& chain_migrations() {
  static const std::vector<storage::Migration> m = {
      {1, "chain_tables", R"sql(
CREATE TABLE chain_pending_tx (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account TEXT NOT NULL,
  nonce INTEGER NOT NULL,
  tx_hash TEXT NOT NULL,
  tx_json TEXT NOT NULL,
  label TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,            -- signed | submitted | final | reverted | rejected | dropped
  detail TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL DEFAULT (strftime('%s','now'))
);
CREATE INDEX chain_pending_tx_open ON chain_pending_tx(account, state);
CREATE UNIQUE INDEX chain_pending_tx_hash ON chain_pending_tx(tx_hash);
CREATE TABLE chain_event_cursor (
  name TEXT PRIMARY KEY,
  block INTEGER NOT NULL,          -- the block being delivered
  tx_index INTEGER NOT NULL,       -- last acked event in that block: (tx_index, event_index); -1 = none
  event_index INTEGER NOT NULL
);
CREATE TABLE chain_block_checkpoint (
  name TEXT NOT NULL,
  number INTEGER NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (name, number)
);
CREATE TABLE chain_kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
)sql"},
  };
  return m;
}

}  // namespace ciro::blockchain
