//! The sandbox's caps on what one instance can make the host spend, each
//! named by a [`Limit`], and the store limiter that enforces the caps on
//! linear memories, tables and instances.

use std::time::Duration;

use wasmtime::ResourceLimiter;

/// A cap of the sandbox that an instance reached, with its value. Each names
/// the [`crate::policy::SandboxPolicy`] field that sets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// The sum of all the instance's linear memories, bytes.
    Memory(usize),
    /// How many linear memories the instance may have.
    Memories(usize),
    /// How many tables the instance may have.
    Tables(usize),
    /// The sum of the elements of all its tables.
    TableElements(usize),
    /// How many core instances the component may create.
    Instances(usize),
    /// Host resources (requests, responses, streams, pollables...) alive at once.
    Handles(usize),
    /// The in-memory size of one set of HTTP headers the plugin builds.
    HeaderBytes(usize),
    /// Outgoing HTTP requests in flight at once.
    ConcurrentRequests(usize),
    /// Log lines per instance (further lines are dropped).
    LogLines(u64),
    /// Progress events per instance (further events are dropped).
    ProgressEvents(u64),
    /// Denied requests reported per instance (further ones are refused unreported).
    DenialLines(u64),
    /// Response body bytes per instance.
    ResponseBytes(u64),
    /// The wall-clock deadline of one call, instantiation included.
    Deadline(Duration),
}

impl Limit {
    /// The [`crate::policy::SandboxPolicy`] field that sets this cap.
    pub fn setting(&self) -> &'static str {
        match self {
            Limit::Memory(_) => "max_memory_bytes",
            Limit::Memories(_) => "max_memories",
            Limit::Tables(_) => "max_tables",
            Limit::TableElements(_) => "max_table_elements",
            Limit::Instances(_) => "max_instances",
            Limit::Handles(_) => "max_handles",
            Limit::HeaderBytes(_) => "max_header_bytes",
            Limit::ConcurrentRequests(_) => "max_concurrent_requests",
            Limit::LogLines(_) => "max_log_lines",
            Limit::ProgressEvents(_) => "max_progress_events",
            Limit::DenialLines(_) => "max_denial_lines",
            Limit::ResponseBytes(_) => "max_response_bytes",
            Limit::Deadline(_) => "call_timeout",
        }
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::Memory(b) => write!(f, "{} MiB of linear memory", b >> 20)?,
            Limit::Memories(n) => write!(f, "{n} linear memories")?,
            Limit::Tables(n) => write!(f, "{n} tables")?,
            Limit::TableElements(n) => write!(f, "{n} table elements")?,
            Limit::Instances(n) => write!(f, "{n} core instances")?,
            Limit::Handles(n) => write!(f, "{n} host resource handles alive at once")?,
            Limit::HeaderBytes(n) => write!(f, "{n} bytes of HTTP headers in one set")?,
            Limit::ConcurrentRequests(n) => write!(f, "{n} HTTP requests in flight at once")?,
            Limit::LogLines(n) => write!(f, "{n} log lines")?,
            Limit::ProgressEvents(n) => write!(f, "{n} progress events")?,
            Limit::DenialLines(n) => write!(f, "{n} reported denials")?,
            Limit::ResponseBytes(b) => write!(f, "{b} bytes of HTTP responses")?,
            Limit::Deadline(d) => write!(f, "{}s per call", d.as_secs())?,
        }
        write!(f, " (sandbox setting `{}`)", self.setting())
    }
}

/// Enforces the caps on linear memories (their sum), tables (count and the
/// sum of their elements) and core instances, remembering the first cap a
/// refused growth or creation hit and the largest total memory granted.
pub(crate) struct StoreLimiter {
    max_memory: usize,
    max_memories: usize,
    max_tables: usize,
    max_table_elements: usize,
    max_instances: usize,
    memory: usize,
    table_elements: usize,
    /// The largest sum of linear memories granted, bytes.
    pub(crate) peak: usize,
    /// The first cap that refused something.
    pub(crate) tripped: Option<Limit>,
}

impl StoreLimiter {
    /// A limiter with these caps (the policy's `max_memory_bytes`,
    /// `max_memories`, `max_tables`, `max_table_elements`, `max_instances`).
    pub(crate) fn new(
        max_memory: usize,
        max_memories: usize,
        max_tables: usize,
        max_table_elements: usize,
        max_instances: usize,
    ) -> Self {
        StoreLimiter {
            max_memory,
            max_memories,
            max_tables,
            max_table_elements,
            max_instances,
            memory: 0,
            table_elements: 0,
            peak: 0,
            tripped: None,
        }
    }

    fn refuse(&mut self, limit: Limit) -> wasmtime::Result<bool> {
        self.tripped.get_or_insert(limit);
        Err(wasmtime::Error::msg(format!("the sandbox's limit of {limit} was reached")))
    }
}

/// `total - current + desired`, or none when it overflows.
fn grown(total: usize, current: usize, desired: usize) -> Option<usize> {
    total.checked_sub(current)?.checked_add(desired)
}

impl ResourceLimiter for StoreLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        match grown(self.memory, current, desired) {
            Some(total) if total <= self.max_memory => {
                self.memory = total;
                self.peak = self.peak.max(total);
                Ok(true)
            }
            _ => self.refuse(Limit::Memory(self.max_memory)),
        }
    }

    fn table_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        match grown(self.table_elements, current, desired) {
            Some(total) if total <= self.max_table_elements => {
                self.table_elements = total;
                Ok(true)
            }
            _ => self.refuse(Limit::TableElements(self.max_table_elements)),
        }
    }

    fn instances(&self) -> usize {
        self.max_instances
    }

    fn tables(&self) -> usize {
        self.max_tables
    }

    fn memories(&self) -> usize {
        self.max_memories
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> StoreLimiter {
        StoreLimiter::new(100, 1, 8, 10, 16)
    }

    #[test]
    fn memory_is_capped_as_the_sum_of_all_memories() {
        let mut l = limiter();
        assert!(l.memory_growing(0, 60, None).expect("first memory"));
        assert!(l.memory_growing(60, 90, None).expect("it grows"));
        assert!(l.memory_growing(0, 20, None).is_err(), "a second memory may not take the total past 100");
        assert_eq!(l.tripped, Some(Limit::Memory(100)));
        assert_eq!(l.peak, 90);
    }

    #[test]
    fn table_elements_are_capped_as_a_sum_and_overflow_is_refused() {
        let mut l = limiter();
        assert!(l.table_growing(0, 6, None).expect("first table"));
        assert!(l.table_growing(0, 5, None).is_err());
        assert_eq!(l.tripped, Some(Limit::TableElements(10)));
        let mut l = limiter();
        assert!(l.memory_growing(5, usize::MAX, None).is_err(), "no wrap-around");
    }

    #[test]
    fn each_limit_names_its_setting_and_value() {
        let text = Limit::Handles(2048).to_string();
        assert!(text.contains("2048") && text.contains("max_handles"), "{text}");
        assert!(Limit::Deadline(Duration::from_secs(3)).to_string().contains("3s"));
    }
}
