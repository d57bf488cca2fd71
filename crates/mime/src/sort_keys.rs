//! SORT and THREAD keys (RFC 5256, RFC 5957) from mail-parser's decoded
//! header values.

use mail_parser::Message;

use crate::facts::{SortAddress, SortKeys};
use crate::subject::base_subject;

fn sort_address(list: Option<&mail_parser::Address<'_>>) -> Option<SortAddress> {
    let first = list?.first()?;
    let addr = first.address().unwrap_or_default();
    let (mailbox, domain) = addr.rsplit_once('@').unwrap_or((addr, ""));
    Some(SortAddress {
        mailbox: mailbox.to_lowercase(),
        domain: domain.to_lowercase(),
        name: first.name().unwrap_or_default().to_string(),
    })
}

fn id_list(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match value {
        mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Keys of the top-level header of `msg`.
pub(crate) fn sort_keys(msg: &Message<'_>) -> SortKeys {
    let (base, is_reply) = base_subject(msg.subject().unwrap_or_default());
    SortKeys {
        sent_date: msg
            .date()
            .filter(|d| d.is_valid())
            .map(|d| d.to_timestamp()),
        base_subject: base,
        subject_is_reply_or_fwd: is_reply,
        from: sort_address(msg.from()),
        to: sort_address(msg.to()),
        cc: sort_address(msg.cc()),
        message_id: msg.message_id().map(str::to_string),
        in_reply_to: id_list(msg.in_reply_to()),
        references: id_list(msg.references()),
    }
}
