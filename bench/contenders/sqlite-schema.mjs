// The SQL both SQLite contenders run (BENCH.md): one table of BLOB keys and values,
// WITHOUT ROWID so the table is the key's B-tree, WAL with synchronous=NORMAL (SQLite's
// documented durable-on-commit-in-WAL, fast setting), every statement prepared once.

export const PRAGMAS = ['PRAGMA journal_mode = WAL', 'PRAGMA synchronous = NORMAL']
export const CREATE = 'CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID'
export const PUT = 'INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)'
export const GET = 'SELECT v FROM kv WHERE k = ?'
export const SCAN = 'SELECT k, v FROM kv ORDER BY k'
export const RANGE = 'SELECT k, v FROM kv WHERE k >= ? ORDER BY k LIMIT ?'
export const FILE = 'kv.sqlite'

// sqlite.org/pragma.html#pragma_synchronous: in WAL mode with NORMAL, a commit is written
// to the WAL without fsync (the WAL is synced at checkpoints); durable across an
// application crash, may roll back after a power loss or OS crash
export const durability = 'write() per commit (WAL append, fsync only at checkpoints): survives a process crash, not a power loss'
