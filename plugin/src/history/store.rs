//! The host's key-value store as the history sees it, and the batches in
//! which the history writes to it.

use crate::error::Error;

/// One write of an atomic batch (the WIT `store-op`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreOp {
    /// Store the value under the key, replacing any value.
    Set(String, Vec<u8>),
    /// Remove the key (absent keys are fine).
    Delete(String),
}

impl StoreOp {
    /// Bytes the operation carries across the component boundary.
    fn size(&self) -> usize {
        match self {
            StoreOp::Set(k, v) => k.len() + v.len(),
            StoreOp::Delete(k) => k.len(),
        }
    }
}

/// The host's key-value store (the WIT `host` interface's `kv-*` calls);
/// errors are messages for people.
pub trait KvStore {
    /// The value of `key`, none when it is absent.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// The keys that start with `prefix`, ascending.
    fn list(&self, prefix: &str) -> Result<Vec<String>, String>;
    /// Applies every operation, in order, as one transaction.
    fn batch(&self, ops: Vec<StoreOp>) -> Result<(), String>;
    /// Writes one value atomically.
    fn set(&self, key: &str, value: &[u8]) -> Result<(), String> {
        self.batch(vec![StoreOp::Set(key.to_string(), value.to_vec())])
    }
}

/// The history's one seam to its store: every value written has every
/// registered token taken out ([`crate::secrets::scrub_bytes`]), whatever a
/// server echoed into a record, a log line or a catalog entry.
pub struct Scrubbing<'a>(pub &'a dyn KvStore);

impl KvStore for Scrubbing<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.0.get(key)
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>, String> {
        self.0.list(prefix)
    }

    fn batch(&self, mut ops: Vec<StoreOp>) -> Result<(), String> {
        for op in &mut ops {
            if let StoreOp::Set(_, value) = op {
                crate::secrets::scrub_bytes(value);
            }
        }
        self.0.batch(ops)
    }
}

/// A history error from a store message.
pub fn storage(e: String) -> Error {
    Error::Storage(format!("the sync history could not be accessed: {e}"))
}

/// Batches keep a store call to about this many bytes.
pub const BATCH_BYTES: usize = 4 << 20;

/// Gathers writes and sends them in batches of about [`BATCH_BYTES`]. Each
/// batch is atomic on its own; what must appear together goes in one
/// [`Batch::commit`].
pub struct Batch<'a> {
    store: &'a dyn KvStore,
    ops: Vec<StoreOp>,
    bytes: usize,
    /// Bytes of values set so far, over every flush.
    pub written: u64,
}

impl<'a> Batch<'a> {
    /// An empty batch on `store`.
    pub fn new(store: &'a dyn KvStore) -> Self {
        Batch { store, ops: Vec::new(), bytes: 0, written: 0 }
    }

    /// Queues an operation, sending the queue first when it is full.
    pub fn push(&mut self, op: StoreOp) -> Result<(), Error> {
        if !self.ops.is_empty() && self.bytes + op.size() > BATCH_BYTES {
            self.flush()?;
        }
        if let StoreOp::Set(_, v) = &op {
            self.written += v.len() as u64;
        }
        self.bytes += op.size();
        self.ops.push(op);
        Ok(())
    }

    /// Sends what is queued.
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.ops.is_empty() {
            return Ok(());
        }
        self.bytes = 0;
        self.store.batch(std::mem::take(&mut self.ops)).map_err(storage)
    }

    /// Sends what is queued and then `last` as one batch of its own, so that
    /// `last` appears all at once after everything before it.
    pub fn commit(mut self, last: Vec<StoreOp>) -> Result<(), Error> {
        self.flush()?;
        self.store.batch(last).map_err(storage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemStore;

    #[test]
    fn a_batch_is_sent_in_parts_of_bounded_size_and_the_commit_last() {
        let store = MemStore::default();
        let mut batch = Batch::new(&store);
        for i in 0..10 {
            batch.push(StoreOp::Set(format!("k{i}"), vec![0; BATCH_BYTES / 3])).unwrap();
        }
        batch.push(StoreOp::Delete("k0".into())).unwrap();
        batch.commit(vec![StoreOp::Set("root".into(), b"r".to_vec())]).unwrap();
        let calls = store.batches();
        assert!(calls.len() >= 4, "{calls:?}");
        assert!(calls.iter().all(|&bytes| bytes <= BATCH_BYTES + 16), "{calls:?}");
        assert_eq!(store.get("k0").unwrap(), None);
        assert_eq!(store.list("k").unwrap().len(), 9);
        assert_eq!(store.get("root").unwrap().as_deref(), Some(&b"r"[..]));
    }
}
