//! The API token, wrapped so that it cannot leak through `Debug` or
//! `Display`, and the one place secrets are taken out of text: every token
//! made is registered, and [`scrub`] / [`scrub_bytes`] remove the registered
//! tokens from log lines (the [`crate::log::Logger`]), errors (at the
//! component boundary) and everything written to the history (at the store
//! seam), whatever a server echoed back.

use std::cell::RefCell;
use std::fmt;

/// What a removed secret reads as.
pub const REDACTED: &str = "<redacted>";

/// The shortest token accepted: real ones are dozens of characters, and a
/// short one could not be scrubbed without mangling ordinary text.
pub const MIN_TOKEN_LEN: usize = 8;

thread_local! {
    /// The tokens made on this thread (the component has one thread).
    static SECRETS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn register(secret: &str) {
    SECRETS.with_borrow_mut(|s| {
        if !s.iter().any(|known| known == secret) {
            s.push(secret.to_string());
        }
    });
}

/// `text` without any registered token.
pub fn scrub(text: &str) -> String {
    SECRETS.with_borrow(|secrets| {
        let mut out = text.to_string();
        for s in secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    })
}

/// `text` scrubbed, then cut to at most `max` bytes on a character boundary
/// (scrubbing first, so that no prefix of a token survives the cut).
pub fn scrub_cut(text: &str, max: usize) -> String {
    let mut out = scrub(text);
    if out.len() > max {
        let mut end = max;
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        out.truncate(end);
    }
    out
}

/// Removes every registered token from `bytes` in place (values written to
/// the history: JSON, in which a token needs no escaping).
pub fn scrub_bytes(bytes: &mut Vec<u8>) {
    SECRETS.with_borrow(|secrets| {
        for s in secrets {
            let finder = memchr::memmem::Finder::new(s.as_bytes());
            if finder.find(bytes).is_none() {
                continue;
            }
            let mut out = Vec::with_capacity(bytes.len());
            let mut last = 0;
            for at in finder.find_iter(bytes) {
                out.extend_from_slice(&bytes[last..at]);
                out.extend_from_slice(REDACTED.as_bytes());
                last = at + s.len();
            }
            out.extend_from_slice(&bytes[last..]);
            *bytes = out;
        }
    });
}

/// A dbt Cloud API token. Its `Debug` and `Display` print `<redacted>`; the
/// only way to the secret is [`ApiToken::authorization`], for the one header.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// Wraps a token after checking that it can be sent in a header.
    pub fn new(raw: &str) -> crate::error::Result<Self> {
        let field = "api-token";
        if raw.is_empty() {
            return Err(crate::error::Error::setting(field, "the API token is empty"));
        }
        if raw.len() > 4096 {
            return Err(crate::error::Error::setting(field, "the API token is longer than 4096 bytes"));
        }
        if raw.chars().any(|c| !c.is_ascii_graphic() || c == '"' || c == '\\') {
            return Err(crate::error::Error::setting(
                field,
                "the API token contains spaces, line breaks, quotes, backslashes or non-ASCII characters; paste it again without them",
            ));
        }
        if raw.len() < MIN_TOKEN_LEN {
            return Err(crate::error::Error::setting(
                field,
                format!(
                    "the API token is shorter than {MIN_TOKEN_LEN} characters; paste the whole token (dbt Cloud tokens start with dbtc_ or dbtu_)"
                ),
            ));
        }
        register(raw);
        Ok(ApiToken(raw.to_string()))
    }

    /// The `Authorization` header value (`Bearer <token>`).
    pub fn authorization(&self) -> String {
        format!("Bearer {}", self.0)
    }

    /// A personal (user) token starts with `dbtu_` and carries its user's full rights.
    pub fn is_personal(&self) -> bool {
        self.0.starts_with("dbtu_")
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(<redacted>)")
    }
}

impl fmt::Display for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_secret() {
        let t = ApiToken::new("dbtc_secret123").unwrap();
        assert!(!format!("{t:?} {t}").contains("secret123"));
        assert_eq!(t.authorization(), "Bearer dbtc_secret123");
        assert_eq!(scrub("x dbtc_secret123 y"), "x <redacted> y");
    }

    #[test]
    fn every_token_made_is_scrubbed_from_text_and_bytes_and_never_cut_in_half() {
        ApiToken::new("dbtc_EchoedBack42").unwrap();
        assert_eq!(scrub("a dbtc_EchoedBack42 b dbtc_EchoedBack42"), "a <redacted> b <redacted>");
        let mut bytes = br#"{"d":"dbtc_EchoedBack42","e":"xdbtc_EchoedBack42"}"#.to_vec();
        scrub_bytes(&mut bytes);
        assert_eq!(bytes, br#"{"d":"<redacted>","e":"x<redacted>"}"#.to_vec());
        for max in 0..40 {
            let cut = scrub_cut("0123456789dbtc_EchoedBack42 tail", max);
            assert!(cut.len() <= max && !cut.contains("dbtc_E"), "{max}: {cut}");
        }
    }

    #[test]
    fn rejects_tokens_that_cannot_be_sent() {
        for bad in ["", "a b", "abc\n", "tok\u{e9}n", "dbtc_12", "dbtc_\"quoted"] {
            let err = ApiToken::new(bad).unwrap_err();
            assert_eq!(err.kind(), "invalid-setting", "{bad:?}");
            assert!(!err.message().contains(bad) || bad.is_empty());
        }
    }
}
