//! ENVELOPE (RFC 9051 §7.5.2) from a header as written.

use mail_parser::Header;

use crate::address;
use crate::facts::{Address, Envelope};
use crate::headers::{find, nonempty_value_of, raw_value, unfold, value_of};

fn addresses(raw: &[u8], headers: &[Header<'_>], name: &str, max: usize) -> Vec<Address> {
    find(raw, headers, name)
        .map(|h| address::parse_list(&unfold(raw_value(raw, h)), max))
        .unwrap_or_default()
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
        date: nonempty_value_of(raw, headers, "Date"),
        subject: value_of(raw, headers, "Subject"),
        from,
        sender,
        reply_to,
        to: addresses(raw, headers, "To", max_addresses),
        cc: addresses(raw, headers, "Cc", max_addresses),
        bcc: addresses(raw, headers, "Bcc", max_addresses),
        in_reply_to: nonempty_value_of(raw, headers, "In-Reply-To"),
        message_id: nonempty_value_of(raw, headers, "Message-ID"),
    }
}
