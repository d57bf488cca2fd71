//! Remote folder names as postcore names: the server's hierarchy separator
//! becomes `/`, each level is decoded from modified UTF-7 (RFC 3501
//! §5.1.3), and INBOX in any case is INBOX.

use imap_proto::mutf7;

/// Why a remote name has no postcore spelling; the folder is reported and
/// left out rather than renamed behind the user's back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("not valid modified UTF-7: {0}")]
    Mutf7(String),
    #[error("an empty hierarchy level")]
    EmptyLevel,
    #[error("level {0:?} contains '/', postcore's hierarchy separator")]
    Separator(String),
}

/// `raw` as the server spelled it in LIST (modified UTF-7), `delimiter` its
/// hierarchy separator (`None`: a flat namespace).
pub fn local_name(raw: &str, delimiter: Option<char>) -> Result<String, NameError> {
    let levels: Vec<&str> = match delimiter {
        Some(d) => raw.split(d).collect(),
        None => vec![raw],
    };
    let mut out = String::with_capacity(raw.len());
    for (i, level) in levels.iter().enumerate() {
        if level.is_empty() {
            return Err(NameError::EmptyLevel);
        }
        let decoded =
            mutf7::decode(level.as_bytes()).map_err(|e| NameError::Mutf7(e.to_string()))?;
        // With '/' as the remote separator it was split on above, so it can
        // only appear here when the remote uses another separator.
        if decoded.contains('/') {
            return Err(NameError::Separator(decoded.into_owned()));
        }
        if i > 0 {
            out.push('/');
        }
        if i == 0 && decoded.eq_ignore_ascii_case("INBOX") {
            out.push_str("INBOX");
        } else {
            out.push_str(&decoded);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_levels_and_utf7() {
        assert_eq!(local_name("INBOX", Some('/')).as_deref(), Ok("INBOX"));
        assert_eq!(local_name("inbox", Some('.')).as_deref(), Ok("INBOX"));
        assert_eq!(
            local_name("Work.Projects", Some('.')).as_deref(),
            Ok("Work/Projects")
        );
        assert_eq!(
            local_name("Work/Projects", Some('/')).as_deref(),
            Ok("Work/Projects")
        );
        assert_eq!(
            local_name("Entw&APw-rfe", Some('/')).as_deref(),
            Ok("Entwürfe")
        );
        assert_eq!(
            local_name("&U,BTFw-.&ZeVnLIqe-", Some('.')).as_deref(),
            Ok("台北/日本語")
        );
        assert_eq!(local_name("a.b", None).as_deref(), Ok("a.b"));
        assert_eq!(
            local_name("Inbox.Sub", Some('.')).as_deref(),
            Ok("INBOX/Sub")
        );
    }

    #[test]
    fn names_without_a_postcore_spelling() {
        assert_eq!(
            local_name("a/b", Some('.')),
            Err(NameError::Separator("a/b".into()))
        );
        assert_eq!(local_name("a..b", Some('.')), Err(NameError::EmptyLevel));
        assert_eq!(local_name("a.", Some('.')), Err(NameError::EmptyLevel));
        assert!(matches!(
            local_name("&Jjo", Some('.')),
            Err(NameError::Mutf7(_))
        ));
        assert!(matches!(
            local_name("caf\u{e9}", Some('.')),
            Err(NameError::Mutf7(_))
        ));
    }
}
