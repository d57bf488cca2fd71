//! BODYSTRUCTURE and ENVELOPE, rendered from our facts the way Dovecot
//! writes them (`examples/render.rs`), against what Dovecot 2.3.19.1
//! answered for the same messages (`doveadm fetch 'imap.bodystructure
//! imap.envelope'`, literals rewritten as quoted strings), stored in
//! `tests/dovecot/expected.txt`. The messages are `tests/dovecot/*.eml`:
//! hand-written ones (`0NN.eml`, from `messages.rs`, and named ones) and
//! generated ones (`0NNN.eml`, random MIME trees, headers and fields;
//! `env_NNN.eml`, random address, subject and date headers; `param_NNN.eml`,
//! random Content-Type and Content-Disposition parameters).

#[allow(dead_code)]
#[path = "../examples/render.rs"]
mod render;

/// Messages where we knowingly answer differently, and why.
const DEVIATIONS: &[(&str, &str)] = &[
    (
        "008.eml",
        "Dovecot writes a plain 7-bit us-ascii text message as its built-in lower-case default; we keep the header's case",
    ),
    (
        "012.eml",
        "unparsable Content-Type: Dovecot writes \"\" \"\", we default to text/plain; garbage From: Dovecot writes one SYNTAX_ERROR address, we one MISSING_* address per <>",
    ),
    (
        "017.eml",
        "base64 message/rfc822: Dovecot counts the boundary's CRLF into the part (size +2, lines +1)",
    ),
    ("019.eml", "same as 017.eml, inside multipart/digest"),
    ("028.eml", "same as 017.eml"),
    (
        "0028.eml",
        "message/rfc822 part whose encapsulated header has no empty line before the boundary: Dovecot counts the boundary's CRLF into the part (size +2, lines +1)",
    ),
    (
        "025.eml",
        "two Content-Type fields: Dovecot uses the first, mail-parser's structure (and so ours) the last",
    ),
];

#[test]
fn bodystructure_and_envelope_match_dovecot() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/dovecot");
    let expected = std::fs::read(format!("{dir}/expected.txt")).unwrap();
    let lines: Vec<&[u8]> = expected.split(|&b| b == b'\n').collect();
    let mut compared = 0;
    for record in lines.chunks(3).filter(|r| r.len() == 3 && !r[0].is_empty()) {
        let name = std::str::from_utf8(record[0]).unwrap();
        let raw = std::fs::read(format!("{dir}/{name}")).unwrap();
        let facts = mime_facts::compute(&raw);
        let mut bs = Vec::new();
        render::body(&mut bs, &facts, 0, false);
        let mut env = Vec::new();
        render::envelope(&mut env, &facts.envelope);
        // doveadm prints the envelope without its outer parentheses.
        let env = &env[1..env.len() - 1];
        let same = bs == record[1] && env == record[2];
        match DEVIATIONS.iter().find(|(n, _)| *n == name) {
            Some((_, why)) => assert!(
                !same,
                "{name} now matches Dovecot; drop it from DEVIATIONS ({why})"
            ),
            None => {
                assert_eq!(
                    String::from_utf8_lossy(&bs),
                    String::from_utf8_lossy(record[1]),
                    "BODYSTRUCTURE of {name}"
                );
                assert_eq!(
                    String::from_utf8_lossy(env),
                    String::from_utf8_lossy(record[2]),
                    "ENVELOPE of {name}"
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 129, "messages compared");
}
