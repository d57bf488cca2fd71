//! Properties of the codec and the parsers over generated input: stuffing
//! round trips, the DATA decoder is blind to how its input is split, and no
//! byte string makes a parser panic or stall.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pop3_proto::{
    DataDecoder, DotStuffer, NewlineMode, Recovery, crlf_len, lmtp, pop3, skip_to_eol,
};
use proptest::prelude::*;

/// Bytes rich in what matters here: dots, CR, LF, at every position.
fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            3 => Just(b'.'),
            3 => Just(b'\r'),
            3 => Just(b'\n'),
            1 => Just(0u8),
            4 => any::<u8>(),
        ],
        0..200,
    )
}

fn ending_with_crlf() -> impl Strategy<Value = Vec<u8>> {
    body_bytes().prop_map(|mut v| {
        v.extend_from_slice(b"\r\n");
        v
    })
}

fn stuff(mode: NewlineMode, data: &[u8], chunk: usize) -> Vec<u8> {
    let mut s = DotStuffer::new(mode);
    let mut out = Vec::new();
    for c in data.chunks(chunk.max(1)) {
        s.push(c, &mut out);
    }
    s.finish(&mut out);
    out
}

fn decode_in(parts: &[&[u8]], max: u64) -> (Vec<u8>, usize, bool, bool) {
    let mut d = DataDecoder::new(max);
    let mut out = Vec::new();
    let mut consumed = 0;
    for p in parts {
        let progress = d.decode(p, &mut out);
        consumed += progress.consumed;
        if progress.done {
            break;
        }
    }
    (out, consumed, d.is_done(), d.too_big())
}

/// Every bare LF preceded by a CR, as POP3 puts it on the wire.
fn crlf_normalized(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev = None;
    for &b in data {
        if b == b'\n' && prev != Some(b'\r') {
            out.push(b'\r');
        }
        out.push(b);
        prev = Some(b);
    }
    out
}

const TOKENS: &[&[u8]] = &[
    b"USER",
    b"PASS",
    b"APOP",
    b"AUTH",
    b"STAT",
    b"LIST",
    b"RETR",
    b"TOP",
    b"UIDL",
    b"QUIT",
    b"LHLO",
    b"MAIL FROM:",
    b"RCPT TO:",
    b"DATA",
    b"<",
    b">",
    b"@",
    b"\"",
    b"\\",
    b"SIZE=",
    b"BODY=",
    b"SMTPUTF8",
    b" ",
    b"\t",
    b"\r\n",
    b"\n",
    b"\r",
    b"1",
    b"2147483648",
    b"0",
    b"=",
    b"*",
    b"dGVzdA==",
    b"a.b",
    b"[1.2.3.4]",
    b"\xc3\xa9",
    b"\xff",
    b"\0",
];

/// Lines built from the two protocols' words, so parsers see valid,
/// nearly-valid and broken commands, not just noise.
fn command_soup() -> impl Strategy<Value = Vec<u8>> {
    let token = prop::sample::select(TOKENS);
    prop::collection::vec(token, 0..60).prop_map(|ts| ts.concat())
}

fn any_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![command_soup(), prop::collection::vec(any::<u8>(), 0..300),]
}

/// True when `buf` holds no LF inside the first `max_line` bytes.
fn no_line_within(buf: &[u8], max_line: usize) -> bool {
    buf.iter().take(max_line).all(|&b| b != b'\n')
}

/// Drives `parse` over `input` as a session would and checks that every
/// step makes progress and that it only waits when it must.
fn drive<E: std::fmt::Debug>(
    input: &[u8],
    max_line: usize,
    parse: impl Fn(&[u8]) -> Result<Option<usize>, (Recovery, E)>,
) -> Result<(), TestCaseError> {
    let mut buf = input;
    let mut discarding = false;
    let mut steps = 0;
    loop {
        steps += 1;
        prop_assert!(steps <= input.len() + 2, "no progress");
        if discarding {
            match skip_to_eol(buf) {
                Some(n) => {
                    buf = &buf[n..];
                    discarding = false;
                }
                None => return Ok(()),
            }
        }
        match parse(buf) {
            Ok(None) => {
                prop_assert!(no_line_within(buf, max_line));
                prop_assert!(buf.len() < max_line, "waiting on a full buffer");
                return Ok(());
            }
            Ok(Some(consumed)) => {
                prop_assert!(consumed > 0 && consumed <= buf.len());
                buf = &buf[consumed..];
            }
            Err((Recovery::Resync { skip }, _)) => {
                prop_assert!(skip > 0 && skip <= buf.len());
                buf = &buf[skip..];
            }
            Err((Recovery::DiscardToEol { skip }, _)) => {
                prop_assert_eq!(skip, buf.len());
                prop_assert!(no_line_within(buf, max_line));
                buf = &buf[skip..];
                discarding = true;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn keep_mode_round_trips(data in ending_with_crlf(), chunk in 1usize..64) {
        let wire = stuff(NewlineMode::Keep, &data, chunk);
        let (out, consumed, done, too_big) = decode_in(&[&wire], u64::MAX);
        prop_assert!(done && !too_big);
        prop_assert_eq!(consumed, wire.len());
        prop_assert_eq!(out, data);
    }

    #[test]
    fn pop3_mode_round_trips_to_crlf_lines(data in ending_with_crlf(), chunk in 1usize..64) {
        let wire = stuff(NewlineMode::ToCrlf, &data, chunk);
        let (out, consumed, done, _) = decode_in(&[&wire], u64::MAX);
        prop_assert!(done);
        prop_assert_eq!(consumed, wire.len());
        let normalized = crlf_normalized(&data);
        prop_assert_eq!(crlf_len(&data), normalized.len() as u64);
        prop_assert_eq!(out, normalized);
    }

    #[test]
    fn stuffing_ignores_chunk_boundaries(data in body_bytes(), chunk in 1usize..16) {
        for mode in [NewlineMode::Keep, NewlineMode::ToCrlf] {
            prop_assert_eq!(stuff(mode, &data, chunk), stuff(mode, &data, data.len() + 1));
        }
    }

    #[test]
    fn pop3_wire_has_only_crlf_lines(data in body_bytes()) {
        let wire = stuff(NewlineMode::ToCrlf, &data, 7);
        for (i, &b) in wire.iter().enumerate() {
            if b == b'\n' {
                prop_assert!(i > 0 && wire[i - 1] == b'\r');
            }
        }
        prop_assert!(wire.ends_with(b"\r\n.\r\n") || wire == b".\r\n");
    }

    #[test]
    fn decoder_is_blind_to_split_points(data in ending_with_crlf(), tail in body_bytes()) {
        let mut wire = stuff(NewlineMode::Keep, &data, 4096);
        let body_len = wire.len();
        wire.extend_from_slice(&tail);
        let whole = decode_in(&[&wire], u64::MAX);
        prop_assert_eq!(whole.1, body_len);
        prop_assert_eq!(&whole.0, &data);
        for k in 0..=wire.len() {
            let (a, b) = wire.split_at(k);
            prop_assert_eq!(&decode_in(&[a, b], u64::MAX), &whole, "split at {}", k);
        }
        let bytes: Vec<&[u8]> = wire.chunks(1).collect();
        prop_assert_eq!(&decode_in(&bytes, u64::MAX), &whole);
    }

    #[test]
    fn decoder_on_raw_bytes_never_stalls(input in any_input(), max in 0u64..64) {
        let mut d = DataDecoder::new(max);
        let mut out = Vec::new();
        let p = d.decode(&input, &mut out);
        prop_assert!(p.consumed <= input.len());
        if !p.done {
            prop_assert_eq!(p.consumed, input.len());
        }
        prop_assert!(out.len() as u64 <= max);
        prop_assert_eq!(d.too_big(), d.size() > max);
    }

    #[test]
    fn size_limit_is_exact_and_keeps_sync(data in ending_with_crlf(), max in 0u64..256) {
        let mut wire = stuff(NewlineMode::Keep, &data, 4096);
        let body_len = wire.len();
        wire.extend_from_slice(b"QUIT\r\n");
        let (out, consumed, done, too_big) = decode_in(&[&wire], max);
        prop_assert!(done);
        prop_assert_eq!(consumed, body_len);
        prop_assert_eq!(too_big, data.len() as u64 > max);
        if !too_big {
            prop_assert_eq!(out, data);
        } else {
            prop_assert_eq!(&out[..], &data[..max as usize]);
        }
    }

    #[test]
    fn pop3_parser_never_panics_or_stalls(input in any_input(), max_line in 16usize..80) {
        let limits = pop3::Limits { max_line, max_sasl_line: max_line };
        drive(&input, max_line, |buf| match pop3::parse_command(buf, &limits) {
            Ok(p) => Ok(p.map(|p| p.consumed)),
            Err(e) => Err((e.recovery, e.kind)),
        })?;
        drive(&input, max_line, |buf| match pop3::parse_sasl_response(buf, &limits) {
            Ok(p) => Ok(p.map(|p| p.consumed)),
            Err(e) => Err((e.recovery, e.kind)),
        })?;
    }

    #[test]
    fn lmtp_parser_never_panics_or_stalls(input in any_input(), max_line in 16usize..80) {
        let limits = lmtp::Limits { max_line };
        drive(&input, max_line, |buf| match lmtp::parse_command(buf, &limits) {
            Ok(p) => Ok(p.map(|p| p.consumed)),
            Err(e) => Err((e.recovery, e.kind)),
        })?;
    }

    #[test]
    fn message_numbers_in_range_parse(n in 1u32..=(1u32 << 31), zeros in 0usize..3) {
        let line = format!("RETR {}{n}\r\n", "0".repeat(zeros));
        let p = pop3::parse_command(line.as_bytes(), &pop3::Limits::default()).unwrap().unwrap();
        prop_assert_eq!(p.value, pop3::Command::Retr(n));
        let over = format!("DELE {}\r\n", u64::from(n) + u64::from(1u32 << 31));
        let e = pop3::parse_command(over.as_bytes(), &pop3::Limits::default()).unwrap_err();
        prop_assert_eq!(e.kind, pop3::ErrorKind::BadMessageNumber);
    }

    #[test]
    fn sasl_data_round_trips(bytes in prop::collection::vec(any::<u8>(), 1..100)) {
        let line = format!("{}\r\n", STANDARD.encode(&bytes));
        let p = pop3::parse_sasl_response(line.as_bytes(), &pop3::Limits::default()).unwrap().unwrap();
        let pop3::SaslResponse::Data(text) = p.value else {
            return Err(TestCaseError::fail("not data"));
        };
        let mut out = Vec::new();
        prop_assert_eq!(pop3::decode_base64(text, &mut out), Ok(()));
        prop_assert_eq!(out, bytes);
    }

    #[test]
    fn accepted_base64_always_decodes(text in "[A-Za-z0-9+/=*]{0,12}") {
        let line = format!("{text}\r\n");
        let parsed = pop3::parse_sasl_response(line.as_bytes(), &pop3::Limits::default());
        if let Ok(Some(p)) = parsed
            && let pop3::SaslResponse::Data(t) = p.value
        {
            let mut out = Vec::new();
            prop_assert_eq!(pop3::decode_base64(t, &mut out), Ok(()));
        }
    }

    #[test]
    fn top_is_a_prefix_ending_at_a_line_end(msg in body_bytes(), n in 0u32..10) {
        let len = pop3::top_len(&msg, n);
        prop_assert!(len <= msg.len());
        prop_assert!(len == msg.len() || msg[len - 1] == b'\n');
        prop_assert!(pop3::top_len(&msg, n + 1) >= len);
    }
}
