//! The API token, wrapped so that it cannot leak through `Debug` or
//! `Display`; every token made is registered with [`crate::secrets`], which
//! takes it out of everything that leaves the plugin.

use std::fmt;

/// The shortest token accepted: real ones are dozens of characters, and a
/// short one could not be scrubbed without mangling ordinary text.
pub const MIN_TOKEN_LEN: usize = 8;

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
        crate::secrets::register(raw);
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
        assert_eq!(crate::secrets::scrub("x dbtc_secret123 y"), "x <redacted> y");
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
