//! SEARCH over a real store holding the hand-written fixture in
//! `search_support/` (12 messages: encoded-word headers, base64, QP and
//! ISO-8859-1 bodies, multipart, an attached message, a group address, a
//! Date in another zone, flags and keywords from `manifest.txt`).
//!
//! The expected answers in `DOVECOT_CASES` are Dovecot 2.3's, recorded by
//! running `search_support/dovecot_compare.py` against the same fixture;
//! the only edits are the ESEARCH item order (RFC 4731 leaves it free) and
//! the tag.

mod search_support;

use bytes::BytesMut;
use imap_exec::ExecError;
use imap_exec::search::{self, SearchContext, SearchOutcome, SearchResponse};
use imap_proto::{CommandBody, CommandReader, Limits, Parsed};
use search_support::{Fixture, run, wire};

/// (command, Dovecot's untagged answer).
const DOVECOT_CASES: &[(&str, &str)] = &[
    ("UID SEARCH ALL", "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12"),
    ("UID SEARCH SEEN", "* SEARCH 1 4 6 7 10 12"),
    ("UID SEARCH UNSEEN", "* SEARCH 2 3 5 8 9 11"),
    ("UID SEARCH ANSWERED", "* SEARCH 2 7"),
    ("UID SEARCH UNANSWERED", "* SEARCH 1 3 4 5 6 8 9 10 11 12"),
    ("UID SEARCH FLAGGED", "* SEARCH 2 8 12"),
    ("UID SEARCH UNFLAGGED", "* SEARCH 1 3 4 5 6 7 9 10 11"),
    ("UID SEARCH DELETED", "* SEARCH 4"),
    ("UID SEARCH UNDELETED", "* SEARCH 1 2 3 5 6 7 8 9 10 11 12"),
    ("UID SEARCH DRAFT", "* SEARCH 5"),
    ("UID SEARCH UNDRAFT", "* SEARCH 1 2 3 4 6 7 8 9 10 11 12"),
    ("UID SEARCH KEYWORD $Forwarded", "* SEARCH 2 10"),
    ("UID SEARCH KEYWORD work", "* SEARCH 6 10"),
    ("UID SEARCH KEYWORD NoSuchKeyword", "* SEARCH"),
    (
        "UID SEARCH UNKEYWORD Work",
        "* SEARCH 1 2 3 4 5 7 8 9 11 12",
    ),
    (
        "UID SEARCH UNKEYWORD NoSuchKeyword",
        "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12",
    ),
    ("UID SEARCH 2:4,10:*", "* SEARCH 2 3 4 10 11 12"),
    ("UID SEARCH UID 3,5:7", "* SEARCH 3 5 6 7"),
    ("UID SEARCH UID 20:*", "* SEARCH 12"),
    ("UID SEARCH LARGER 1000", "* SEARCH 8"),
    ("UID SEARCH SMALLER 200", "* SEARCH 9 10 11"),
    ("UID SEARCH BEFORE 4-Jan-2023", "* SEARCH 1 2 8"),
    ("UID SEARCH ON 7-Jan-2023", "* SEARCH 5 6"),
    ("UID SEARCH SINCE 9-Jan-2023", "* SEARCH 9 10 11 12"),
    ("UID SEARCH SENTBEFORE 3-Jan-2023", "* SEARCH 1 8 9"),
    ("UID SEARCH SENTON 31-Dec-2022", "* SEARCH 8"),
    ("UID SEARCH SENTON 1-Jan-2023", "* SEARCH"),
    ("UID SEARCH SENTSINCE 9-Jan-2023", "* SEARCH 10 11 12"),
    ("UID SEARCH NOT SENTSINCE 1-Jan-2000", "* SEARCH 9"),
    ("UID SEARCH FROM alice", "* SEARCH 1"),
    ("UID SEARCH FROM \"Alice Example\"", "* SEARCH 1"),
    ("UID SEARCH FROM example.com", "* SEARCH 4 6 8 9 10 11"),
    (
        "UID SEARCH CHARSET UTF-8 FROM [[Jörg Müller]]",
        "* SEARCH 2",
    ),
    (
        "UID SEARCH TO alice@example.org",
        "* SEARCH 2 3 4 5 6 7 8 9 11 12",
    ),
    ("UID SEARCH TO undisclosed", "* SEARCH 10"),
    ("UID SEARCH CC carol", "* SEARCH 2"),
    ("UID SEARCH BCC dave", "* SEARCH 6"),
    ("UID SEARCH SUBJECT meeting", "* SEARCH 1 10"),
    ("UID SEARCH SUBJECT \"MEETING TOMORROW\"", "* SEARCH 1 10"),
    ("UID SEARCH CHARSET UTF-8 SUBJECT [[grüße]]", "* SEARCH 2"),
    ("UID SEARCH CHARSET UTF-8 SUBJECT [[école]]", "* SEARCH 12"),
    ("UID SEARCH SUBJECT \"long subject\"", "* SEARCH 11"),
    ("UID SEARCH SUBJECT \"Inner subject\"", "* SEARCH"),
    (
        "UID SEARCH SUBJECT \"\"",
        "* SEARCH 1 2 3 4 5 6 7 8 10 11 12",
    ),
    ("UID SEARCH HEADER X-Priority highest", "* SEARCH 8"),
    ("UID SEARCH HEADER X-Spam-Flag \"\"", "* SEARCH 11"),
    ("UID SEARCH HEADER List-Id dev.lists", "* SEARCH 10"),
    ("UID SEARCH HEADER Message-ID m1@example", "* SEARCH 1"),
    (
        "UID SEARCH HEADER Subject \"very long subject\"",
        "* SEARCH 11",
    ),
    ("UID SEARCH BODY pineapple", "* SEARCH 3"),
    ("UID SEARCH BODY \"secret WORD\"", "* SEARCH 3"),
    (
        "UID SEARCH CHARSET UTF-8 BODY [[crème brûlée]]",
        "* SEARCH 4",
    ),
    ("UID SEARCH BODY softbreak", "* SEARCH 4"),
    ("UID SEARCH CHARSET UTF-8 BODY [[señor]]", "* SEARCH 5"),
    ("UID SEARCH CHARSET UTF-8 BODY [[schön]]", "* SEARCH 2"),
    ("UID SEARCH BODY hiddenword", "* SEARCH"),
    ("UID SEARCH BODY preamble", "* SEARCH"),
    ("UID SEARCH BODY quarterly", "* SEARCH 6"),
    ("UID SEARCH BODY \"nested body\"", "* SEARCH 7"),
    ("UID SEARCH BODY \"Inner subject\"", "* SEARCH"),
    ("UID SEARCH BODY alice", "* SEARCH"),
    ("UID SEARCH TEXT alice", "* SEARCH 1 2 3 4 5 6 7 8 9 11 12"),
    ("UID SEARCH TEXT pineapple", "* SEARCH 3"),
    ("UID SEARCH TEXT \"Inner subject\"", "* SEARCH 7"),
    ("UID SEARCH CHARSET UTF-8 TEXT [[rentrée]]", "* SEARCH 12"),
    ("UID SEARCH OR FLAGGED DRAFT", "* SEARCH 2 5 8 12"),
    ("UID SEARCH NOT SEEN", "* SEARCH 2 3 5 8 9 11"),
    (
        "UID SEARCH OR (SEEN FLAGGED) (UNSEEN KEYWORD $Junk)",
        "* SEARCH 11 12",
    ),
    ("UID SEARCH NOT OR SEEN DELETED", "* SEARCH 2 3 5 8 9 11"),
    (
        "UID SEARCH SEEN NOT (FROM alice OR BODY noon SUBJECT meeting)",
        "* SEARCH 4 6 7 10 12",
    ),
    ("UID SEARCH OR BODY pineapple SUBJECT latin", "* SEARCH 3 5"),
    (
        "UID SEARCH NOT NOT NOT DRAFT",
        "* SEARCH 1 2 3 4 6 7 8 9 10 11 12",
    ),
    ("UID SEARCH (((UNSEEN)))", "* SEARCH 2 3 5 8 9 11"),
    ("UID SEARCH SEEN TEXT example", "* SEARCH 1 4 6 7 10 12"),
    (
        "UID SEARCH RETURN (MIN MAX COUNT ALL) SEEN",
        "* ESEARCH (TAG \"t\") UID MIN 1 MAX 12 COUNT 6 ALL 1,4,6:7,10,12",
    ),
    (
        "UID SEARCH RETURN () FLAGGED",
        "* ESEARCH (TAG \"t\") UID ALL 2,8,12",
    ),
    (
        "UID SEARCH RETURN (COUNT) BODY nothingmatchesthis",
        "* ESEARCH (TAG \"t\") UID COUNT 0",
    ),
    (
        "UID SEARCH RETURN (MIN) BODY nothingmatchesthis",
        "* ESEARCH (TAG \"t\") UID",
    ),
    (
        "UID SEARCH RETURN (ALL) BODY nothingmatchesthis",
        "* ESEARCH (TAG \"t\") UID",
    ),
    (
        "SEARCH RETURN (MIN MAX) UNSEEN",
        "* ESEARCH (TAG \"t\") MIN 2 MAX 11",
    ),
    (
        "SEARCH RETURN (ALL) 1:3,5,7:9",
        "* ESEARCH (TAG \"t\") ALL 1:3,5,7:9",
    ),
    ("UID SEARCH TEXT octet-stream", "* SEARCH 6"),
    ("UID SEARCH TEXT data.bin", "* SEARCH 6"),
    ("UID SEARCH TEXT hiddenword", "* SEARCH"),
    ("UID SEARCH TEXT preamble", "* SEARCH"),
    ("UID SEARCH TEXT \"text/html\"", "* SEARCH 6"),
    ("UID SEARCH BODY \"<b>numbers</b>\"", "* SEARCH 6"),
    ("UID SEARCH FROM \"<alice@\"", "* SEARCH 1"),
    ("UID SEARCH FROM \"example <alice\"", "* SEARCH"),
    ("UID SEARCH FROM \"\\\"Alice\"", "* SEARCH 1"),
    (
        "UID SEARCH CHARSET UTF-8 HEADER From [[Jörg]]",
        "* SEARCH 2",
    ),
    ("UID SEARCH HEADER From joerg", "* SEARCH 2"),
    (
        "UID SEARCH HEADER Subject \"R3LDvMOfZSBhdXMgTcO8bmNoZW4\"",
        "* SEARCH",
    ),
    (
        "UID SEARCH SUBJECT \"R3LDvMOfZSBhdXMgTcO8bmNoZW4\"",
        "* SEARCH",
    ),
    (
        "UID SEARCH CHARSET UTF-8 FROM [[zoë ökonom]]",
        "* SEARCH 12",
    ),
    (
        "UID SEARCH CHARSET UTF-8 BODY [[rentrée des classes]]",
        "* SEARCH 12",
    ),
    ("UID SEARCH CC \"\"", "* SEARCH 2"),
    ("UID SEARCH BCC \"\"", "* SEARCH 6"),
    ("UID SEARCH HEADER X-Nothing \"\"", "* SEARCH"),
    (
        "UID SEARCH BODY \"\"",
        "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12",
    ),
    (
        "UID SEARCH TEXT \"\"",
        "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12",
    ),
    ("UID SEARCH YOUNGER 1", "* SEARCH"),
    ("UID SEARCH OLDER 1", "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12"),
    ("UID SEARCH 13", "* SEARCH"),
    ("UID SEARCH UID 100", "* SEARCH"),
    ("UID SEARCH FROM \"Fwd\"", "* SEARCH"),
    ("UID SEARCH TEXT heidi", "* SEARCH 7"),
    ("UID SEARCH BODY heidi", "* SEARCH"),
];

/// Parses `cmd`, searches the fixture and renders the answer (without the
/// CRLF), or `NO [...] text` / `BAD text` / `PARSE ERROR`.
async fn answer(fx: &Fixture, cmd: &str, ctx: &SearchContext<'_>) -> (String, Option<Vec<u32>>) {
    let buf = wire(&format!("t {cmd}"));
    let mut reader = CommandReader::new(Limits::default());
    let command = match reader.parse(&buf) {
        Ok(Parsed::Command { command, .. }) => command,
        other => return (format!("PARSE ERROR {other:?}"), None),
    };
    let CommandBody::Search {
        uid,
        returns,
        charset,
        keys,
    } = command.body
    else {
        panic!("not a search: {cmd}");
    };
    let cs = charset.map(|c| c.to_bytes().into_owned());
    let ctx = SearchContext {
        charset: cs.as_deref(),
        ..*ctx
    };
    let outcome =
        match search::search(&fx.store, fx.mailbox, &fx.keywords, &fx.msgs, &keys, &ctx).await {
            Ok(o) => o,
            Err(ExecError::Refused { status, code, text }) => {
                return (format!("{status:?} [{}] {text}", code.unwrap_or("")), None);
            }
            Err(e) => panic!("{cmd}: {e}"),
        };
    render(fx, &outcome, uid, returns)
}

fn render(
    fx: &Fixture,
    outcome: &SearchOutcome,
    uid: bool,
    returns: Option<imap_proto::SearchReturn>,
) -> (String, Option<Vec<u32>>) {
    let mut out = BytesMut::new();
    let response = match returns {
        Some(returns) => SearchResponse::Esearch { tag: b"t", returns },
        None => SearchResponse::Plain,
    };
    let saved = search::render_result(&mut out, &fx.msgs, outcome, uid, response);
    let s = String::from_utf8(out.to_vec()).unwrap();
    (s.strip_suffix("\r\n").unwrap_or(&s).to_owned(), saved)
}

fn ctx() -> SearchContext<'static> {
    SearchContext {
        // 2023-02-01 00:00:00 UTC: every fixture message is older.
        now: 1_675_209_600,
        ..SearchContext::default()
    }
}

#[test]
fn every_key_gives_dovecots_answer_on_the_fixture() {
    let failures = run(|fx| async move {
        let mut failures = Vec::new();
        for &(cmd, want) in DOVECOT_CASES {
            let (got, _) = answer(&fx, cmd, &ctx()).await;
            if got != want {
                failures.push(format!("{cmd}\n   want {want}\n    got {got}"));
            }
        }
        failures
    });
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
