//! Any bytes as every artifact kind, then the catalog mapping: no panic, and
//! every refusal is a typed error that names the artifact.
#![no_main]

use libfuzzer_sys::fuzz_target;
use model_sync_plugin::artifacts::manifest::Manifest;
use model_sync_plugin::artifacts::run_results::RunResults;
use model_sync_plugin::artifacts::sources::Sources;
use model_sync_plugin::artifacts::warehouse::WarehouseCatalog;
use model_sync_plugin::artifacts::{self};
use model_sync_plugin::catalog::{self, Inputs};
use model_sync_plugin::error::Error;

fn named(e: &Error) -> bool {
    matches!(e, Error::BadArtifact(m) if m.starts_with("x.json"))
}

fuzz_target!(|data: &[u8]| {
    let manifest = artifacts::parse::<Manifest>("x.json", data);
    let run_results = artifacts::parse::<RunResults>("x.json", data);
    let sources = artifacts::parse::<Sources>("x.json", data);
    let warehouse = artifacts::parse::<WarehouseCatalog>("x.json", data);
    for e in [manifest.as_ref().err(), run_results.as_ref().err(), sources.as_ref().err(), warehouse.as_ref().err()]
        .into_iter()
        .flatten()
    {
        assert!(named(e), "{e:?}");
    }
    if let Ok(m) = manifest {
        let _ = m.metadata.check("x.json", "manifest");
        let c = catalog::build(
            m,
            Inputs { run_results: run_results.ok(), sources: sources.ok(), warehouse: warehouse.ok(), include_code: true },
        );
        let _ = c.counts();
    }
});
