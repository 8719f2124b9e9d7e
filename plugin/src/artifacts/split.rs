//! Reading a large JSON document as a stream of small values.
//!
//! serde_json parses a slice several times faster than a reader (a reader is
//! read byte by byte through `std::io`; in WebAssembly about three times
//! slower than the slice), but a slice means holding the whole artifact. A
//! [`Splitter`] holds only the value being read: it finds where the next
//! value ends with a fast scan (strings are crossed with `memchr`), then the
//! caller parses just those bytes from a slice, or skips them unkept. The
//! artifacts walk their top-level members and the entries of their big maps
//! this way ([`super::Artifact`]); every entry is parsed by serde_json itself,
//! so it is as strict as a whole-document parse.

use std::io::Read;

use serde::de::DeserializeOwned;

/// Bytes asked of the reader per read.
const READ_CHUNK: usize = 256 * 1024;

/// Why a document could not be read, with the byte offset where it was found.
#[derive(Debug)]
pub enum Failure {
    /// The reader failed (a broken download keeps its transport error).
    Io(std::io::Error),
    /// The document ends inside a value.
    Eof(u64),
    /// Not JSON at this offset.
    Syntax(String, u64),
    /// JSON, but not of the expected shape (from serde_json's own parse of
    /// one value, or a member of the wrong kind).
    Data(String, u64),
}

impl Failure {
    fn from_json(e: serde_json::Error, at: u64) -> Failure {
        use serde_json::error::Category;
        match e.classify() {
            Category::Io => Failure::Io(e.into()),
            Category::Eof => Failure::Eof(at),
            Category::Syntax => Failure::Syntax(e.to_string(), at),
            Category::Data => Failure::Data(e.to_string(), at),
        }
    }
}

/// What a member's value is, seen from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `{`.
    Object,
    /// `[`.
    Array,
    /// `null`.
    Null,
    /// A string, number or boolean.
    Scalar,
}

/// A JSON document read from `R` one value at a time; see the module docs.
pub struct Splitter<R> {
    reader: R,
    buf: Vec<u8>,
    /// The next unread byte in `buf`.
    pos: usize,
    /// The document offset of `buf[0]`.
    base: u64,
    eof: bool,
}

impl<R: Read> Splitter<R> {
    /// A splitter over `reader`.
    pub fn new(reader: R) -> Self {
        Splitter { reader, buf: Vec::with_capacity(READ_CHUNK), pos: 0, base: 0, eof: false }
    }

    /// The document offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Reads more of the document into `buf`; false at its end. Bytes before
    /// `keep_from` may be dropped (their offsets stay counted).
    fn fill(&mut self, keep_from: usize) -> Result<bool, Failure> {
        if self.eof {
            return Ok(false);
        }
        if keep_from > 0 && keep_from >= self.buf.len() / 2 {
            self.buf.drain(..keep_from);
            self.base += keep_from as u64;
            self.pos -= keep_from;
        }
        let len = self.buf.len();
        self.buf.resize(len + READ_CHUNK, 0);
        let n = loop {
            match self.reader.read(&mut self.buf[len..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(Failure::Io(e));
                }
            }
        };
        self.buf.truncate(len + n);
        self.eof = n == 0;
        Ok(n > 0)
    }

    /// The next byte that is not whitespace, unread; none at the end.
    pub fn peek(&mut self) -> Result<Option<u8>, Failure> {
        loop {
            while let Some(&b) = self.buf.get(self.pos) {
                if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                    return Ok(Some(b));
                }
                self.pos += 1;
            }
            if !self.fill(self.pos)? {
                return Ok(None);
            }
        }
    }

    /// Consumes `byte` (after whitespace) or fails naming `what` was expected.
    fn expect(&mut self, byte: u8, what: &str) -> Result<(), Failure> {
        match self.peek()? {
            Some(b) if b == byte => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(Failure::Syntax(format!("expected {what}"), self.offset())),
            None => Err(Failure::Eof(self.offset())),
        }
    }

    /// The kind of the next value, unread.
    pub fn kind(&mut self) -> Result<Kind, Failure> {
        Ok(match self.peek()?.ok_or(Failure::Eof(self.offset()))? {
            b'{' => Kind::Object,
            b'[' => Kind::Array,
            b'n' => Kind::Null,
            _ => Kind::Scalar,
        })
    }

    /// Scans the next value; returns where it starts in `buf` and advances
    /// past it. With `keep` false its bytes may be dropped while scanning.
    fn scan(&mut self, keep: bool) -> Result<usize, Failure> {
        let first = self.peek()?.ok_or(Failure::Eof(self.offset()))?;
        let mut start = self.pos;
        let mut at = self.pos + 1;
        let mut depth: u32 = 0;
        let mut in_string = first == b'"';
        match first {
            b'{' | b'[' => depth = 1,
            b'"' => {}
            b'}' | b']' | b',' | b':' => return Err(Failure::Syntax("expected a value".into(), self.offset())),
            _ => {
                // A number, true, false or null: up to the next delimiter.
                loop {
                    match self.buf.get(at) {
                        Some(b) if !matches!(b, b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') => at += 1,
                        Some(_) => break,
                        None => {
                            self.pos = at;
                            let more = self.fill(if keep { start } else { at })?;
                            (start, at) = (self.pos.saturating_sub(at - start), self.pos);
                            if !more {
                                break;
                            }
                        }
                    }
                }
                self.pos = at;
                return Ok(start);
            }
        }
        loop {
            if in_string {
                match memchr::memchr2(b'"', b'\\', &self.buf[at.min(self.buf.len())..]) {
                    Some(i) if self.buf[at + i] == b'"' => {
                        at += i + 1;
                        in_string = false;
                        if depth == 0 {
                            self.pos = at;
                            return Ok(start);
                        }
                        continue;
                    }
                    // A backslash and the byte it escapes, when both are here.
                    Some(i) if at + i + 1 < self.buf.len() => {
                        at += i + 2;
                        continue;
                    }
                    Some(i) => at += i,
                    None => at = self.buf.len(),
                }
            } else {
                while let Some(&b) = self.buf.get(at) {
                    at += 1;
                    match b {
                        b'"' => {
                            in_string = true;
                            break;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                self.pos = at;
                                return Ok(start);
                            }
                        }
                        _ => {}
                    }
                }
                if in_string {
                    continue;
                }
            }
            // The value goes on past what is read: read more.
            self.pos = at;
            let more = self.fill(if keep { start } else { at })?;
            (start, at) = (self.pos.saturating_sub(at - start), self.pos);
            if !more {
                return Err(Failure::Eof(self.offset()));
            }
        }
    }

    /// Parses the next value with serde_json, from a slice of just its bytes.
    pub fn value<T: DeserializeOwned>(&mut self) -> Result<T, Failure> {
        let start = self.scan(true)?;
        let at = self.base + start as u64;
        serde_json::from_slice(&self.buf[start..self.pos]).map_err(|e| Failure::from_json(e, at))
    }

    /// Skips the next value without keeping it.
    pub fn skip(&mut self) -> Result<(), Failure> {
        self.scan(false).map(|_| ())
    }

    /// Calls `each` for every member of the next value: with its key for an
    /// object, with none for each element of an array; a null has none.
    /// Another kind of value is a [`Failure::Data`] naming `what` it should be.
    pub fn members(
        &mut self,
        what: &str,
        mut each: impl FnMut(&mut Self, Option<String>) -> Result<(), Failure>,
    ) -> Result<(), Failure> {
        let (close, object) = match self.kind()? {
            Kind::Null => return self.skip(),
            Kind::Object => (b'}', true),
            Kind::Array => (b']', false),
            Kind::Scalar => return Err(Failure::Data(format!("invalid type: expected {what}"), self.offset())),
        };
        self.pos += 1;
        if self.peek()? == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        loop {
            let key = if object {
                if self.peek()? != Some(b'"') {
                    return Err(Failure::Syntax("expected a key".into(), self.offset()));
                }
                let key: String = self.value()?;
                self.expect(b':', "`:`")?;
                Some(key)
            } else {
                None
            };
            each(self, key)?;
            match self.peek()? {
                Some(b',') => self.pos += 1,
                Some(b) if b == close => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(_) => return Err(Failure::Syntax("expected `,` or the end of the value".into(), self.offset())),
                None => return Err(Failure::Eof(self.offset())),
            }
        }
    }

    /// Checks that nothing but whitespace follows the document.
    pub fn finish(&mut self) -> Result<(), Failure> {
        match self.peek()? {
            None => Ok(()),
            Some(_) => Err(Failure::Syntax("trailing characters".into(), self.offset())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that gives one byte per read: every scan crosses a refill.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else { return Ok(0) };
            if buf.is_empty() {
                return Ok(0);
            }
            buf[0] = first;
            self.0 = rest;
            Ok(1)
        }
    }

    fn walk<R: Read>(mut s: Splitter<R>) -> Result<Vec<(String, serde_json::Value)>, Failure> {
        let mut out = Vec::new();
        s.members("an object", |s, key| {
            let key = key.unwrap_or_default();
            if key == "skip" {
                s.skip()
            } else if key == "big" {
                s.members("a map", |s, k| {
                    out.push((format!("big.{}", k.unwrap_or_default()), s.value()?));
                    Ok(())
                })
            } else {
                out.push((key, s.value()?));
                Ok(())
            }
        })?;
        s.finish()?;
        Ok(out)
    }

    const DOC: &str = r#" {"a": 1, "skip": {"x": ["}", "\"]", {"y": [1, 2.5e3, null]}]},
        "big": {"k1": {"s": "a \\\" b { ["}, "k\u00e9": [true, false], "k3": -0.5},
        "s": "tail \\", "n": null, "t": true, "e": {} } "#;

    #[test]
    fn members_values_and_skips_agree_with_serde_json_at_any_read_size() {
        let whole: serde_json::Value = serde_json::from_str(DOC).unwrap();
        for walked in
            [walk(Splitter::new(DOC.as_bytes())).unwrap(), walk(Splitter::new(Trickle(DOC.as_bytes()))).unwrap()]
        {
            let keys: Vec<&str> = walked.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(keys, ["a", "big.k1", "big.k\u{e9}", "big.k3", "s", "n", "t", "e"]);
            for (key, value) in &walked {
                let expected = match key.strip_prefix("big.") {
                    Some(k) => &whole["big"][k],
                    None => &whole[key.as_str()],
                };
                assert_eq!(value, expected, "{key}");
            }
        }
    }

    #[test]
    fn broken_documents_fail_with_their_kind_and_offset() {
        type Expected = fn(&Failure) -> bool;
        let cases: [(&str, Expected); 7] = [
            (r#"{"a": 1"#, |f| matches!(f, Failure::Eof(_))),
            (r#"{"a": {"b": "#, |f| matches!(f, Failure::Eof(_))),
            (r#"{"a" 1}"#, |f| matches!(f, Failure::Syntax(_, 5))),
            (r#"{"a": 1 "b": 2}"#, |f| matches!(f, Failure::Syntax(_, 8))),
            (r#"{"a": [1, }]}"#, |f| matches!(f, Failure::Syntax(..))),
            (r#"{"big": 5}"#, |f| matches!(f, Failure::Data(_, 8))),
            (r#"{"a": 1} x"#, |f| matches!(f, Failure::Syntax(_, 9))),
        ];
        for (doc, expected) in cases {
            for failure in [walk(Splitter::new(doc.as_bytes())), walk(Splitter::new(Trickle(doc.as_bytes())))] {
                let failure = failure.unwrap_err();
                assert!(expected(&failure), "{doc}: {failure:?}");
            }
        }
    }

    #[test]
    fn a_skipped_value_is_not_kept_while_a_parsed_one_is_bounded_by_its_own_size() {
        let huge = format!(r#"{{"skip": ["{}"], "a": [1, 2]}}"#, "x".repeat(8 << 20));
        let mut s = Splitter::new(huge.as_bytes());
        let mut seen = Vec::new();
        s.members("an object", |s, key| {
            if key.as_deref() == Some("skip") {
                s.skip()?;
                seen.push(s.buf.capacity());
                Ok(())
            } else {
                let v: Vec<u32> = s.value()?;
                assert_eq!(v, [1, 2]);
                Ok(())
            }
        })
        .unwrap();
        assert!(seen[0] <= 4 * READ_CHUNK, "skipping 8 MiB kept {} bytes", seen[0]);
    }

    #[test]
    fn a_reader_error_is_kept() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "slow"))
            }
        }
        let failure = walk(Splitter::new(Broken)).unwrap_err();
        assert!(matches!(failure, Failure::Io(e) if e.kind() == std::io::ErrorKind::TimedOut));
    }
}
