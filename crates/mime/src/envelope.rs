//! ENVELOPE (RFC 9051 §7.5.2) from a header as written, the way Dovecot
//! builds it: for a repeated field the last occurrence counts, repeated
//! address fields add up, and folding becomes a single space.

use mail_parser::Header;

use crate::address;
use crate::facts::{Address, Envelope};
use crate::headers::{all, raw_value, unfold_collapsed};

fn addresses(raw: &[u8], headers: &[Header<'_>], name: &str, max: usize) -> Vec<Address> {
    let mut out = Vec::new();
    for h in all(raw, headers, name) {
        let room = max.saturating_sub(out.len());
        if room == 0 {
            break;
        }
        out.extend(address::parse_list(
            &unfold_collapsed(raw_value(raw, h)),
            room,
        ));
    }
    out
}

/// The last `name` field, unfolded; None when absent or empty (NIL), except
/// that an empty Subject stays an empty string when `keep_empty`.
fn nstring(raw: &[u8], headers: &[Header<'_>], name: &str, keep_empty: bool) -> Option<Vec<u8>> {
    let value = all(raw, headers, name)
        .last()
        .map(|h| unfold_collapsed(raw_value(raw, h)))?;
    (keep_empty || !value.is_empty()).then_some(value)
}

/// The ten ENVELOPE fields of the header `headers` (offsets into `raw`);
/// Sender and Reply-To fall back to From.
pub(crate) fn envelope(raw: &[u8], headers: &[Header<'_>], max_addresses: usize) -> Envelope {
    let from = addresses(raw, headers, "From", max_addresses);
    let mut sender = addresses(raw, headers, "Sender", max_addresses);
    let mut reply_to = addresses(raw, headers, "Reply-To", max_addresses);
    if sender.is_empty() {
        sender = from.clone();
    }
    if reply_to.is_empty() {
        reply_to = from.clone();
    }
    Envelope {
        date: nstring(raw, headers, "Date", false),
        subject: nstring(raw, headers, "Subject", true),
        from,
        sender,
        reply_to,
        to: addresses(raw, headers, "To", max_addresses),
        cc: addresses(raw, headers, "Cc", max_addresses),
        bcc: addresses(raw, headers, "Bcc", max_addresses),
        in_reply_to: nstring(raw, headers, "In-Reply-To", false),
        message_id: nstring(raw, headers, "Message-ID", false),
    }
}
