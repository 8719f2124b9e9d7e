//! dbt artifact parsers. Each reads a body as a stream into typed structs that
//! keep only what the catalog needs; unknown fields are skipped unread.

pub mod lenient;
pub mod manifest;
pub mod run_results;
pub mod sources;
pub mod split;
pub mod warehouse;

use std::io::{ErrorKind, Read};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use split::{Failure, Splitter};

/// A dbt artifact that reads itself from a [`Splitter`]: its top-level
/// members one by one, each entry of its big maps parsed alone, what it does
/// not need skipped unkept.
pub trait Artifact: Sized {
    /// Reads the document from `source`, which is at its start.
    fn read<R: Read>(source: &mut Splitter<R>) -> std::result::Result<Self, Failure>;
}

/// The values of an object (keys ignored: dbt repeats them as `unique_id`),
/// the elements of an array, or none for null: what `lenient::map_values`
/// accepts, one entry at a time.
pub fn values<T: DeserializeOwned, R: Read>(source: &mut Splitter<R>) -> std::result::Result<Vec<T>, Failure> {
    let mut out = Vec::new();
    source.members("an object", |s, _| {
        out.push(s.value()?);
        Ok(())
    })?;
    Ok(out)
}

/// Like [`values`], keeping the keys (empty for the elements of an array).
pub fn entries<T: DeserializeOwned, R: Read>(
    source: &mut Splitter<R>,
) -> std::result::Result<Vec<(String, T)>, Failure> {
    let mut out = Vec::new();
    source.members("an object", |s, key| {
        out.push((key.unwrap_or_default(), s.value()?));
        Ok(())
    })?;
    Ok(out)
}

/// The newest schema version of each artifact kind this parser knows.
pub const KNOWN_LATEST: [(&str, u32); 4] = [("manifest", 12), ("run-results", 6), ("sources", 3), ("catalog", 1)];

/// `metadata` of an artifact.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Metadata {
    /// `https://schemas.getdbt.com/dbt/<kind>/v<N>.json`.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub dbt_schema_version: Option<String>,
    /// The dbt version that wrote it (informative only).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub dbt_version: Option<String>,
    /// When it was written.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub generated_at: Option<String>,
    /// The warehouse adapter (`duckdb`, `snowflake`, `bigquery`...), in
    /// manifests: the SQL dialect of compiled code.
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub adapter_type: Option<String>,
}

impl Metadata {
    /// The kind and version number of `dbt_schema_version`.
    pub fn schema(&self) -> Option<(String, u32)> {
        let url = self.dbt_schema_version.as_deref()?;
        let mut parts = url.trim_end_matches(".json").rsplit('/');
        let version = parts.next()?.strip_prefix('v')?.parse().ok()?;
        let kind = parts.next()?.to_string();
        Some((kind, version))
    }

    /// Checks that the artifact is of `kind`; returns a warning when its version
    /// is newer than this parser knows (it is then read best-effort).
    pub fn check(&self, artifact: &str, kind: &str) -> Result<Option<String>> {
        let Some((found, version)) = self.schema() else {
            return Err(Error::BadArtifact(format!(
                "{artifact}: no `metadata.dbt_schema_version`; is this a dbt {kind} file?"
            )));
        };
        if found != kind {
            return Err(Error::BadArtifact(format!("{artifact}: expected a dbt {kind} file, got a {found} file")));
        }
        let latest = KNOWN_LATEST.iter().find(|(k, _)| *k == kind).map_or(0, |(_, v)| *v);
        Ok((version > latest).then(|| {
            format!("{artifact}: schema {kind}/v{version} is newer than v{latest}, which this plugin knows; read best-effort")
        }))
    }
}

/// A reader that counts the bytes read through it and reports the count
/// about every MiB, or every 1% of a known length (for download progress).
pub struct Counting<R, F> {
    inner: R,
    /// Bytes read so far.
    pub bytes: u64,
    report: F,
    next_report: u64,
    every: u64,
}

const REPORT_EVERY: u64 = 1 << 20;

impl<R: Read, F: FnMut(u64)> Counting<R, F> {
    /// Wraps `inner`; `report` is called about every MiB and at the end.
    pub fn new(inner: R, report: F) -> Self {
        Counting { inner, bytes: 0, report, next_report: REPORT_EVERY, every: REPORT_EVERY }
    }

    /// Reports about every 1% of `length` instead (at least every 64 KiB,
    /// at most every MiB), so that a bar moves smoothly on small files and
    /// a huge one costs at most a few thousand reports.
    pub fn of_length(mut self, length: Option<u64>) -> Self {
        if let Some(length) = length {
            self.every = (length / 100).clamp(64 << 10, REPORT_EVERY);
            self.next_report = self.every;
        }
        self
    }
}

impl<R: Read, F: FnMut(u64)> Read for Counting<R, F> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        // About every MiB, and once at the end (so a bar reaches its total).
        let at_end = n == 0 && !buf.is_empty() && self.next_report != u64::MAX;
        if self.bytes >= self.next_report || at_end {
            (self.report)(self.bytes);
            self.next_report = if at_end { u64::MAX } else { self.bytes.saturating_add(self.every) };
        }
        Ok(n)
    }
}

/// The most a gzipped artifact may expand: JSON gzips ten to twenty-fold;
/// far more than that is a compression bomb.
pub const MAX_EXPANSION: u64 = 200;

/// `received` decoded: inflated when `gzip` (refused with `InvalidData` once
/// it has expanded more than [`MAX_EXPANSION`] times the bytes received,
/// plus a MiB), passed through otherwise.
pub fn decoded<'a>(received: impl Read + 'a, gzip: bool) -> Box<dyn Read + 'a> {
    if !gzip {
        return Box::new(received);
    }
    let tally = std::rc::Rc::new(std::cell::Cell::new(0u64));
    let counted = Tally { inner: received, count: tally.clone() };
    Box::new(Inflating { decoder: flate2::read::GzDecoder::new(counted), received: tally, produced: 0 })
}

/// Counts the bytes read through it into a shared cell.
struct Tally<R> {
    inner: R,
    count: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Tally<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get().saturating_add(n as u64));
        Ok(n)
    }
}

/// A gzip decoder that refuses to expand without bound.
struct Inflating<R: Read> {
    decoder: flate2::read::GzDecoder<Tally<R>>,
    received: std::rc::Rc<std::cell::Cell<u64>>,
    produced: u64,
}

impl<R: Read> Read for Inflating<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        // The decoder's own failures (bad header, cut stream, bad checksum)
        // are bad data; the download's pass as they are.
        let n = self.decoder.read(buf).map_err(|e| match crate::http::TransportError::from_io(&e) {
            Some(_) => e,
            None => std::io::Error::new(ErrorKind::InvalidData, format!("bad gzip data: {e}")),
        })?;
        if n == 0 && !buf.is_empty() {
            // The gzip stream has ended: read what follows it (nothing, as a
            // rule) so that the download is counted to its end.
            std::io::copy(self.decoder.get_mut(), &mut std::io::sink())?;
        }
        self.produced = self.produced.saturating_add(n as u64);
        if self.produced > self.received.get().saturating_mul(MAX_EXPANSION).saturating_add(1 << 20) {
            return Err(std::io::Error::new(
                ErrorKind::InvalidData,
                format!("gzip expands more than {MAX_EXPANSION}-fold: refused as a compression bomb"),
            ));
        }
        Ok(n)
    }
}

/// Parses a JSON artifact from a stream into `T`, naming `artifact` in errors.
pub fn parse<T: Artifact>(artifact: &str, body: impl Read) -> Result<T> {
    let mut source = Splitter::new(body);
    let value = T::read(&mut source).and_then(|v| source.finish().map(|()| v));
    value.map_err(|f| failure(artifact, f))
}

fn failure(artifact: &str, f: Failure) -> Error {
    match f {
        // Bad or cut gzip data, or a compression bomb (a failed download
        // keeps its transport error).
        Failure::Io(e) if crate::http::TransportError::from_io(&e).is_none() && e.kind() == ErrorKind::InvalidData => {
            Error::BadArtifact(format!("{artifact} could not be decompressed: {e}"))
        }
        Failure::Io(e) => crate::http::TransportError::of_io(&e, &format!("downloading {artifact}"), "dbt Cloud"),
        Failure::Eof(at) => Error::BadArtifact(format!("{artifact} is truncated: it ends at byte {at} inside a value")),
        Failure::Syntax(e, at) => {
            Error::BadArtifact(format!("{artifact} is not valid JSON: {e} (in the value at byte {at})"))
        }
        Failure::Data(e, at) => Error::BadArtifact(format!(
            "{artifact} does not have the shape of a dbt artifact: {e} (in the value at byte {at})"
        )),
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use super::*;

    #[test]
    fn a_known_length_is_reported_about_every_percent() {
        let body = vec![b' '; 10 << 20];
        let seen = std::cell::RefCell::new(Vec::new());
        let reader = Counting::new(&body[..], |n| seen.borrow_mut().push(n)).of_length(Some(10 << 20));
        std::io::copy(&mut BufReader::with_capacity(8 << 10, reader), &mut std::io::sink()).unwrap();
        let count = seen.borrow().len();
        assert!((95..=102).contains(&count), "{count} reports for 100 percent");
        let small = vec![b' '; 200 << 10];
        let seen = std::cell::RefCell::new(Vec::new());
        let reader = Counting::new(&small[..], |n| seen.borrow_mut().push(n)).of_length(Some(200 << 10));
        std::io::copy(&mut BufReader::with_capacity(8 << 10, reader), &mut std::io::sink()).unwrap();
        assert_eq!(seen.borrow().len(), 4, "every 64 KiB and at the end: {:?}", seen.borrow());
    }

    #[test]
    fn progress_is_reported_about_every_mib_and_once_at_the_end() {
        let body = vec![b' '; (5 << 20) / 2];
        let seen = std::cell::RefCell::new(Vec::new());
        let mut reader = Counting::new(&body[..], |n| seen.borrow_mut().push(n));
        std::io::copy(&mut reader, &mut std::io::sink()).unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(reader.read(&mut buf).unwrap(), 0, "reading past the end again reports nothing more");
        let seen = seen.borrow();
        assert!(seen.len() >= 3 && seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        assert_eq!(seen.last(), Some(&((5 << 20) / 2)), "the last report is the whole size: {seen:?}");
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_gzipped_artifact_is_inflated_and_a_bomb_or_bad_data_is_a_bad_artifact() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Doc {
            a: Vec<u32>,
        }
        impl Artifact for Doc {
            fn read<R: Read>(source: &mut Splitter<R>) -> std::result::Result<Self, Failure> {
                source.value()
            }
        }
        let packed = gzip(br#"{"a": [1, 2, 3]}"#);
        let counted = std::cell::Cell::new(0);
        let received = Counting::new(&packed[..], |n| counted.set(n));
        assert_eq!(parse::<Doc>("doc.json", decoded(received, true)).unwrap(), Doc { a: vec![1, 2, 3] });
        assert_eq!(counted.get(), packed.len() as u64, "the download is counted to its end");
        let plain = br#"{"a": [4]}"#;
        assert_eq!(parse::<Doc>("doc.json", decoded(&plain[..], false)).unwrap(), Doc { a: vec![4] });

        // 64 MiB of spaces gzip to ~64 KiB: a thousand-fold.
        let bomb = gzip(&vec![b' '; 64 << 20]);
        assert!(bomb.len() < 256 << 10, "{}", bomb.len());
        let err = parse::<Doc>("doc.json", decoded(&bomb[..], true)).unwrap_err();
        assert_eq!(err.kind(), "bad-artifact", "{err}");
        assert!(err.message().contains("compression bomb"), "{err}");

        let mut broken = packed.clone();
        broken.truncate(packed.len() / 2);
        broken.extend_from_slice(b"not gzip");
        let err = parse::<Doc>("doc.json", decoded(&broken[..], true)).unwrap_err();
        assert_eq!(err.kind(), "bad-artifact", "{err}");
        let err = parse::<Doc>("doc.json", decoded(&plain[..], true)).unwrap_err();
        assert_eq!(err.kind(), "bad-artifact", "not gzip at all: {err}");
    }

    #[test]
    fn reads_schema_versions() {
        let m = Metadata {
            dbt_schema_version: Some("https://schemas.getdbt.com/dbt/manifest/v12.json".into()),
            ..Default::default()
        };
        assert_eq!(m.schema(), Some(("manifest".into(), 12)));
        assert_eq!(m.check("manifest.json", "manifest").unwrap(), None);
        assert!(m.check("x", "run-results").is_err());
        let newer = Metadata {
            dbt_schema_version: Some("https://schemas.getdbt.com/dbt/manifest/v20.json".into()),
            ..Default::default()
        };
        assert!(newer.check("manifest.json", "manifest").unwrap().is_some());
    }

    #[test]
    fn broken_json_is_a_bad_artifact() {
        #[derive(Deserialize, Debug)]
        struct Doc {
            #[allow(dead_code)]
            a: u32,
        }
        impl Artifact for Doc {
            fn read<R: Read>(source: &mut Splitter<R>) -> std::result::Result<Self, Failure> {
                source.value()
            }
        }
        for body in ["", "{\"a\": 1", "{\"a\": \"x\"}", "[1,2]", "{\"a\":1} trailing", &"[".repeat(100_000)] {
            let err = parse::<Doc>("doc.json", body.as_bytes()).unwrap_err();
            assert_eq!(err.kind(), "bad-artifact", "{body:.20}");
            assert!(err.message().starts_with("doc.json"));
        }
    }
}
