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

/// The default quota of a store: the database may grow to this many bytes.
pub const DEFAULT_MAX_BYTES: u64 = 10 << 30;

/// A key-value store in a SQLite database file, with a quota on the file's size.
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    max_bytes: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.path).finish()
    }
}

fn io(e: rusqlite::Error) -> KvError {
    KvError::Io(format!("the sync history database: {e}"))
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
        let store = SqliteStore { path: path.to_path_buf(), conn: Mutex::new(conn), max_bytes: 0.into() };
        store.set_quota(DEFAULT_MAX_BYTES)?;
        Ok(store)
    }

    /// Sets the quota: a batch that would grow the database beyond `max_bytes`
    /// fails whole with [`KvError::QuotaExceeded`] (batches that only delete
    /// always pass, so pruning works on a full store). A quota below the
    /// current size keeps the store at its size.
    pub fn set_quota(&self, max_bytes: u64) -> anyhow::Result<()> {
        let conn = self.conn()?;
        let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let pages = i64::try_from(max_bytes / page.max(512) as u64).unwrap_or(i64::MAX).max(1);
        let _: i64 = conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| r.get(0))?;
        self.max_bytes.store(max_bytes, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// A write's failure: a full database is the quota's (or the disk's).
    fn write_error(&self, e: rusqlite::Error) -> KvError {
        match e {
            rusqlite::Error::SqliteFailure(code, _) if code.code == rusqlite::ErrorCode::DiskFull => {
                let quota = self.max_bytes.load(std::sync::atomic::Ordering::Relaxed);
                KvError::QuotaExceeded(format!(
                    "the sync history is full: {} reached its quota of {} MiB (or the disk is full); \
                     prune the catalogs of old syncs or raise the quota",
                    self.path.display(),
                    quota >> 20
                ))
            }
            e => io(e),
        }
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
                        set.execute(params![key, value]).map_err(|e| self.write_error(e))?;
                    }
                    KvOp::Delete { key } => {
                        deleted |= delete.execute(params![key]).map_err(|e| self.write_error(e))? > 0;
                    }
                }
            }
        }
        tx.commit().map_err(|e| self.write_error(e))?;
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

    #[test]
    fn a_batch_past_the_quota_fails_whole_and_deleting_still_works() {
        let path = temp_db("quota");
        let store = SqliteStore::open(&path).unwrap();
        store.apply(vec![KvOp::Set { key: "kept".into(), value: vec![1; 100_000] }]).unwrap();
        store.set_quota(1 << 20).unwrap();
        let big = |i: u32| KvOp::Set { key: format!("blob/{i}"), value: vec![2; 300_000] };
        let e = store.apply(vec![big(1), big(2), big(3), big(4)]).unwrap_err();
        match e {
            KvError::QuotaExceeded(m) => {
                assert!(m.contains("quota of 1 MiB") && m.contains("prune the catalogs"), "{m}")
            }
            other => panic!("expected the quota, got {other:?}"),
        }
        assert_eq!(store.list("blob/").unwrap(), Vec::<String>::new(), "nothing of the batch was kept");
        assert_eq!(store.get("kept").unwrap().map(|v| v.len()), Some(100_000), "nothing stored was lost");
        store.apply(vec![big(1)]).unwrap();
        store.apply(vec![KvOp::Delete { key: "kept".into() }, KvOp::Delete { key: "blob/1".into() }]).unwrap();
        assert_eq!(store.data_bytes().unwrap(), 0);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

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
        let quick =
            SqliteStore { path: path.clone(), conn: Mutex::new(Connection::open(&path).unwrap()), max_bytes: 0.into() };
        quick.conn().unwrap().busy_timeout(Duration::from_millis(50)).unwrap();
        let e = quick.apply(vec![KvOp::Set { key: "a".into(), value: b"new".to_vec() }]).unwrap_err();
        assert!(matches!(e, KvError::Io(_)), "{e:?}");
        blocker.execute_batch("ROLLBACK;").unwrap();
        assert_eq!(store.get("a").unwrap().as_deref(), Some(&b"old"[..]));
        assert_eq!(store.get("b").unwrap(), None);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
