//! The provided [`KvStore`]: one SQLite database file (bundled SQLite, WAL).
//!
//! Each batch is one immediate transaction, so a crash leaves the database as
//! it was before or after the batch. In WAL mode readers (other handles, other
//! processes) read the last committed state while a writer writes. Deleted
//! space is given back to the file system after each batch that deletes
//! (incremental vacuum).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::kv::{KvError, KvOp, KvStore};
use crate::private::{create_private_file, open_private_dir};

/// How long a handle waits for another's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// A key-value store in a SQLite database file.
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish()
    }
}

fn io(e: rusqlite::Error) -> KvError {
    match e {
        rusqlite::Error::SqliteFailure(code, _) if code.code == rusqlite::ErrorCode::DiskFull => {
            KvError::QuotaExceeded("the disk holding the sync history is full".into())
        }
        e => KvError::Io(format!("the sync history database: {e}")),
    }
}

impl SqliteStore {
    /// Opens (creating it, and its directory owner-only) the database at `path`.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            open_private_dir(dir)?;
        }
        // Created 0600 before SQLite opens it (its journal files take its mode).
        drop(create_private_file(path)?);
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Must precede the first table to take effect.
        conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL;")?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        anyhow::ensure!(mode.eq_ignore_ascii_case("wal"), "{}: SQLite refused WAL mode ({mode})", path.display());
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY NOT NULL, value BLOB NOT NULL);",
        )?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(SqliteStore { path: path.to_path_buf(), conn: Mutex::new(conn) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, KvError> {
        self.conn.lock().map_err(|_| KvError::Io("the sync history's handle is poisoned".into()))
    }

    /// The bytes of every key and value stored (the data, without SQLite's
    /// own overhead).
    pub fn data_bytes(&self) -> Result<u64, KvError> {
        let conn = self.conn()?;
        let n: i64 = conn
            .query_row("SELECT COALESCE(SUM(length(key) + length(value)), 0) FROM kv", [], |r| r.get(0))
            .map_err(io)?;
        Ok(n.max(0) as u64)
    }

    /// The size of the database on disk: the file and its write-ahead log.
    pub fn file_bytes(&self) -> u64 {
        let len = |p: PathBuf| std::fs::metadata(p).map_or(0, |m| m.len());
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        len(self.path.clone()) + len(PathBuf::from(wal))
    }

    /// Moves the write-ahead log into the database file and truncates it.
    pub fn checkpoint(&self) -> Result<(), KvError> {
        let conn = self.conn()?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(io)
    }
}

impl KvStore for SqliteStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached("SELECT value FROM kv WHERE key = ?1").map_err(io)?;
        stmt.query_row(params![key], |r| r.get(0)).optional().map_err(io)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, KvError> {
        let conn = self.conn()?;
        // Keys are ASCII below DEL, so every key with the prefix sorts before `prefix` + DEL.
        let end = format!("{prefix}\u{7f}");
        let mut stmt =
            conn.prepare_cached("SELECT key FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key").map_err(io)?;
        let rows = stmt.query_map(params![prefix, end], |r| r.get::<_, String>(0)).map_err(io)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(io)
    }

    fn apply(&self, ops: Vec<KvOp>) -> Result<(), KvError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(io)?;
        let mut deleted = false;
        {
            let mut set = tx.prepare_cached("INSERT OR REPLACE INTO kv (key, value) VALUES (?1, ?2)").map_err(io)?;
            let mut delete = tx.prepare_cached("DELETE FROM kv WHERE key = ?1").map_err(io)?;
            for op in &ops {
                match op {
                    KvOp::Set { key, value } => {
                        set.execute(params![key, value]).map_err(io)?;
                    }
                    KvOp::Delete { key } => {
                        deleted |= delete.execute(params![key]).map_err(io)? > 0;
                    }
                }
            }
        }
        tx.commit().map_err(io)?;
        if deleted {
            // The pragma frees one page per step: step it to the end.
            let mut vacuum = conn.prepare_cached("PRAGMA incremental_vacuum").map_err(io)?;
            let mut rows = vacuum.query([]).map_err(io)?;
            while rows.next().map_err(io)?.is_some() {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_db(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("model-sync-sqlite-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("history.sqlite")
    }

    #[test]
    fn stores_lists_deletes_and_shrinks() {
        let path = temp_db("basic");
        let store = SqliteStore::open(&path).unwrap();
        let set = |k: &str, n: usize| KvOp::Set { key: k.into(), value: vec![7; n] };
        store.apply(vec![set("sync/2", 1), set("sync/1", 1), set("synd", 1), set("blob/a", 4 << 20)]).unwrap();
        assert_eq!(store.list("sync/").unwrap(), vec!["sync/1", "sync/2"]);
        assert_eq!(store.list("").unwrap().len(), 4);
        assert_eq!(store.get("blob/a").unwrap().map(|v| v.len()), Some(4 << 20));
        assert_eq!(store.get("nope").unwrap(), None);
        store.checkpoint().unwrap();
        let full = store.file_bytes();
        store.apply(vec![KvOp::Delete { key: "blob/a".into() }]).unwrap();
        store.checkpoint().unwrap();
        assert!(store.file_bytes() < full / 2, "deleting gives the space back: {} of {full}", store.file_bytes());
        assert_eq!(store.data_bytes().unwrap(), (6 + 6 + 4) + 3);
        // A second handle (as another process would) sees what the first committed.
        let other = SqliteStore::open(&path).unwrap();
        assert_eq!(other.list("sync/").unwrap().len(), 2);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_failing_batch_leaves_nothing_behind() {
        let path = temp_db("atomic");
        let store = SqliteStore::open(&path).unwrap();
        store.apply(vec![KvOp::Set { key: "a".into(), value: b"old".to_vec() }]).unwrap();
        // Hold the write lock from another handle so that the batch cannot commit.
        let blocker = Connection::open(&path).unwrap();
        blocker.execute_batch("BEGIN IMMEDIATE; INSERT INTO kv VALUES ('b', x'00');").unwrap();
        let quick = SqliteStore { path: path.clone(), conn: Mutex::new(Connection::open(&path).unwrap()) };
        quick.conn().unwrap().busy_timeout(Duration::from_millis(50)).unwrap();
        let e = quick.apply(vec![KvOp::Set { key: "a".into(), value: b"new".to_vec() }]).unwrap_err();
        assert!(matches!(e, KvError::Io(_)), "{e:?}");
        blocker.execute_batch("ROLLBACK;").unwrap();
        assert_eq!(store.get("a").unwrap().as_deref(), Some(&b"old"[..]));
        assert_eq!(store.get("b").unwrap(), None);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
