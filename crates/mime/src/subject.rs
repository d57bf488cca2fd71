//! RFC 5256 §2.1 base subject extraction, for SORT SUBJECT and THREAD.
//!
//! Input is the already decoded subject (RFC 5256 step 1 starts from UTF-8).
//! Every pattern the algorithm strips is ASCII, so byte offsets found here are
//! always character boundaries.

/// The base subject and whether stripping found reply/forward markers
/// (`Re:`, `Fwd:`, `(fwd)`, `[fwd: ...]`), which THREAD=REFERENCES needs.
pub fn base_subject(subject: &str) -> (String, bool) {
    // Step 1: whitespace runs become one space.
    let mut s = String::with_capacity(subject.len());
    let mut in_space = false;
    for ch in subject.chars() {
        if ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' {
            if !in_space {
                s.push(' ');
            }
            in_space = true;
        } else {
            s.push(ch);
            in_space = false;
        }
    }
    let mut is_reply = false;
    let mut cur: &str = &s;
    loop {
        // Step 2: trailing "(fwd)" and whitespace.
        loop {
            if let Some(rest) = cur.strip_suffix(' ') {
                cur = rest;
            } else if cur.len() >= 5
                && cur
                    .get(cur.len() - 5..)
                    .is_some_and(|t| t.eq_ignore_ascii_case("(fwd)"))
            {
                cur = cur.get(..cur.len() - 5).unwrap_or_default();
                is_reply = true;
            } else {
                break;
            }
        }
        // Steps 3 to 5: leaders and blobs, until neither matches.
        loop {
            let mut changed = false;
            while let Some((len, refwd)) = leader_len(cur) {
                cur = cur.get(len..).unwrap_or_default();
                is_reply |= refwd;
                changed = true;
            }
            if let Some(len) = blob_len(cur) {
                let rest = cur.get(len..).unwrap_or_default();
                if rest.bytes().any(|b| b != b' ') {
                    cur = rest;
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        // Step 6: "[fwd: base]" wrapper.
        let is_fwd_wrapped = cur.len() >= 6
            && cur
                .get(..5)
                .is_some_and(|h| h.eq_ignore_ascii_case("[fwd:"))
            && cur.ends_with(']');
        if is_fwd_wrapped {
            cur = cur.get(5..cur.len() - 1).unwrap_or_default();
            is_reply = true;
        } else {
            break;
        }
    }
    (cur.to_string(), is_reply)
}

fn count_spaces(s: &[u8], from: usize) -> usize {
    s.get(from..)
        .map_or(0, |t| t.iter().take_while(|&&b| b == b' ').count())
}

/// subj-blob = "[" *BLOBCHAR "]" *WSP
fn blob_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.first() != Some(&b'[') {
        return None;
    }
    let close = b.iter().skip(1).position(|&c| c == b'[' || c == b']')? + 1;
    if b.get(close) != Some(&b']') {
        return None;
    }
    Some(close + 1 + count_spaces(b, close + 1))
}

/// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
fn refwd_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let head = |n: usize, word: &[u8]| b.get(..n).is_some_and(|h| h.eq_ignore_ascii_case(word));
    let mut i = if head(2, b"re") {
        2
    } else if head(3, b"fwd") {
        3
    } else if head(2, b"fw") {
        2
    } else {
        return None;
    };
    i += count_spaces(b, i);
    if let Some(len) = s.get(i..).and_then(blob_len) {
        i += len;
    }
    (b.get(i) == Some(&b':')).then_some(i + 1)
}

/// subj-leader = (*subj-blob subj-refwd) / WSP; returns the length and
/// whether it was a reply/forward marker.
fn leader_len(s: &str) -> Option<(usize, bool)> {
    let mut i = 0;
    while let Some(len) = s.get(i..).and_then(blob_len) {
        i += len;
    }
    if let Some(len) = s.get(i..).and_then(refwd_len) {
        return Some((i + len, true));
    }
    s.starts_with(' ').then_some((1, false))
}

#[cfg(test)]
mod tests {
    use super::base_subject;

    fn base(s: &str) -> String {
        base_subject(s).0
    }

    #[test]
    fn plain_subject_is_unchanged() {
        assert_eq!(
            base_subject("Hello world"),
            ("Hello world".to_string(), false)
        );
    }

    #[test]
    fn reply_and_forward_prefixes() {
        assert_eq!(base_subject("Re: Hello"), ("Hello".to_string(), true));
        assert_eq!(base("RE: re:Fwd: FW:  Hello"), "Hello");
        assert_eq!(base("Re [list]: Hello"), "Hello");
        assert_eq!(base("[list] Re: Hello"), "Hello");
        assert_eq!(base("[a][b] Re: [c] Fwd: Hello"), "Hello");
        assert_eq!(base("Re:Re:Re: x"), "x");
    }

    #[test]
    fn trailers_and_whitespace() {
        assert_eq!(base_subject("Hello (fwd)"), ("Hello".to_string(), true));
        assert_eq!(base("  Hello \t\r\n  world  (FWD) (fwd)  "), "Hello world");
    }

    #[test]
    fn blob_is_kept_when_it_is_everything() {
        assert_eq!(base("[list]"), "[list]");
        assert_eq!(base_subject("Re: [list]"), ("[list]".to_string(), true));
        assert_eq!(base("[list] topic"), "topic");
    }

    #[test]
    fn forward_wrapper() {
        assert_eq!(
            base_subject("[Fwd: Re: Hello]"),
            ("Hello".to_string(), true)
        );
        assert_eq!(base("[fwd: [fwd: Hello (fwd)]]"), "Hello");
    }

    #[test]
    fn words_that_only_look_like_prefixes() {
        assert_eq!(base("Rebooting: done"), "Rebooting: done");
        assert_eq!(base("Fwiw"), "Fwiw");
        assert_eq!(base("[unclosed blob"), "[unclosed blob");
        assert_eq!(base("Re"), "Re");
        assert_eq!(base(""), "");
        assert_eq!(base("Ré: ünïcode"), "Ré: ünïcode");
    }
}
