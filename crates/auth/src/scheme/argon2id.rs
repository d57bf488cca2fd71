//! `{ARGON2ID}` / `{ARGON2I}`: PHC strings, via the RustCrypto `argon2` crate.

use argon2::password_hash::{self, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use super::{HashError, Scheme, VerifyError, random_bytes};

/// Most memory (KiB) a stored hash may ask for when verifying: 256 MiB, four
/// times Dovecot's default. A larger value is refused rather than allocated,
/// since several logins verify at once.
pub const MAX_VERIFY_MEMORY_KIB: u32 = 256 * 1024;
/// Most passes a stored hash may ask for when verifying.
pub const MAX_VERIFY_TIME_COST: u32 = 64;
/// Most lanes a stored hash may ask for when verifying.
pub const MAX_VERIFY_PARALLELISM: u32 = 64;

/// Argon2id cost for new hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub time_cost: u32,
    /// Lanes. The hash is computed on one thread whatever this is.
    pub parallelism: u32,
}

impl Default for Argon2Params {
    /// m=19456 KiB (19 MiB), t=2, p=1 (the OWASP recommendation). Measured
    /// with `cargo bench -p postcore-auth --bench hashing` (release build) on
    /// the 2-core development VM while other builds shared it: 24–28 ms per
    /// hash or verification in the quieter runs, up to 45–52 ms under full
    /// load, inside the 20–50 ms target. Dovecot's `doveadm pw -s ARGON2ID`
    /// default, m=65536,t=3,p=1, measured 300–430 ms on the same machine; such
    /// hashes verify here too, they are just slow.
    fn default() -> Self {
        Argon2Params {
            memory_kib: 19456,
            time_cost: 2,
            parallelism: 1,
        }
    }
}

pub(super) fn hash(password: &[u8], params: &Argon2Params) -> Result<String, HashError> {
    let bad = |e: argon2::Error| HashError::Params {
        scheme: "ARGON2ID",
        reason: e.to_string(),
    };
    let p = Params::new(
        params.memory_kib,
        params.time_cost,
        params.parallelism,
        None,
    )
    .map_err(bad)?;
    let salt_bytes: [u8; 16] = random_bytes()?;
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| HashError::Params {
        scheme: "ARGON2ID",
        reason: e.to_string(),
    })?;
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
    hasher
        .hash_password(password, &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError::Params {
            scheme: "ARGON2ID",
            reason: e.to_string(),
        })
}

pub(super) fn verify(scheme: Scheme, data: &str, password: &[u8]) -> Result<bool, VerifyError> {
    let parsed =
        PasswordHash::new(data).map_err(|e| VerifyError::malformed(scheme, e.to_string()))?;
    let expected_alg = match scheme {
        Scheme::Argon2i => Algorithm::Argon2i,
        _ => Algorithm::Argon2id,
    };
    // CRYPT autodetection hands us either variant; an explicit scheme must match.
    let alg = Algorithm::try_from(parsed.algorithm)
        .map_err(|e| VerifyError::malformed(scheme, e.to_string()))?;
    if scheme != Scheme::Crypt && alg != expected_alg {
        return Err(VerifyError::malformed(
            scheme,
            format!("the hash is {alg}, not {expected_alg}"),
        ));
    }
    let params =
        Params::try_from(&parsed).map_err(|e| VerifyError::malformed(scheme, e.to_string()))?;
    if params.m_cost() > MAX_VERIFY_MEMORY_KIB
        || params.t_cost() > MAX_VERIFY_TIME_COST
        || params.p_cost() > MAX_VERIFY_PARALLELISM
    {
        return Err(VerifyError::TooCostly {
            scheme: scheme.name(),
            reason: format!(
                "m={},t={},p={} (limits m={MAX_VERIFY_MEMORY_KIB},t={MAX_VERIFY_TIME_COST},p={MAX_VERIFY_PARALLELISM})",
                params.m_cost(),
                params.t_cost(),
                params.p_cost()
            ),
        });
    }
    if parsed.hash.is_none() {
        return Err(VerifyError::malformed(scheme, "no hash output"));
    }
    // verify_password compares the outputs in constant time (password-hash's Output).
    match Argon2::default().verify_password(password, &parsed) {
        Ok(()) => Ok(true),
        Err(password_hash::Error::Password) => Ok(false),
        Err(e) => Err(VerifyError::malformed(scheme, e.to_string())),
    }
}
