#![no_main]
//! Feed arbitrary bytes to the command reader (as one buffer and split in
//! two reads), the line-mode helpers and the modified UTF-7 decoder. Any
//! panic, or a reader that claims more bytes than it was given, is a bug.

use imap_proto::{CommandReader, Limits, Parsed, Recovery};
use libfuzzer_sys::fuzz_target;

fn drain(reader: &mut CommandReader, mut buf: &[u8]) -> usize {
    let mut commands = 0;
    for _ in 0..10_000 {
        match reader.parse(buf) {
            Ok(Parsed::Command { command, consumed }) => {
                assert!(consumed > 0 && consumed <= buf.len());
                let _ = command.body.name();
                if let imap_proto::CommandBody::Fetch { attrs, set, .. } = &command.body {
                    let _ = attrs.iter().count();
                    let _ = set.iter().count();
                }
                if let imap_proto::CommandBody::Search { keys, .. } = &command.body {
                    let _ = keys.iter().count();
                }
                buf = &buf[consumed..];
                commands += 1;
            }
            Ok(Parsed::Incomplete { .. }) | Ok(Parsed::Continue { .. }) => break,
            Err(e) => match e.recovery {
                Recovery::Resync { skip } => {
                    assert!(skip > 0 && skip <= buf.len());
                    buf = &buf[skip..];
                }
                Recovery::Close => break,
            },
        }
    }
    commands
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_line: 512,
        max_literal: 4096,
        max_string_literal: 256,
        max_command: 8192,
        max_depth: 8,
        max_sequence_ranges: 16,
        max_arguments: 32,
    };
    let mut reader = CommandReader::new(limits);
    let whole = drain(&mut reader, data);
    // Same bytes arriving in two reads must give the same commands up to
    // the split (the reader keeps state between calls).
    if data.len() > 1 {
        let mut r2 = CommandReader::new(limits);
        let split = data[0] as usize % data.len();
        let _ = r2.parse(&data[..split]);
        let again = drain(&mut r2, data);
        assert_eq!(whole, again);
    }
    let _ = imap_proto::parse_idle_done(data, &limits);
    let _ = imap_proto::parse_auth_line(data, &limits);
    if let Ok(s) = imap_proto::mutf7::decode(data) {
        assert_eq!(imap_proto::mutf7::encode(&s), data);
    }
});
