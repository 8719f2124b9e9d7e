//! The parsers against anything the network could send: every truncation of a
//! real manifest, thousands of seeded random mutations, wrong kinds, empty and
//! deeply nested documents. Nothing may panic; every failure is a typed
//! bad-artifact (or, for broken streams, network) error naming the artifact.
//! (A property test in CI; `fuzz/` holds the same as a cargo-fuzz target.)

use std::io::Read;

use model_sync_plugin::api::retry::Jitter;
use model_sync_plugin::artifacts::manifest::Manifest;
use model_sync_plugin::artifacts::run_results::RunResults;
use model_sync_plugin::artifacts::sources::Sources;
use model_sync_plugin::artifacts::warehouse::WarehouseCatalog;
use model_sync_plugin::artifacts::{self, Metadata};
use model_sync_plugin::catalog::{self, Inputs};
use model_sync_plugin::error::Error;

const MANIFEST: &[u8] = include_bytes!("../../tests/fixtures/corpus/manifest/v7/dbt-core/state/manifest.json");
const RUN_RESULTS: &[u8] =
    include_bytes!("../../tests/fixtures/corpus/run_results/v6/dbt-core/results/run_results.json");
const SOURCES: &[u8] =
    include_bytes!("../../tests/fixtures/corpus/sources/v3/dbt-artifacts-parser-ts/compat/sources_fusion.json");

/// Parses `body` as every artifact kind and builds a catalog from what parses.
fn exercise(body: &[u8]) {
    let check = |e: Error| {
        assert!(matches!(e, Error::BadArtifact(_)), "{e:?}");
        assert!(e.message().starts_with("x.json"), "{e}");
    };
    match artifacts::parse::<Manifest>("x.json", body) {
        Ok(m) => {
            let _ = m.metadata.check("x.json", "manifest");
            let c = catalog::build(m, Inputs::default());
            let _ = c.counts();
        }
        Err(e) => check(e),
    }
    if let Err(e) = artifacts::parse::<RunResults>("x.json", body) {
        check(e)
    }
    if let Err(e) = artifacts::parse::<Sources>("x.json", body) {
        check(e)
    }
    if let Err(e) = artifacts::parse::<WarehouseCatalog>("x.json", body) {
        check(e)
    }
}

#[test]
fn every_truncation_is_a_typed_error() {
    let step = (MANIFEST.len() / 600).max(1);
    for end in (0..MANIFEST.len()).step_by(step) {
        let err = artifacts::parse::<Manifest>("manifest.json", &MANIFEST[..end]).unwrap_err();
        assert!(matches!(err, Error::BadArtifact(_)), "at {end}: {err:?}");
    }
}

#[test]
fn seeded_mutations_never_panic() {
    let mut rng = Jitter::seeded(0x5EED_1234_ABCD_0001);
    let tokens: [&[u8]; 10] = [b"{", b"}", b"[", b"]", b"\"", b",", b":", b"null", b"-1e999", b"\\u0000"];
    for (i, base) in [MANIFEST, RUN_RESULTS, SOURCES].iter().cycle().take(900).enumerate() {
        let mut doc = base.to_vec();
        for _ in 0..1 + rng.next_u64() % 4 {
            let at = (rng.next_u64() as usize) % doc.len().max(1);
            match rng.next_u64() % 3 {
                0 => doc[at] = rng.next_u64() as u8,
                1 => {
                    let t = tokens[(rng.next_u64() % tokens.len() as u64) as usize];
                    doc.splice(at..at, t.iter().copied());
                }
                _ => {
                    let len = (rng.next_u64() as usize % 64).min(doc.len() - at);
                    doc.drain(at..at + len);
                }
            }
        }
        let outcome = std::panic::catch_unwind(|| exercise(&doc));
        assert!(outcome.is_ok(), "mutation {i} panicked");
    }
}

#[test]
fn wrong_kinds_empty_and_deep_documents_are_refused() {
    let rr: Manifest = artifacts::parse("manifest.json", RUN_RESULTS).expect("parses loosely");
    assert!(
        matches!(rr.metadata.check("manifest.json", "manifest"), Err(Error::BadArtifact(m)) if m.contains("run-results"))
    );
    for body in [&b""[..], b"   ", b"null", b"[]", b"42", b"\"manifest\""] {
        // Either the parse or the schema check refuses it; both name the artifact.
        let refused = match artifacts::parse::<Manifest>("manifest.json", body) {
            Err(e) => e,
            Ok(m) => m.metadata.check("manifest.json", "manifest").expect_err("no schema version"),
        };
        assert!(matches!(refused, Error::BadArtifact(ref m) if m.starts_with("manifest.json")), "{body:?}");
    }
    let deep = format!("{{\"nodes\": {{\"a\": {{\"meta\": {}1{}}}}}}}", "[".repeat(200_000), "]".repeat(200_000));
    assert!(matches!(artifacts::parse::<Manifest>("manifest.json", deep.as_bytes()), Err(Error::BadArtifact(_))));
    let no_meta: Manifest = artifacts::parse("manifest.json", &b"{\"nodes\": {}}"[..]).expect("parses");
    assert!(no_meta.metadata.check("manifest.json", "manifest").is_err());
    let html: Result<Manifest, _> = artifacts::parse("manifest.json", &b"<html>502</html>"[..]);
    assert!(matches!(html, Err(Error::BadArtifact(_))));
    let _ = Metadata::default();
}

#[test]
fn a_stream_that_breaks_is_a_network_error() {
    struct Broken(usize);
    impl Read for Broken {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 >= MANIFEST.len() / 2 {
                return Err(std::io::Error::other("connection reset"));
            }
            let n = buf.len().min(MANIFEST.len() / 2 - self.0);
            buf[..n].copy_from_slice(&MANIFEST[self.0..self.0 + n]);
            self.0 += n;
            Ok(n)
        }
    }
    let err = artifacts::parse::<Manifest>("manifest.json", Broken(0)).unwrap_err();
    assert!(matches!(err, Error::Network(ref m) if m.contains("manifest.json")), "{err:?}");
}
