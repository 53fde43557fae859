//! Heka's message signing: an HMAC (MD5 or SHA-1, keyed by a shared secret) over a
//! framed record's message bytes, carried in the framing [`Header`] with the signer's
//! name and key version (feature `signing`).
//!
//! The one definition of that rule for both ends: [`SigningKey::frame`] writes a
//! signed record (what Heka's client library did for `heka-flood`, `heka-sbmgr` and
//! friends, and what hekad-rs's TcpOutput does with `[x.signer]`), and
//! [`SignerKeys::verify`] checks one as Heka's HekaFramingSplitter did: an unsigned
//! record passes with no signer; a signed one passes only when a key is known for
//! `<signer>_<version>` and the digest matches (compared in constant time),
//! otherwise it is rejected.

use std::collections::HashMap;
use std::sync::Arc;

use hmac::{Hmac, Mac};

use crate::framing::{FramingError, frame_with_header};
use crate::{Header, HmacHashFunction};

/// Why a signed record is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No key is configured for this signer and version.
    #[error("signed by {signer:?} with key version {version}, for which no key is configured")]
    UnknownSigner { signer: String, version: u32 },
    /// The header names a hash function Heka does not have.
    #[error("signed by {signer:?} with an unknown hash function {function}")]
    UnknownHash { signer: String, function: i32 },
    /// The digest does not match the message bytes and the key.
    #[error("signature of {signer:?} (key version {version}) does not match the message")]
    Mismatch { signer: String, version: u32 },
}

/// The `hmac_hash` names of Heka's signer config.
pub fn hash_function(name: &str) -> Option<HmacHashFunction> {
    match name.to_ascii_lowercase().as_str() {
        "md5" => Some(HmacHashFunction::Md5),
        "sha1" => Some(HmacHashFunction::Sha1),
        _ => None,
    }
}

/// The HMAC of `msg` under `key` with `function`.
fn digest(function: HmacHashFunction, key: &[u8], msg: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: `new_from_slice` cannot fail.
    match function {
        HmacHashFunction::Md5 => match Hmac::<md5::Md5>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(msg);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        },
        HmacHashFunction::Sha1 => match Hmac::<sha1::Sha1>::new_from_slice(key) {
            Ok(mut mac) => {
                mac.update(msg);
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        },
    }
}

/// Constant-time equality of two digests (length is not secret).
fn same_digest(a: &[u8], b: &[u8]) -> bool {
    !a.is_empty()
        && a.len() == b.len()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a sender signs with: Heka's `{name, hmac_hash, hmac_key, version}`.
#[derive(Clone)]
pub struct SigningKey {
    header: Header,
    key: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("SigningKey")
            .field("signer", &self.header.hmac_signer)
            .field("version", &self.header.hmac_key_version)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The signer `name`, key `version`, hash `function` and secret `key`.
    pub fn new(name: &str, version: u32, function: HmacHashFunction, key: &[u8]) -> SigningKey {
        SigningKey {
            header: Header {
                message_length: 0,
                hmac_hash_function: Some(function as i32),
                hmac_signer: Some(name.to_owned()),
                hmac_key_version: Some(version),
                hmac: None,
            },
            key: key.to_vec(),
        }
    }

    /// Appends one signed record holding `msg_bytes` to `out` (as
    /// [`crate::frame_message`], with the signature in the header).
    pub fn frame(
        &self,
        msg_bytes: &[u8],
        max_message_size: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), FramingError> {
        let function = match self.header.hmac_hash_function {
            Some(1) => HmacHashFunction::Sha1,
            _ => HmacHashFunction::Md5,
        };
        let mut header = self.header.clone();
        header.hmac = Some(digest(function, &self.key, msg_bytes));
        frame_with_header(&header, msg_bytes, max_message_size, out)
    }
}

/// One key a receiver knows: its version, the signer name handed to verified records,
/// the secret.
type VersionKey = (u32, Arc<str>, Vec<u8>);

/// What a receiver verifies with: Heka's `[x.signer.<name>_<version>] hmac_key`.
#[derive(Default)]
pub struct SignerKeys {
    /// Signer name → (key version, the name shared with verified records, key).
    keys: HashMap<String, Vec<VersionKey>>,
}

impl std::fmt::Debug for SignerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the keys.
        let mut names: Vec<String> = self
            .keys
            .iter()
            .flat_map(|(name, v)| {
                v.iter()
                    .map(move |(version, _, _)| format!("{name}_{version}"))
            })
            .collect();
        names.sort();
        f.debug_struct("SignerKeys").field("keys", &names).finish()
    }
}

impl SignerKeys {
    /// Adds the key of `section` (`<signer>_<version>`, Heka's section name: the
    /// version is the number after the last `_`). `Err` says what is wrong with it.
    pub fn insert(&mut self, section: &str, key: &[u8]) -> Result<(), String> {
        let (name, version) = section
            .rsplit_once('_')
            .and_then(|(name, v)| Some((name, v.parse::<u32>().ok()?)))
            .filter(|(name, _)| !name.is_empty())
            .ok_or_else(|| format!("{section:?} is not <signer>_<key version>, e.g. \"ops_0\""))?;
        let versions = self.keys.entry(name.to_owned()).or_default();
        versions.retain(|(v, _, _)| *v != version);
        versions.push((version, Arc::from(name), key.to_vec()));
        Ok(())
    }

    /// True when no key is configured.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks the signature of a record (`header` and its `msg` bytes): `Ok(None)`
    /// for an unsigned record, `Ok(Some(signer))` for a verified one.
    pub fn verify(&self, header: &Header, msg: &[u8]) -> Result<Option<Arc<str>>, VerifyError> {
        let Some(given) = header.hmac.as_deref() else {
            return Ok(None);
        };
        let signer = header.hmac_signer.as_deref().unwrap_or_default();
        let version = header.hmac_key_version.unwrap_or_default();
        let Some((_, name, key)) = self
            .keys
            .get(signer)
            .and_then(|v| v.iter().find(|(v, _, _)| *v == version))
        else {
            return Err(VerifyError::UnknownSigner {
                signer: signer.to_owned(),
                version,
            });
        };
        let function = match header.hmac_hash_function.unwrap_or(0) {
            0 => HmacHashFunction::Md5,
            1 => HmacHashFunction::Sha1,
            function => {
                return Err(VerifyError::UnknownHash {
                    signer: signer.to_owned(),
                    function,
                });
            }
        };
        if same_digest(given, &digest(function, key, msg)) {
            Ok(Some(name.clone()))
        } else {
            Err(VerifyError::Mismatch {
                signer: signer.to_owned(),
                version,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Unframed, frame_message, unframe};

    fn unframed(record: &[u8]) -> (Header, Vec<u8>) {
        match unframe(record, 1 << 20) {
            Unframed::Message {
                header, message, ..
            } => (header, message.to_vec()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn digests_are_heka_s_hmac_md5_and_sha1() {
        // RFC 2202 test case 2 for both.
        let md5 = digest(
            HmacHashFunction::Md5,
            b"Jefe",
            b"what do ya want for nothing?",
        );
        assert_eq!(hex(&md5), "750c783e6ab0b503eaa86e310a5db738");
        let sha1 = digest(
            HmacHashFunction::Sha1,
            b"Jefe",
            b"what do ya want for nothing?",
        );
        assert_eq!(hex(&sha1), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn signed_records_verify_only_with_the_right_key_and_version() {
        let mut keys = SignerKeys::default();
        keys.insert("ops_1", b"secret").unwrap();
        keys.insert("ops_2", b"newer").unwrap();
        for function in [HmacHashFunction::Md5, HmacHashFunction::Sha1] {
            let mut record = Vec::new();
            SigningKey::new("ops", 2, function, b"newer")
                .frame(b"message bytes", 1 << 20, &mut record)
                .unwrap();
            let (header, msg) = unframed(&record);
            assert_eq!(keys.verify(&header, &msg).unwrap().as_deref(), Some("ops"));
            // One byte of the message changed.
            let mut changed = msg.clone();
            changed[0] ^= 1;
            assert!(matches!(
                keys.verify(&header, &changed),
                Err(VerifyError::Mismatch { version: 2, .. })
            ));
        }
        // The right name with the key of another version, an unknown signer.
        let mut record = Vec::new();
        SigningKey::new("ops", 1, HmacHashFunction::Md5, b"newer")
            .frame(b"m", 1 << 20, &mut record)
            .unwrap();
        let (header, msg) = unframed(&record);
        assert!(matches!(
            keys.verify(&header, &msg),
            Err(VerifyError::Mismatch { .. })
        ));
        record.clear();
        SigningKey::new("dev", 0, HmacHashFunction::Md5, b"x")
            .frame(b"m", 1 << 20, &mut record)
            .unwrap();
        let (header, msg) = unframed(&record);
        let err = keys.verify(&header, &msg).unwrap_err();
        assert_eq!(
            err.to_string(),
            "signed by \"dev\" with key version 0, for which no key is configured"
        );
        // Unsigned records pass with no signer, keys or not.
        record.clear();
        frame_message(b"m", 1 << 20, &mut record).unwrap();
        let (header, msg) = unframed(&record);
        assert_eq!(keys.verify(&header, &msg), Ok(None));
        assert_eq!(SignerKeys::default().verify(&header, &msg), Ok(None));
    }

    #[test]
    fn section_names_are_signer_underscore_version() {
        let mut keys = SignerKeys::default();
        assert!(keys.insert("my_team_3", b"k").is_ok());
        assert!(keys.keys.contains_key("my_team"));
        for bad in ["ops", "ops_", "_1", "ops_x", "ops_-1"] {
            assert!(keys.insert(bad, b"k").is_err(), "{bad}");
        }
        assert_eq!(hash_function("SHA1"), Some(HmacHashFunction::Sha1));
        assert_eq!(hash_function("sha256"), None);
        let debug = format!(
            "{keys:?} {:?}",
            SigningKey::new("a", 1, HmacHashFunction::Md5, b"hidden")
        );
        assert!(
            !debug.contains("hidden") && !debug.contains("[107]"),
            "{debug}"
        );
    }
}
