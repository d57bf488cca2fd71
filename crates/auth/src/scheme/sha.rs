//! Plain and salted SHA-2 digests: `{SHA256}`, `{SHA512}`, `{SSHA256}`,
//! `{SSHA512}`. Verify-only: these are fast hashes and no longer a good way
//! to store passwords, but many existing Dovecot installations have them.
//!
//! Dovecot stores `base64(digest)` and `base64(digest ‖ salt)`; the `.HEX`
//! suffix switches to hex. Unsalted digests written as bare hex are common
//! too, so a value of exactly twice the digest length in hex digits is read
//! as hex.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::{Encoding, Scheme, VerifyError};

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some(nibble(*hi)? << 4 | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

fn decode(
    scheme: Scheme,
    encoding: Encoding,
    data: &str,
    digest_len: usize,
) -> Result<Vec<u8>, VerifyError> {
    let data = data.trim();
    let hex = match encoding {
        Encoding::Hex => true,
        Encoding::Base64 => false,
        Encoding::Default => {
            matches!(scheme, Scheme::Sha256 | Scheme::Sha512)
                && data.len() == digest_len * 2
                && data.bytes().all(|b| b.is_ascii_hexdigit())
        }
    };
    if hex {
        decode_hex(data).ok_or_else(|| VerifyError::malformed(scheme, "invalid hex"))
    } else {
        STANDARD
            .decode(data)
            .map_err(|e| VerifyError::malformed(scheme, format!("invalid base64: {e}")))
    }
}

pub(super) fn verify(
    scheme: Scheme,
    encoding: Encoding,
    data: &str,
    password: &[u8],
) -> Result<bool, VerifyError> {
    let (digest_len, salted) = match scheme {
        Scheme::Sha256 => (32, false),
        Scheme::Sha512 => (64, false),
        Scheme::Ssha256 => (32, true),
        _ => (64, true),
    };
    let raw = decode(scheme, encoding, data, digest_len)?;
    let (expected, salt) = if salted {
        if raw.len() <= digest_len {
            return Err(VerifyError::malformed(scheme, "no salt after the digest"));
        }
        // In bounds: raw.len() > digest_len was checked just above.
        raw.split_at(digest_len)
    } else {
        if raw.len() != digest_len {
            return Err(VerifyError::malformed(
                scheme,
                format!("digest is {} bytes, expected {digest_len}", raw.len()),
            ));
        }
        (raw.as_slice(), &[][..])
    };
    let computed: Vec<u8> = if digest_len == 32 {
        let mut h = Sha256::new();
        h.update(password);
        h.update(salt);
        h.finalize().to_vec()
    } else {
        let mut h = Sha512::new();
        h.update(password);
        h.update(salt);
        h.finalize().to_vec()
    };
    Ok(computed.ct_eq(expected).into())
}
