//! SORT and THREAD keys (RFC 5256, RFC 5957) from mail-parser's decoded
//! header values.
//!
//! Where a field appears more than once the first occurrence counts, as it
//! does for ENVELOPE (mail-parser's own accessors take the last one).

use mail_parser::{Header, HeaderName, HeaderValue};

use crate::facts::{SortAddress, SortKeys};
use crate::subject::base_subject;

fn first<'h, 'x>(headers: &'h [Header<'x>], name: HeaderName<'_>) -> Option<&'h HeaderValue<'x>> {
    headers.iter().find(|h| h.name == name).map(|h| &h.value)
}

fn sort_address(value: Option<&HeaderValue<'_>>) -> Option<SortAddress> {
    let first = value?.as_address()?.first()?;
    let addr = first.address().unwrap_or_default();
    let (mailbox, domain) = addr.rsplit_once('@').unwrap_or((addr, ""));
    Some(SortAddress {
        mailbox: mailbox.to_lowercase(),
        domain: domain.to_lowercase(),
        name: first.name().unwrap_or_default().to_string(),
    })
}

fn id_list(value: Option<&HeaderValue<'_>>) -> Vec<String> {
    match value {
        Some(HeaderValue::Text(t)) => vec![t.to_string()],
        Some(HeaderValue::TextList(l)) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Keys of a top-level header as mail-parser parsed it.
pub(crate) fn sort_keys(headers: &[Header<'_>]) -> SortKeys {
    let subject = first(headers, HeaderName::Subject)
        .and_then(HeaderValue::as_text)
        .unwrap_or_default();
    let (base, is_reply) = base_subject(subject);
    SortKeys {
        sent_date: first(headers, HeaderName::Date)
            .and_then(HeaderValue::as_datetime)
            .filter(|d| d.is_valid())
            .map(|d| d.to_timestamp()),
        base_subject: base,
        subject_is_reply_or_fwd: is_reply,
        from: sort_address(first(headers, HeaderName::From)),
        to: sort_address(first(headers, HeaderName::To)),
        cc: sort_address(first(headers, HeaderName::Cc)),
        message_id: id_list(first(headers, HeaderName::MessageId))
            .into_iter()
            .next(),
        in_reply_to: id_list(first(headers, HeaderName::InReplyTo)),
        references: id_list(first(headers, HeaderName::References)),
    }
}
