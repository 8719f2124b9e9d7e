//! Catalog entries as stored: each entry is split into its definition (what
//! the project says) and its state (what the last run and checks said), and
//! each part is stored once under the hash of its bytes. A new run of an
//! unchanged project then shares every definition with the previous sync.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_128;

use crate::catalog::{Freshness, Node, RunOutcome, Stat, TestOutcome};
use crate::error::{Error, Result};

/// The content hash of `bytes`: 32 hex digits of XXH3-128 (a fixed,
/// published algorithm, so hashes stay valid across plugin versions).
pub fn hash(bytes: &[u8]) -> String {
    format!("{:032x}", xxh3_128(bytes))
}

/// The key of the stored value with hash `hash`.
pub fn blob_key(hash: &str) -> String {
    format!("{BLOB_PREFIX}{hash}")
}

/// The prefix of every stored entry part.
pub const BLOB_PREFIX: &str = "blob/";

/// The part of an entry that changes with every run. Test outcomes are
/// split: which tests a node has (id, name, column) is part of its
/// definition, how they ended is state, in the same order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct State {
    #[serde(skip_serializing_if = "Option::is_none")]
    last_run: Option<RunOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    freshness: Option<Freshness>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stats: Vec<Stat>,
    /// Status and failures of each of the definition's test outcomes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    outcomes: Vec<(Option<String>, Option<u64>)>,
}

impl State {
    fn is_empty(&self) -> bool {
        self.last_run.is_none()
            && self.freshness.is_none()
            && self.stats.is_empty()
            && self.outcomes.iter().all(|(status, failures)| status.is_none() && failures.is_none())
    }
}

/// An entry's two parts as bytes; the state is none when the entry has none.
pub struct Encoded {
    /// The definition: the node without its state.
    pub definition: Vec<u8>,
    /// The state: last run, freshness, statistics, how its tests ended.
    pub state: Option<Vec<u8>>,
}

/// Splits `node` into its stored parts.
pub fn encode(node: &Node) -> Result<Encoded> {
    let state = State {
        last_run: node.last_run.clone(),
        freshness: node.freshness.clone(),
        stats: node.stats.clone(),
        outcomes: node.test_outcomes.iter().map(|t| (t.status.clone(), t.failures)).collect(),
    };
    let test_outcomes: Vec<TestOutcome> =
        node.test_outcomes.iter().map(|t| TestOutcome { status: None, failures: None, ..t.clone() }).collect();
    let definition = Node { last_run: None, freshness: None, stats: Vec::new(), test_outcomes, ..node.clone() };
    let fail = |e: serde_json::Error| Error::Storage(format!("{} could not be encoded: {e}", node.unique_id));
    Ok(Encoded {
        definition: serde_json::to_vec(&definition).map_err(fail)?,
        state: if state.is_empty() { None } else { Some(serde_json::to_vec(&state).map_err(fail)?) },
    })
}

/// Joins stored parts back into a node.
pub fn decode(definition: &[u8], state: Option<&[u8]>) -> Result<Node> {
    let bad = |e: serde_json::Error| Error::Storage(format!("a stored catalog entry is unreadable: {e}"));
    let mut node: Node = serde_json::from_slice(definition).map_err(bad)?;
    if let Some(state) = state {
        let s: State = serde_json::from_slice(state).map_err(bad)?;
        node.last_run = s.last_run;
        node.freshness = s.freshness;
        node.stats = s.stats;
        for (outcome, (status, failures)) in node.test_outcomes.iter_mut().zip(s.outcomes) {
            outcome.status = status;
            outcome.failures = failures;
        }
    }
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_survives_encoding_and_its_state_is_apart() {
        let node = Node {
            unique_id: "model.p.a".into(),
            resource_type: "model".into(),
            description: "d".into(),
            last_run: Some(RunOutcome {
                status: "success".into(),
                execution_time_secs: Some(1.5),
                ..Default::default()
            }),
            ..Node::default()
        };
        let e = encode(&node).unwrap();
        assert_eq!(decode(&e.definition, e.state.as_deref()).unwrap(), node);
        let rerun = Node {
            last_run: Some(RunOutcome { execution_time_secs: Some(2.0), ..node.last_run.clone().unwrap() }),
            ..node.clone()
        };
        let e2 = encode(&rerun).unwrap();
        assert_eq!(hash(&e.definition), hash(&e2.definition), "a new run does not change the definition");
        assert_ne!(hash(e.state.as_deref().unwrap()), hash(e2.state.as_deref().unwrap()));
        let bare = Node { last_run: None, ..node.clone() };
        assert!(encode(&bare).unwrap().state.is_none());
        let tested = |status: &str| Node {
            test_outcomes: vec![TestOutcome {
                test_id: "test.p.unique_a_id".into(),
                test_name: Some("unique".into()),
                column: Some("id".into()),
                status: Some(status.into()),
                failures: Some(0),
            }],
            ..node.clone()
        };
        let (passed, failed) = (encode(&tested("pass")).unwrap(), encode(&tested("fail")).unwrap());
        assert_eq!(passed.definition, failed.definition, "which tests a node has is its definition");
        assert_ne!(passed.state, failed.state, "how they ended is its state");
        assert_eq!(decode(&failed.definition, failed.state.as_deref()).unwrap(), tested("fail"));
        assert_eq!(hash(b"abc").len(), 32);
        assert_eq!(hash(b"abc"), "06b05ab6733a618578af5f94892f3950", "XXH3-128 of `abc`, as published");
    }
}
