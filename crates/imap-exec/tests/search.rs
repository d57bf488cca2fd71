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
        within: true,
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

/// Runs one command with a context and returns (answer, saved).
async fn with(fx: &Fixture, cmd: &str, ctx: SearchContext<'_>) -> (String, Option<Vec<u32>>) {
    answer(fx, cmd, &ctx).await
}

#[test]
fn save_and_dollar_follow_rfc_5182() {
    run(|fx| async move {
        // SAVE alone: no ESEARCH response, the whole result is kept.
        let (out, saved) = with(&fx, "UID SEARCH RETURN (SAVE) FLAGGED", ctx()).await;
        assert_eq!(out, "");
        let saved = saved.unwrap();
        assert_eq!(saved, vec![2, 8, 12]);
        let c = SearchContext {
            saved: Some(&saved),
            ..ctx()
        };
        assert_eq!(with(&fx, "UID SEARCH $", c).await.0, "* SEARCH 2 8 12");
        assert_eq!(with(&fx, "SEARCH $ SEEN", c).await.0, "* SEARCH 12");
        assert_eq!(with(&fx, "UID SEARCH UID $", c).await.0, "* SEARCH 2 8 12");
        assert_eq!(
            with(&fx, "UID SEARCH NOT $ UNSEEN", c).await.0,
            "* SEARCH 3 5 9 11"
        );
        assert_eq!(
            with(&fx, "UID SEARCH OR $ DRAFT", c).await.0,
            "* SEARCH 2 5 8 12"
        );
        // Nothing saved yet: `$` is the empty set.
        assert_eq!(with(&fx, "UID SEARCH $", ctx()).await.0, "* SEARCH");
        assert_eq!(
            with(&fx, "UID SEARCH NOT $", ctx()).await.0,
            "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12"
        );
        // SAVE with MIN/MAX keeps just those; with COUNT the whole result.
        let (out, saved) = with(&fx, "UID SEARCH RETURN (SAVE MIN MAX) SEEN", ctx()).await;
        assert_eq!(out, "* ESEARCH (TAG \"t\") UID MIN 1 MAX 12");
        assert_eq!(saved.unwrap(), vec![1, 12]);
        let (out, saved) = with(&fx, "UID SEARCH RETURN (SAVE MIN) SEEN", ctx()).await;
        assert_eq!(out, "* ESEARCH (TAG \"t\") UID MIN 1");
        assert_eq!(saved.unwrap(), vec![1]);
        let (out, saved) = with(&fx, "SEARCH RETURN (SAVE COUNT MIN) SEEN", ctx()).await;
        assert_eq!(out, "* ESEARCH (TAG \"t\") MIN 1 COUNT 6");
        assert_eq!(saved.unwrap(), vec![1, 4, 6, 7, 10, 12]);
        // An empty result saved is an empty set, not "nothing saved".
        let (out, saved) = with(
            &fx,
            "UID SEARCH RETURN (SAVE) BODY nothingmatchesthis",
            ctx(),
        )
        .await;
        assert_eq!(out, "");
        assert_eq!(saved, Some(vec![]));
        // Without SAVE nothing is kept.
        assert_eq!(
            with(&fx, "UID SEARCH RETURN (ALL) SEEN", ctx()).await.1,
            None
        );
        assert_eq!(with(&fx, "UID SEARCH SEEN", ctx()).await.1, None);
    });
}

#[test]
fn modseq_key_reports_the_highest_modseq_of_the_matches() {
    run(|mut fx| async move {
        use store::{FlagOp, Flags};
        let before = fx.msgs.iter().map(|m| m.modseq).max().unwrap();
        fx.store
            .store_flags(
                fx.mailbox,
                &[(3, 3), (9, 9)],
                FlagOp::Add,
                Flags::SEEN,
                &[],
                None,
            )
            .await
            .unwrap();
        fx.store
            .store_flags(
                fx.mailbox,
                &[(5, 5)],
                FlagOp::Add,
                Flags::FLAGGED,
                &[],
                None,
            )
            .await
            .unwrap();
        fx.refresh();
        let m = |uid: u32| fx.msgs[uid as usize - 1].modseq;
        assert!(m(3) > before && m(9) == m(3) && m(5) > m(3));
        let cmd = format!("UID SEARCH MODSEQ {}", before + 1);
        assert_eq!(
            with(&fx, &cmd, ctx()).await.0,
            format!("* SEARCH 3 5 9 (MODSEQ {})", m(5))
        );
        // The per-flag entry form is accepted and compared with the message MODSEQ.
        let cmd = format!("SEARCH MODSEQ \"/flags/\\\\seen\" all {} SEEN", before + 1);
        assert_eq!(
            with(&fx, &cmd, ctx()).await.0,
            format!("* SEARCH 3 9 (MODSEQ {})", m(3))
        );
        // No match: no MODSEQ.
        let cmd = format!("UID SEARCH MODSEQ {}", m(5) + 1);
        assert_eq!(with(&fx, &cmd, ctx()).await.0, "* SEARCH");
        // No MODSEQ key: no MODSEQ.
        assert_eq!(with(&fx, "UID SEARCH UID 5", ctx()).await.0, "* SEARCH 5");
        // ESEARCH: of all matches for COUNT/ALL, of the named ones for MIN/MAX.
        let cmd = format!("UID SEARCH RETURN (COUNT) MODSEQ {}", before + 1);
        assert_eq!(
            with(&fx, &cmd, ctx()).await.0,
            format!("* ESEARCH (TAG \"t\") UID COUNT 3 MODSEQ {}", m(5))
        );
        let cmd = format!("UID SEARCH RETURN (MAX) MODSEQ {} NOT FLAGGED", before + 1);
        assert_eq!(
            with(&fx, &cmd, ctx()).await.0,
            format!("* ESEARCH (TAG \"t\") UID MAX 9 MODSEQ {}", m(9))
        );
        let cmd = "UID SEARCH RETURN (MIN) MODSEQ 1";
        assert_eq!(
            with(&fx, cmd, ctx()).await.0,
            format!("* ESEARCH (TAG \"t\") UID MIN 1 MODSEQ {}", m(1))
        );
    });
}

#[test]
fn recent_new_old_use_the_sessions_recent_set() {
    run(|fx| async move {
        // IMAP4rev2 (no \Recent): nothing is recent.
        assert_eq!(with(&fx, "UID SEARCH RECENT", ctx()).await.0, "* SEARCH");
        assert_eq!(with(&fx, "UID SEARCH NEW", ctx()).await.0, "* SEARCH");
        assert_eq!(
            with(&fx, "UID SEARCH OLD", ctx()).await.0,
            "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12"
        );
        let recent = [12, 1, 3];
        let c = SearchContext {
            recent: &recent,
            ..ctx()
        };
        assert_eq!(with(&fx, "UID SEARCH RECENT", c).await.0, "* SEARCH 1 3 12");
        // NEW = RECENT UNSEEN: 1 and 12 are seen.
        assert_eq!(with(&fx, "UID SEARCH NEW", c).await.0, "* SEARCH 3");
        assert_eq!(
            with(&fx, "UID SEARCH OLD", c).await.0,
            "* SEARCH 2 4 5 6 7 8 9 10 11"
        );
        assert_eq!(with(&fx, "SEARCH NOT OLD", c).await.0, "* SEARCH 1 3 12");
    });
}

#[test]
fn older_and_younger_split_at_now() {
    run(|fx| async move {
        let t = fx.msgs[11].internal_date;
        let c = SearchContext {
            now: t + 100,
            ..ctx()
        };
        // YOUNGER n: at most n seconds old; OLDER n: more than n (RFC 5032).
        assert_eq!(
            with(&fx, "UID SEARCH YOUNGER 100", c).await.0,
            "* SEARCH 12"
        );
        assert_eq!(with(&fx, "UID SEARCH YOUNGER 99", c).await.0, "* SEARCH");
        assert_eq!(
            with(&fx, "UID SEARCH OLDER 100 UID 11:*", c).await.0,
            "* SEARCH 11"
        );
        assert_eq!(
            with(&fx, "UID SEARCH OLDER 99 UID 11:*", c).await.0,
            "* SEARCH 11 12"
        );
        // 10-Jan 10:01 UTC (uid 11) is 1 day, 23 h after 12's 11-Jan 09:01.
        let day = 86_400 - 3600 + 100;
        let cmd = format!("UID SEARCH YOUNGER {day}");
        assert_eq!(with(&fx, &cmd, c).await.0, "* SEARCH 11 12");
    });
}

#[test]
fn cheap_keys_decide_before_any_message_is_read() {
    run(|fx| async move {
        let count = |cmd: &'static str| {
            let fx = &fx;
            async move {
                let buf = wire(&format!("t {cmd}"));
                let mut reader = CommandReader::new(Limits::default());
                let Ok(Parsed::Command { command, .. }) = reader.parse(&buf) else {
                    panic!()
                };
                let CommandBody::Search { keys, .. } = command.body else {
                    panic!()
                };
                let o =
                    search::search(&fx.store, fx.mailbox, &fx.keywords, &fx.msgs, &keys, &ctx())
                        .await
                        .unwrap();
                (o.matches.len(), o.facts_read, o.messages_read)
            }
        };
        // Index-only keys: no facts, no message.
        assert_eq!(
            count("SEARCH OR FLAGGED (SEEN NOT KEYWORD Work) LARGER 10 SINCE 1-Jan-2023").await,
            (5, 0, 0)
        );
        // Envelope keys read facts only.
        assert_eq!(count("SEARCH SUBJECT meeting").await, (2, 12, 0));
        // A cheap key in front spares the rest: only the 3 flagged are looked at.
        assert_eq!(count("SEARCH FLAGGED SUBJECT meeting").await, (0, 3, 0));
        assert_eq!(count("SEARCH BODY noon FLAGGED").await, (0, 3, 3));
        // OR decided by its cheap side never reads: 6 seen decided, 6 read.
        assert_eq!(count("SEARCH OR SEEN BODY pineapple").await, (7, 6, 6));
        // HEADER reads the header block, not the message.
        // HEADER alone needs no facts: one short read finds the header end.
        assert_eq!(count("SEARCH HEADER X-Priority highest").await, (1, 0, 0));
        // Several body keys still read each message once.
        assert_eq!(
            count("SEARCH BODY e TEXT a NOT BODY zzz HEADER From a")
                .await
                .2,
            12
        );
        // TEXT found in the header needs neither facts nor a body read.
        assert_eq!(count("SEARCH TEXT example").await, (12, 0, 0));
        // ... and when the header does not have it, the body is read once.
        assert_eq!(count("SEARCH TEXT noon").await, (2, 12, 12));
    });
}

#[test]
fn charset_and_unsupported_keys_are_refused_cleanly() {
    run(|fx| async move {
        let buf = wire("t SEARCH SUBJECT x");
        let mut reader = CommandReader::new(Limits::default());
        let Ok(Parsed::Command { command, .. }) = reader.parse(&buf) else {
            panic!()
        };
        let CommandBody::Search { keys, .. } = command.body else {
            panic!()
        };
        let c = SearchContext {
            charset: Some(b"KOI8-R"),
            ..ctx()
        };
        match search::search(&fx.store, fx.mailbox, &fx.keywords, &fx.msgs, &keys, &c).await {
            Err(ExecError::Refused { status, code, .. }) => {
                assert_eq!(status, imap_proto::encode::RespStatus::No);
                assert_eq!(code, Some("BADCHARSET (UTF-8 US-ASCII)"));
            }
            other => panic!("{other:?}"),
        }
        let c = SearchContext {
            charset: Some(b"us-ascii"),
            ..ctx()
        };
        assert!(
            search::search(&fx.store, fx.mailbox, &fx.keywords, &fx.msgs, &keys, &c)
                .await
                .is_ok()
        );
        // OBJECTID and SAVEDATE off: their keys are BAD, wherever they are.
        for cmd in [
            "SEARCH EMAILID M123",
            "SEARCH OR SEEN THREADID T1",
            "SEARCH SAVEDSINCE 1-Jan-1990",
            "SEARCH NOT SAVEDATESUPPORTED",
        ] {
            let (out, _) = with(&fx, cmd, ctx()).await;
            assert!(out.starts_with("Bad []"), "{cmd}: {out}");
        }
        // WITHIN off: OLDER and YOUNGER are BAD, nested too.
        let off = SearchContext {
            within: false,
            ..ctx()
        };
        for cmd in ["SEARCH OLDER 10", "SEARCH NOT OR SEEN YOUNGER 10"] {
            let (out, _) = with(&fx, cmd, off).await;
            assert_eq!(out, "Bad [] WITHIN is not enabled on this server", "{cmd}");
        }
    });
}

#[test]
fn object_id_and_save_date_keys() {
    run(|fx| async move {
        let on = SearchContext {
            objectid: true,
            savedate: true,
            ..ctx()
        };
        let all = "* SEARCH 1 2 3 4 5 6 7 8 9 10 11 12";
        let m3 = &fx.msgs[2];
        for (cmd, want) in [
            (
                format!("SEARCH EMAILID M{:016x}", m3.email_id),
                "* SEARCH 3",
            ),
            // Another form, case or width names no message.
            (format!("SEARCH EMAILID M{:016X}", m3.email_id), "* SEARCH"),
            ("SEARCH EMAILID M123".to_string(), "* SEARCH"),
            (format!("SEARCH EMAILID T{:016x}", m3.email_id), "* SEARCH"),
            (format!("SEARCH NOT THREADID T{:016x}", 1u64 << 63), all),
            // Appended just now: saved after 1990, before 2200.
            ("SEARCH SAVEDSINCE 1-Jan-1990".to_string(), all),
            ("SEARCH SAVEDBEFORE 1-Jan-1990".to_string(), "* SEARCH"),
            ("SEARCH SAVEDON 1-Jan-1990".to_string(), "* SEARCH"),
            ("SEARCH SAVEDBEFORE 1-Jan-2200".to_string(), all),
            ("SEARCH SAVEDATESUPPORTED".to_string(), all),
        ] {
            assert_eq!(with(&fx, &cmd, on).await.0, want, "{cmd}");
        }
        // Each thread id finds exactly the messages that carry it.
        for m in &fx.msgs {
            let (out, _) = with(
                &fx,
                &format!("UID SEARCH THREADID T{:016x}", m.thread_id),
                on,
            )
            .await;
            let want: Vec<String> = fx
                .msgs
                .iter()
                .filter(|o| o.thread_id == m.thread_id)
                .map(|o| o.uid.to_string())
                .collect();
            assert_eq!(out, format!("* SEARCH {}", want.join(" ")));
        }
    });
}

#[test]
fn a_message_expunged_under_the_search_matches_nothing() {
    run(|fx| async move {
        use store::ExpungeMode;
        // The caller's view still lists uid 4 (\Deleted) while another
        // session expunges it.
        let gone = fx
            .store
            .expunge(fx.mailbox, None, ExpungeMode::DeletedOnly)
            .await
            .unwrap();
        assert_eq!(gone, vec![4]);
        assert_eq!(
            with(&fx, "UID SEARCH CHARSET UTF-8 BODY [[crème]]", ctx())
                .await
                .0,
            "* SEARCH"
        );
        assert_eq!(
            with(&fx, "UID SEARCH NOT BODY zzz", ctx()).await.0,
            "* SEARCH 1 2 3 5 6 7 8 9 10 11 12"
        );
        assert_eq!(
            with(&fx, "UID SEARCH NOT FROM zzz", ctx()).await.0,
            "* SEARCH 1 2 3 5 6 7 8 9 10 11 12"
        );
        // Index keys answer from the caller's view.
        assert_eq!(with(&fx, "UID SEARCH DELETED", ctx()).await.0, "* SEARCH 4");
    });
}

/// A random search expression over keys whose single-key answers the
/// Dovecot table pins down, and its expected set by plain set algebra.
#[derive(Debug, Clone)]
enum Expr {
    Key(usize),
    Not(Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    And(Vec<Expr>),
}

const ATOMS: &[&str] = &[
    "SEEN",
    "FLAGGED",
    "KEYWORD Work",
    "2:4,10:*",
    "UID 3,5:7",
    "LARGER 300",
    "SINCE 7-Jan-2023",
    "SENTBEFORE 3-Jan-2023",
    "FROM example.com",
    "SUBJECT meeting",
    "TO alice",
    "HEADER X-Priority highest",
    "BODY noon",
    "BODY pineapple",
    "TEXT alice",
    "TEXT \"Inner subject\"",
];

impl Expr {
    fn imap(&self) -> String {
        match self {
            Expr::Key(i) => ATOMS[*i].to_owned(),
            Expr::Not(e) => format!("NOT {}", e.imap_one()),
            Expr::Or(a, b) => format!("OR {} {}", a.imap_one(), b.imap_one()),
            Expr::And(v) => v.iter().map(Expr::imap_one).collect::<Vec<_>>().join(" "),
        }
    }
    /// As a single search-key (parenthesised when it is a list).
    fn imap_one(&self) -> String {
        match self {
            Expr::And(_) => format!("({})", self.imap()),
            _ => self.imap(),
        }
    }
    fn eval(&self, atoms: &[Vec<bool>], msg: usize) -> bool {
        match self {
            Expr::Key(i) => atoms[*i][msg],
            Expr::Not(e) => !e.eval(atoms, msg),
            Expr::Or(a, b) => a.eval(atoms, msg) || b.eval(atoms, msg),
            Expr::And(v) => v.iter().all(|e| e.eval(atoms, msg)),
        }
    }
}

fn expr() -> impl proptest::strategy::Strategy<Value = Expr> {
    use proptest::prelude::*;
    let leaf = (0..ATOMS.len()).prop_map(Expr::Key);
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
            proptest::collection::vec(inner, 1..4).prop_map(Expr::And),
        ]
    })
}

/// Three-valued, level-by-level evaluation with batched reads must agree
/// with plain boolean algebra over the single-key answers.
#[test]
fn nested_and_or_not_agree_with_set_algebra() {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::{Config, TestRunner};
    let failures = run(|fx| async move {
        let mut atoms = Vec::new();
        for a in ATOMS {
            let (out, _) = answer(&fx, &format!("SEARCH {a}"), &ctx()).await;
            let nums: Vec<usize> = out
                .trim_start_matches("* SEARCH")
                .split_whitespace()
                .map(|n| n.parse().unwrap())
                .collect();
            atoms.push((1..=12).map(|s| nums.contains(&s)).collect::<Vec<bool>>());
        }
        let mut runner = TestRunner::new(Config {
            cases: 300,
            ..Config::default()
        });
        let mut failures = Vec::new();
        for _ in 0..300 {
            let e = expr().new_tree(&mut runner).unwrap().current();
            let want: Vec<String> = (0..12)
                .filter(|&m| e.eval(&atoms, m))
                .map(|m| (m + 1).to_string())
                .collect();
            let want = if want.is_empty() {
                "* SEARCH".to_owned()
            } else {
                format!("* SEARCH {}", want.join(" "))
            };
            let cmd = format!("SEARCH {}", e.imap());
            let (got, _) = answer(&fx, &cmd, &ctx()).await;
            if got != want {
                failures.push(format!("{cmd}\n   want {want}\n    got {got}"));
            }
        }
        failures
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Parses raw command bytes and searches `msgs` (which may be a subset).
async fn raw_answer(fx: &Fixture, msgs: &[store::MessageInfo], cmd: &[u8]) -> String {
    let mut buf = cmd.to_vec();
    buf.extend_from_slice(b"\r\n");
    let mut reader = CommandReader::new(Limits::default());
    let Ok(Parsed::Command { command, .. }) = reader.parse(&buf) else {
        return "PARSE ERROR".to_owned();
    };
    let CommandBody::Search { keys, uid, .. } = command.body else {
        panic!()
    };
    let o = search::search(&fx.store, fx.mailbox, &fx.keywords, msgs, &keys, &ctx())
        .await
        .unwrap();
    let mut out = BytesMut::new();
    search::render_result(&mut out, msgs, &o, uid, SearchResponse::Plain);
    String::from_utf8(out.to_vec()).unwrap()
}

#[test]
fn odd_but_valid_input_gives_plain_answers() {
    run(|fx| async move {
        let all = fx.msgs.clone();
        // A needle that is not UTF-8 is compared lossily and matches nothing.
        assert_eq!(
            raw_answer(&fx, &all, b"t SEARCH BODY {2+}\r\n\xff\xfe").await,
            "* SEARCH\r\n"
        );
        assert_eq!(
            raw_answer(&fx, &all, b"t SEARCH HEADER {3+}\r\n\xffab x").await,
            "* SEARCH\r\n"
        );
        // An empty header name names no field.
        assert_eq!(
            raw_answer(&fx, &all, b"t SEARCH HEADER \"\" \"\"").await,
            "* SEARCH\r\n"
        );
        // Numbers at the top of the range and `*` forms (`n:*` with n past
        // the last UID still names the last message, RFC 9051 6.4.8).
        assert_eq!(
            raw_answer(&fx, &all, b"t UID SEARCH UID 4294967295:*").await,
            "* SEARCH 12\r\n"
        );
        assert_eq!(
            raw_answer(&fx, &all, b"t UID SEARCH UID 4294967295").await,
            "* SEARCH\r\n"
        );
        assert_eq!(
            raw_answer(&fx, &all, b"t SEARCH *:*").await,
            "* SEARCH 12\r\n"
        );
        assert_eq!(
            raw_answer(&fx, &all, b"t SEARCH 4294967295:4294967294").await,
            "* SEARCH\r\n"
        );
        assert_eq!(
            raw_answer(&fx, &all, b"t SEARCH LARGER 9223372036854775807").await,
            "* SEARCH\r\n"
        );
        assert_eq!(
            raw_answer(&fx, &all, b"t SEARCH SMALLER 0").await,
            "* SEARCH\r\n"
        );
        // The empty view: `*` has nothing to name.
        assert_eq!(
            raw_answer(&fx, &[], b"t UID SEARCH 1:* UID 1:* TEXT x").await,
            "* SEARCH\r\n"
        );
        // A view that is a subset (the session's own): sequence numbers are its own.
        let tail = &all[8..];
        assert_eq!(
            raw_answer(&fx, tail, b"t SEARCH 2:3 SEEN").await,
            "* SEARCH 2\r\n"
        );
        assert_eq!(
            raw_answer(&fx, tail, b"t UID SEARCH 2:3 SEEN").await,
            "* SEARCH 10\r\n"
        );
    });
}

#[test]
fn a_header_longer_than_the_probe_is_still_searched_whole() {
    run(|mut fx| async move {
        let mut raw = b"From: long@example.com\r\nX-Long: ".to_vec();
        for _ in 0..(20 << 10) / 64 {
            raw.extend_from_slice(&[b'x'; 62]);
            raw.extend_from_slice(b"\r\n ");
        }
        raw.extend_from_slice(b"end\r\nX-Last: findme\r\n\r\nbody mentions X-Last: notme\r\n");
        let m = store::NewMessage {
            raw: &raw,
            flags: store::Flags::empty(),
            keywords: Vec::new(),
            internal_date: 1_673_000_000,
        };
        fx.store.append(fx.mailbox, &[m]).await.unwrap();
        fx.refresh();
        assert_eq!(
            with(&fx, "UID SEARCH HEADER X-Last findme", ctx()).await.0,
            "* SEARCH 13"
        );
        assert_eq!(
            with(&fx, "UID SEARCH HEADER X-Last notme", ctx()).await.0,
            "* SEARCH"
        );
        assert_eq!(
            with(&fx, "UID SEARCH HEADER X-Long \"x end\"", ctx())
                .await
                .0,
            "* SEARCH 13"
        );
        assert_eq!(
            with(&fx, "UID SEARCH TEXT findme", ctx()).await.0,
            "* SEARCH 13"
        );
        assert_eq!(
            with(&fx, "UID SEARCH BODY findme", ctx()).await.0,
            "* SEARCH"
        );
        assert_eq!(
            with(&fx, "UID SEARCH BODY notme", ctx()).await.0,
            "* SEARCH 13"
        );
    });
}

/// An UPDATE context re-decides only the messages that changed: the
/// answer for them must be the full search's, `*` and all.
#[test]
fn search_among_agrees_with_the_full_search() {
    let failures = run(|fx| async move {
        let among = [0u32, 3, 6, 9, 11];
        let mut failures = Vec::new();
        for cmd in [
            "UID SEARCH UID 10:*",
            "UID SEARCH OR FLAGGED SEEN",
            "UID SEARCH NOT DELETED",
            "UID SEARCH FROM example.com",
            "UID SEARCH TEXT heidi",
            "UID SEARCH 2:4,10:*",
            "UID SEARCH LARGER 1000",
        ] {
            let buf = wire(&format!("t {cmd}"));
            let mut reader = CommandReader::new(Limits::default());
            let Ok(Parsed::Command { command, .. }) = reader.parse(&buf) else {
                panic!("{cmd}");
            };
            let CommandBody::Search { keys, .. } = command.body else {
                panic!("{cmd}");
            };
            let c = ctx();
            let full = search::search(&fx.store, fx.mailbox, &fx.keywords, &fx.msgs, &keys, &c)
                .await
                .unwrap();
            let some = search::search_among(
                &fx.store,
                fx.mailbox,
                &fx.keywords,
                &fx.msgs,
                &among,
                &keys,
                &c,
            )
            .await
            .unwrap();
            let want: Vec<u32> = full
                .matches
                .iter()
                .copied()
                .filter(|i| among.contains(i))
                .collect();
            if some.matches != want {
                failures.push(format!("{cmd}: want {want:?} got {:?}", some.matches));
            }
        }
        failures
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn older_and_younger_count_seconds_from_now() {
    run(|fx| async move {
        let first = fx.msgs[0].internal_date;
        let at = SearchContext {
            now: first + 100,
            ..ctx()
        };
        // RFC 5032: YOUNGER is "within" the interval (age <= n), OLDER is
        // older than it (age > n); the boundary belongs to YOUNGER.
        for (cmd, want) in [
            ("UID SEARCH UID 1 YOUNGER 100", "* SEARCH 1"),
            ("UID SEARCH UID 1 YOUNGER 99", "* SEARCH"),
            ("UID SEARCH UID 1 OLDER 100", "* SEARCH"),
            ("UID SEARCH UID 1 OLDER 99", "* SEARCH 1"),
        ] {
            assert_eq!(with(&fx, cmd, at).await.0, want, "{cmd}");
        }
    });
}
