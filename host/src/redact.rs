//! The one place the host takes secrets out of text that came from a plugin
//! or a server, before anything is cut to length, logged, returned or printed.

/// What a redacted secret reads as.
pub const REDACTED: &str = "<redacted>";

/// Removes secrets (the API token) from text. Its `Debug` never shows them.
///
/// ```
/// use model_sync_host::Redactor;
/// let r = Redactor::new(["dbtc_secret_42".to_string()]);
/// assert_eq!(r.redact("sent dbtc_secret_42"), "sent <redacted>");
/// // Cut after redacting: no prefix of the secret survives the cut.
/// assert_eq!(r.redact_cut("xx dbtc_secret_42", 6), "xx <re");
/// assert!(!format!("{r:?}").contains("dbtc_secret_42"));
/// ```
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Redactor({} secrets)", self.secrets.len())
    }
}

impl Redactor {
    /// A redactor of `secrets` (empty ones are ignored).
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        Redactor { secrets: secrets.into_iter().filter(|s| !s.is_empty()).collect() }
    }

    /// Adds `secret` (unless empty or known).
    pub fn add(&mut self, secret: &str) {
        if !secret.is_empty() && !self.secrets.iter().any(|s| s == secret) {
            self.secrets.push(secret.to_string());
        }
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }

    /// `text` redacted, then cut to at most `max` bytes (on a character
    /// boundary). Only the first `max` bytes plus the longest secret are
    /// read, so a huge text costs no more than a short one, and a secret
    /// that straddles the cut is removed whole rather than leaving a prefix.
    pub fn redact_cut(&self, text: &str, max: usize) -> String {
        let longest = self.secrets.iter().map(String::len).max().unwrap_or(0);
        let mut out = self.redact(prefix(text, max.saturating_add(longest)));
        out.truncate(prefix(&out, max).len());
        out
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
pub fn prefix(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_removed_everywhere_and_hidden_from_debug() {
        let r = Redactor::new(["dbtc_SECRET".to_string(), String::new()]);
        assert_eq!(r.redact("a dbtc_SECRET b dbtc_SECRET"), "a <redacted> b <redacted>");
        assert!(!format!("{r:?}").contains("SECRET"));
        assert_eq!(Redactor::default().redact("x"), "x");
    }

    #[test]
    fn no_prefix_of_a_secret_survives_a_cut() {
        let r = Redactor::new(["dbtc_SECRET".to_string()]);
        for max in 0..30 {
            let text = format!("{}dbtc_SECRET tail", "x".repeat(10));
            let cut = r.redact_cut(&text, max);
            assert!(cut.len() <= max, "{max}: {cut}");
            assert!(!cut.contains("dbtc_S"), "{max}: {cut}");
        }
        assert_eq!(prefix("héllo", 2), "h");
    }
}
