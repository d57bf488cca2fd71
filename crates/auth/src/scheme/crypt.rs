//! crypt(3)-style hashes: `$6$` SHA512-CRYPT, `$5$` SHA256-CRYPT, `$2?$`
//! bcrypt (BLF-CRYPT), and Dovecot's `CRYPT`, which autodetects them.

use subtle::ConstantTimeEq;

use super::{HashError, Scheme, VerifyError, argon2id, random_bytes};

/// crypt(3) clamps `rounds=` into this range; so do we, to verify the same
/// strings glibc does.
const SHA_ROUNDS_MIN: usize = 1_000;
const SHA_ROUNDS_MAX: usize = 999_999_999;
/// Most rounds a stored SHA-crypt hash may ask for when verifying (about a
/// second of CPU). Larger values are refused instead of stalling a thread.
pub const MAX_VERIFY_SHA_ROUNDS: usize = 2_000_000;
/// Highest bcrypt cost accepted when verifying (cost 16 is ~5 s here).
pub const MAX_VERIFY_BCRYPT_COST: u32 = 16;

/// Default SHA-crypt rounds (crypt(3)'s default when `rounds=` is absent).
pub const SHA_ROUNDS_DEFAULT: usize = 5_000;

const CRYPT_ALPHABET: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn detect(data: &str) -> Result<Scheme, VerifyError> {
    if data.starts_with("$6$") {
        Ok(Scheme::Sha512Crypt)
    } else if data.starts_with("$5$") {
        Ok(Scheme::Sha256Crypt)
    } else if ["$2a$", "$2b$", "$2y$", "$2x$"]
        .iter()
        .any(|p| data.starts_with(p))
    {
        Ok(Scheme::BlfCrypt)
    } else if data.starts_with("$argon2id$") {
        Ok(Scheme::Argon2id)
    } else if data.starts_with("$argon2i$") {
        Ok(Scheme::Argon2i)
    } else if data.starts_with("$1$") {
        Err(VerifyError::UnsupportedScheme("MD5-CRYPT".into()))
    } else if data.starts_with('!') || data.starts_with('*') {
        Err(VerifyError::Locked)
    } else if data.len() == 13 && data.bytes().all(|b| CRYPT_ALPHABET.contains(&b)) {
        Err(VerifyError::UnsupportedScheme("DES-CRYPT".into()))
    } else {
        Err(VerifyError::malformed(
            Scheme::Crypt,
            "no known $id$ prefix ($6$, $5$, $2y$, $argon2id$)",
        ))
    }
}

/// `{CRYPT}` or a bare password field: pick the algorithm from the prefix.
pub(super) fn verify_autodetect(data: &str, password: &[u8]) -> Result<bool, VerifyError> {
    match detect(data)? {
        s @ (Scheme::Argon2id | Scheme::Argon2i) => argon2id::verify(s, data, password),
        s => verify_as(s, data, password),
    }
}

/// An explicit `{SHA512-CRYPT}` etc.: the string must be of that kind.
pub(super) fn verify_expecting(
    scheme: Scheme,
    data: &str,
    password: &[u8],
) -> Result<bool, VerifyError> {
    let found = detect(data).map_err(|_| {
        VerifyError::malformed(scheme, "the data does not start with this scheme's $id$")
    })?;
    if found != scheme {
        return Err(VerifyError::malformed(
            scheme,
            format!("the data is a {} hash", found.name()),
        ));
    }
    verify_as(scheme, data, password)
}

fn verify_as(scheme: Scheme, data: &str, password: &[u8]) -> Result<bool, VerifyError> {
    match scheme {
        Scheme::BlfCrypt => verify_bcrypt(data, password),
        _ => verify_sha_crypt(scheme, data, password),
    }
}

/// Splits `$6$[rounds=N$]salt$hash` into (rounds, salt, hash, whether rounds= was given).
fn split_sha_crypt(scheme: Scheme, data: &str) -> Result<(usize, &str, &str), VerifyError> {
    let mut parts = data.split('$');
    // "" then the id: checked by detect().
    parts.next();
    parts.next();
    let mut next = parts
        .next()
        .ok_or_else(|| VerifyError::malformed(scheme, "missing salt"))?;
    let mut rounds = SHA_ROUNDS_DEFAULT;
    if let Some(r) = next.strip_prefix("rounds=") {
        let n: u64 = r
            .parse()
            .map_err(|_| VerifyError::malformed(scheme, "rounds= is not a number"))?;
        rounds = usize::try_from(n)
            .unwrap_or(usize::MAX)
            .clamp(SHA_ROUNDS_MIN, SHA_ROUNDS_MAX);
        next = parts
            .next()
            .ok_or_else(|| VerifyError::malformed(scheme, "missing salt"))?;
    }
    let salt = next;
    let hash = parts
        .next()
        .ok_or_else(|| VerifyError::malformed(scheme, "missing hash"))?;
    if parts.next().is_some() {
        return Err(VerifyError::malformed(scheme, "trailing '$' fields"));
    }
    let expected_len = if scheme == Scheme::Sha512Crypt {
        86
    } else {
        43
    };
    if hash.len() != expected_len || !hash.bytes().all(|b| CRYPT_ALPHABET.contains(&b)) {
        return Err(VerifyError::malformed(
            scheme,
            format!("hash must be {expected_len} characters of the crypt alphabet"),
        ));
    }
    Ok((rounds, salt, hash))
}

fn verify_sha_crypt(scheme: Scheme, data: &str, password: &[u8]) -> Result<bool, VerifyError> {
    let (rounds, salt, hash) = split_sha_crypt(scheme, data)?;
    if rounds > MAX_VERIFY_SHA_ROUNDS {
        return Err(VerifyError::TooCostly {
            scheme: scheme.name(),
            reason: format!("rounds={rounds} (limit {MAX_VERIFY_SHA_ROUNDS})"),
        });
    }
    // crypt(3) uses at most 16 salt characters; sha-crypt truncates the same way.
    let computed = compute_sha_crypt(scheme, password, salt.as_bytes(), rounds)
        .map_err(|e| VerifyError::malformed(scheme, e))?;
    Ok(computed.as_bytes().ct_eq(hash.as_bytes()).into())
}

fn compute_sha_crypt(
    scheme: Scheme,
    password: &[u8],
    salt: &[u8],
    rounds: usize,
) -> Result<String, String> {
    if scheme == Scheme::Sha512Crypt {
        let params = sha_crypt::Sha512Params::new(rounds).map_err(|e| format!("{e:?}"))?;
        sha_crypt::sha512_crypt_b64(password, salt, &params).map_err(|e| format!("{e:?}"))
    } else {
        let params = sha_crypt::Sha256Params::new(rounds).map_err(|e| format!("{e:?}"))?;
        sha_crypt::sha256_crypt_b64(password, salt, &params).map_err(|e| format!("{e:?}"))
    }
}

fn verify_bcrypt(data: &str, password: &[u8]) -> Result<bool, VerifyError> {
    let parts: bcrypt::HashParts = data.parse().map_err(|e: bcrypt::BcryptError| {
        VerifyError::malformed(Scheme::BlfCrypt, e.to_string())
    })?;
    if parts.get_cost() > MAX_VERIFY_BCRYPT_COST {
        return Err(VerifyError::TooCostly {
            scheme: Scheme::BlfCrypt.name(),
            reason: format!("cost {} (limit {MAX_VERIFY_BCRYPT_COST})", parts.get_cost()),
        });
    }
    // bcrypt only reads the first 72 bytes, like every other implementation;
    // the crate compares the outputs in constant time.
    bcrypt::verify(password, data)
        .map_err(|e| VerifyError::malformed(Scheme::BlfCrypt, e.to_string()))
}

pub(super) fn hash_sha_crypt(
    scheme: Scheme,
    password: &[u8],
    rounds: u32,
) -> Result<String, HashError> {
    let rounds = rounds as usize;
    if !(SHA_ROUNDS_MIN..=SHA_ROUNDS_MAX).contains(&rounds) {
        return Err(HashError::Params {
            scheme: scheme.name(),
            reason: format!("rounds must be {SHA_ROUNDS_MIN}..={SHA_ROUNDS_MAX}"),
        });
    }
    let raw: [u8; 16] = random_bytes()?;
    // 16 characters of the crypt alphabet: 64 divides 256, so `% 64` is unbiased.
    // ok: `b % 64` < 64 == CRYPT_ALPHABET.len(), the index is always in bounds.
    let salt: String = raw
        .iter()
        .map(|b| char::from(CRYPT_ALPHABET[usize::from(b % 64)]))
        .collect();
    let hash = compute_sha_crypt(scheme, password, salt.as_bytes(), rounds).map_err(|e| {
        HashError::Params {
            scheme: scheme.name(),
            reason: e,
        }
    })?;
    let id = if scheme == Scheme::Sha512Crypt { 6 } else { 5 };
    if rounds == SHA_ROUNDS_DEFAULT {
        Ok(format!("${id}${salt}${hash}"))
    } else {
        Ok(format!("${id}$rounds={rounds}${salt}${hash}"))
    }
}

pub(super) fn hash_bcrypt(password: &[u8], cost: u32) -> Result<String, HashError> {
    let salt: [u8; 16] = random_bytes()?;
    // $2y$ is what Dovecot writes for BLF-CRYPT.
    bcrypt::hash_with_salt(password, cost, salt)
        .map(|parts| parts.format_for_version(bcrypt::Version::TwoY))
        .map_err(|e| HashError::Params {
            scheme: "BLF-CRYPT",
            reason: e.to_string(),
        })
}
