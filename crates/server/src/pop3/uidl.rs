//! UIDL values from a Dovecot-style format (`pop3_uidl_format`), so a
//! maildrop migrated with its UIDs and UIDVALIDITY keeps the UIDLs clients
//! already know, whatever format the old server used.

/// Checks a format: only the supported variables, and a non-empty result
/// that depends on the UID (a UIDL must identify one message).
pub fn check_format(fmt: &str) -> Result<(), String> {
    let a = render(fmt, 1, 7)?;
    let b = render(fmt, 2, 7)?;
    if a.is_empty() || a == b {
        return Err("must contain the UID (%u, %Xu or %08Xu)".into());
    }
    if a.len() > 70 || !a.bytes().all(|c| (0x21..=0x7e).contains(&c)) {
        return Err("UIDLs must be 1-70 printable characters (RFC 1939 §7)".into());
    }
    Ok(())
}

/// The UIDL of a message.
pub fn render(fmt: &str, uid: u32, uidvalidity: u32) -> Result<String, String> {
    let mut out = String::with_capacity(16);
    let mut rest = fmt;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        let (spec, value_of) = [
            ("08Xu", 'u'),
            ("08Xv", 'v'),
            ("Xu", 'U'),
            ("Xv", 'V'),
            ("u", 'd'),
            ("v", 'e'),
            ("%", '%'),
        ]
        .into_iter()
        .find(|(p, _)| rest.starts_with(p))
        .ok_or_else(|| format!("unknown variable at %{rest}"))?;
        match value_of {
            'u' => out.push_str(&format!("{uid:08X}")),
            'v' => out.push_str(&format!("{uidvalidity:08X}")),
            'U' => out.push_str(&format!("{uid:X}")),
            'V' => out.push_str(&format!("{uidvalidity:X}")),
            'd' => out.push_str(&uid.to_string()),
            'e' => out.push_str(&uidvalidity.to_string()),
            _ => out.push('%'),
        }
        rest = &rest[spec.len()..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dovecot_formats() {
        assert_eq!(
            render("%08Xu%08Xv", 26, 1795323689).unwrap(),
            "0000001A6B027729"
        );
        assert_eq!(render("%v.%u", 26, 1795323689).unwrap(), "1795323689.26");
        assert_eq!(render("%Xv%Xu", 26, 255).unwrap(), "FF1A");
        assert_eq!(render("u%%%u", 3, 1).unwrap(), "u%3");
        assert!(check_format("%08Xu%08Xv").is_ok());
        assert!(check_format("%v.%u").is_ok());
        assert!(check_format("%v").is_err(), "a UIDL must depend on the UID");
        assert!(check_format("%m").is_err());
        assert!(check_format("a b%u").is_err(), "no spaces in a UIDL");
    }
}
