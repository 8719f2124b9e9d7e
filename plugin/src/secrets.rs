//! The one place secrets are taken out of text: every API token made is
//! registered here (by [`crate::token::ApiToken::new`]), and [`scrub`] /
//! [`scrub_bytes`] remove the registered tokens from log lines (the
//! [`crate::log::Logger`]), errors (where they leave the component) and
//! everything written to the history (at its store seam), whatever a server
//! echoed back.

use std::cell::RefCell;

/// What a removed secret reads as.
pub const REDACTED: &str = "<redacted>";

thread_local! {
    /// The tokens made on this thread (the component has one thread).
    static SECRETS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Registers `secret` to be scrubbed from now on (on this thread: the
/// component has one).
pub fn register(secret: &str) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_token_made_is_scrubbed_from_text_and_bytes_and_never_cut_in_half() {
        register("dbtc_EchoedBack42");
        assert_eq!(scrub("a dbtc_EchoedBack42 b dbtc_EchoedBack42"), "a <redacted> b <redacted>");
        let mut bytes = br#"{"d":"dbtc_EchoedBack42","e":"xdbtc_EchoedBack42"}"#.to_vec();
        scrub_bytes(&mut bytes);
        assert_eq!(bytes, br#"{"d":"<redacted>","e":"x<redacted>"}"#.to_vec());
        for max in 0..40 {
            let cut = scrub_cut("0123456789dbtc_EchoedBack42 tail", max);
            assert!(cut.len() <= max && !cut.contains("dbtc_E"), "{max}: {cut}");
        }
    }
}
