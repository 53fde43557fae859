//! The `address` of an HttpOutput: validation, and the redacted form used in logs.
//!
//! Webhook URLs carry their secret in the path or query (Slack's
//! `https://hooks.slack.com/services/T000/B000/XXXX`), sometimes in the userinfo, so
//! the full address is never logged or put in an error: everything that is logged
//! goes through [`redact`], which keeps only `scheme://host[:port]` and replaces the
//! rest with `/…`.

/// Checks that `address` is an absolute `http://` or `https://` URL with a host that
/// the HTTP client accepts. Returns whether it is https. The error text never holds
/// the address itself (only its redacted form).
pub fn validate(address: &str) -> Result<bool, String> {
    let (scheme, rest) = split_scheme(address).ok_or_else(|| {
        format!(
            "must start with http:// or https:// (got {})",
            redact(address)
        )
    })?;
    let https = match scheme.to_ascii_lowercase().as_str() {
        "http" => false,
        "https" => true,
        _ => {
            return Err(format!(
                "scheme must be http or https (got {})",
                redact(address)
            ));
        }
    };
    if host_port(rest).is_empty() {
        return Err(format!("has no host (got {})", redact(address)));
    }
    // The client parses the address once per request: reject here what it would
    // reject there, so a bad address is a configuration error, not a fatal output.
    address
        .parse::<ureq::http::Uri>()
        .map_err(|e| format!("is not a valid URL ({e}): {}", redact(address)))?;
    Ok(https)
}

/// `scheme://host[:port]` followed by `/…` when the address has anything after the
/// authority (path, query or fragment), which may hold a secret. Userinfo
/// (`user:password@`) is dropped. Never fails: a string that is not a URL at all is
/// reduced to `…`.
pub fn redact(address: &str) -> String {
    let Some((scheme, rest)) = split_scheme(address) else {
        return "…".to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let tail = &rest[authority_end..];
    let mut out = String::with_capacity(scheme.len() + 3 + authority_end + 4);
    out.push_str(scheme);
    out.push_str("://");
    out.push_str(host_port(rest));
    if !(tail.is_empty() || tail == "/") {
        out.push_str("/…");
    }
    out
}

/// Splits `scheme://rest`, the scheme being ASCII letters, digits, `+`, `-`, `.`.
fn split_scheme(address: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = address.split_once("://")?;
    let valid = !scheme.is_empty()
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

/// The `host[:port]` of what follows `scheme://`, without any userinfo.
fn host_port(rest: &str) -> &str {
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => &authority[at + 1..],
        None => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_only_scheme_host_and_port() {
        let cases = [
            (
                "https://hooks.slack.com/services/T000/B000/XXXXSECRET",
                "https://hooks.slack.com/…",
            ),
            (
                "http://127.0.0.1:8080/hook?token=SECRET",
                "http://127.0.0.1:8080/…",
            ),
            ("http://example.com?token=SECRET", "http://example.com/…"),
            ("http://example.com#SECRET", "http://example.com/…"),
            ("http://example.com/", "http://example.com"),
            ("http://example.com", "http://example.com"),
            (
                "https://user:SECRET@example.com:8443/x",
                "https://example.com:8443/…",
            ),
            ("http://[::1]:9/a", "http://[::1]:9/…"),
            ("not a url SECRET", "…"),
            ("", "…"),
        ];
        for (address, want) in cases {
            let got = redact(address);
            assert_eq!(got, want, "redact({address:?})");
            assert!(!got.contains("SECRET"), "{got}");
        }
    }

    #[test]
    fn validation_accepts_http_and_https_only() {
        assert_eq!(validate("http://localhost:8080/x"), Ok(false));
        assert_eq!(validate("HTTPS://example.com"), Ok(true));
        for bad in [
            "ftp://example.com/SECRET",
            "example.com/SECRET",
            "http:///SECRET",
            "http://exa mple.com/SECRET",
        ] {
            let err = validate(bad).expect_err(bad);
            assert!(!err.contains("SECRET"), "{bad}: {err}");
        }
    }
}
