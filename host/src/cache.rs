//! The compile cache: compiled components on disk, loaded only when they are
//! provably ours.
//!
//! Loading a compiled component is unsafe deserialisation (the bytes become
//! machine code), so a cached file is used only when
//! - the cache directory is owned by this user and not writable by group or
//!   others (unix), so no one else can have put or replaced it;
//! - it is found under the SHA-256 of the component and the engine's
//!   configuration, so another component or engine never loads it;
//! - its own SHA-256, written beside it when it was stored, matches its bytes,
//!   checked on the bytes that are then loaded (no window to swap the file).
//!
//! Files are written under an exclusive, unique temporary name at mode 0600
//! and renamed into place, so concurrent compiles never see half a file. A
//! directory that cannot be trusted is refused with what would fix it; a
//! cached file that fails its checks is compiled again.

use std::path::{Path, PathBuf};

use crate::private::{open_private_dir, write_private};

use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a component's compiled form lives in `dir`, and its checksum file.
fn paths(engine: &Engine, wasm: &[u8], dir: &Path) -> (PathBuf, PathBuf) {
    let mut compat = Vec::new();
    {
        use std::hash::{Hash, Hasher};
        struct Collect<'a>(&'a mut Vec<u8>);
        impl Hasher for Collect<'_> {
            fn finish(&self) -> u64 {
                0
            }
            fn write(&mut self, bytes: &[u8]) {
                self.0.extend_from_slice(bytes);
            }
        }
        engine.precompile_compatibility_hash().hash(&mut Collect(&mut compat));
    }
    let key = sha256_hex(&[wasm, &compat]);
    (dir.join(format!("{key}.cwasm")), dir.join(format!("{key}.sha256")))
}

/// The compiled component from the cache when it is there and trusted.
fn load(engine: &Engine, file: &Path, checksum: &Path) -> Option<Component> {
    let expected = std::fs::read_to_string(checksum).ok()?;
    let bytes = std::fs::read(file).ok()?;
    if sha256_hex(&[&bytes]) != expected.trim() {
        return None;
    }
    // SAFETY: these bytes were written by `Component::serialize` of an engine
    // with this configuration and wasmtime version (both are in the file's
    // name, by way of the compatibility hash), in a directory only this user
    // can write, and they match the checksum stored beside them; they are the
    // very bytes checked.
    unsafe { Component::deserialize(engine, &bytes) }.ok()
}

/// Loads `wasm` compiled: from `cache_dir` when a trusted compiled form is
/// there, else by compiling it and storing the result. A cache directory
/// that is not this user's, or that others may write to, is an error.
pub fn load_component(engine: &Engine, wasm: &[u8], cache_dir: Option<&Path>) -> anyhow::Result<Component> {
    let Some(dir) = cache_dir else {
        return Ok(Component::new(engine, wasm)?);
    };
    open_private_dir(dir).map_err(|e| anyhow::anyhow!("the compile cache: {e}"))?;
    let (file, checksum) = paths(engine, wasm, dir);
    if let Some(component) = load(engine, &file, &checksum) {
        return Ok(component);
    }
    let component = Component::new(engine, wasm)?;
    let bytes = component.serialize()?;
    if write_private(&file, &bytes).is_ok() {
        let _ = write_private(&checksum, sha256_hex(&[&bytes]).as_bytes());
    }
    Ok(component)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component: no imports, no exports.
    const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("model-sync-cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn cached(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn a_component_is_cached_privately_and_a_tampered_file_is_not_loaded() {
        let engine = Engine::default();
        let dir = temp("tamper");
        load_component(&engine, EMPTY, Some(&dir)).expect("compiles");
        let names = cached(&dir);
        assert_eq!(names.len(), 2, "the compiled file and its checksum: {names:?}");
        let (file, _) = paths(&engine, EMPTY, &dir);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
        }
        let (file_path, checksum) = paths(&engine, EMPTY, &dir);
        assert!(load(&engine, &file_path, &checksum).is_some(), "a file we wrote is loaded");
        let mut bytes = std::fs::read(&file).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&file, &bytes).unwrap();
        assert!(load(&engine, &file_path, &checksum).is_none(), "a changed file is refused");
        load_component(&engine, EMPTY, Some(&dir)).expect("compiles again instead");
        assert!(load(&engine, &file_path, &checksum).is_some(), "and the good file is back");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp("shared");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let Err(e) = load_component(&Engine::default(), EMPTY, Some(&dir)) else { panic!("refused") };
        let e = e.to_string();
        assert!(e.contains("compile cache") && e.contains("chmod go-w"), "{e}");
        assert!(cached(&dir).is_empty(), "nothing was loaded from it or written to it");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn different_components_and_engines_never_share_a_file() {
        let engine = Engine::default();
        let dir = temp("keys");
        let mut other = wasmtime::Config::new();
        other.epoch_interruption(true);
        let other = Engine::new(&other).unwrap();
        let a = paths(&engine, EMPTY, &dir).0;
        assert_ne!(a, paths(&other, EMPTY, &dir).0, "engine settings are in the key");
        assert_ne!(a, paths(&engine, b"\0asm\x0d\0\x01\0\0", &dir).0, "the component is in the key");
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (engine, dir) = (engine.clone(), dir.clone());
                std::thread::spawn(move || load_component(&engine, EMPTY, Some(&dir)).map(|_| ()))
            })
            .collect();
        for t in threads {
            t.join().unwrap().expect("each concurrent compile succeeds");
        }
        assert_eq!(cached(&dir).len(), 2, "no temporary file is left: {:?}", cached(&dir));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
