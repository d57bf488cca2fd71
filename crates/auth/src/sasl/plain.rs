//! PLAIN (RFC 4616): `[authzid] NUL authcid NUL passwd`.

use super::{Credentials, MAX_RESPONSE_LEN, SaslError};
use crate::scheme::MAX_PASSWORD_LEN;
use crate::secret::Secret;
use crate::username::Username;

pub(super) fn check_password(pw: &[u8]) -> Result<(), SaslError> {
    if pw.is_empty() {
        return Err(SaslError::Malformed("empty password"));
    }
    if pw.len() > MAX_PASSWORD_LEN {
        return Err(SaslError::TooLong);
    }
    if pw.contains(&0) {
        return Err(SaslError::Malformed("NUL in password"));
    }
    Ok(())
}

pub(super) fn parse(msg: &[u8]) -> Result<Credentials, SaslError> {
    if msg.len() > MAX_RESPONSE_LEN {
        return Err(SaslError::TooLong);
    }
    let mut parts = msg.splitn(3, |&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::Malformed(
            "expected authzid NUL authcid NUL password",
        ));
    };
    // A fourth NUL lands in `password` and is refused there.
    check_password(password)?;
    let authcid = std::str::from_utf8(authcid).map_err(|_| SaslError::NotUtf8)?;
    let authzid = std::str::from_utf8(authzid).map_err(|_| SaslError::NotUtf8)?;
    let username = Username::new(authcid)?;
    if !authzid.is_empty() {
        // Acting as another user needs master users, which postcore has not.
        match Username::new(authzid) {
            Ok(z) if z == username => {}
            _ => return Err(SaslError::AuthzidNotPermitted),
        }
    }
    // The password is taken as bytes: RFC 4616 says UTF-8, but clients with
    // legacy 8-bit passwords exist and the stored hash decides anyway.
    Ok(Credentials {
        username,
        password: Secret::from(password),
    })
}
