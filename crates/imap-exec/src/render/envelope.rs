//! ENVELOPE: ten fields in fixed order, address lists NIL when empty.

use bytes::{BufMut, BytesMut};
use imap_proto::encode::nstring;
use mime_facts::{Address, Envelope};

/// Writes `(date subject from sender reply-to to cc bcc in-reply-to
/// message-id)`. The facts already default Sender and Reply-To to From and
/// flatten groups into IMAP's start/end markers, so this only prints.
pub fn envelope(buf: &mut BytesMut, env: &Envelope, utf8: bool) {
    buf.put_u8(b'(');
    nstring(buf, env.date.as_deref(), utf8);
    buf.put_u8(b' ');
    nstring(buf, env.subject.as_deref(), utf8);
    for list in [
        &env.from,
        &env.sender,
        &env.reply_to,
        &env.to,
        &env.cc,
        &env.bcc,
    ] {
        buf.put_u8(b' ');
        address_list(buf, list, utf8);
    }
    buf.put_u8(b' ');
    nstring(buf, env.in_reply_to.as_deref(), utf8);
    buf.put_u8(b' ');
    nstring(buf, env.message_id.as_deref(), utf8);
    buf.put_u8(b')');
}

/// `((name adl mailbox host)...)`, adjacent structures without a space as
/// RFC 9051's `"(" 1*address ")"` has it; NIL for an empty list.
fn address_list(buf: &mut BytesMut, list: &[Address], utf8: bool) {
    if list.is_empty() {
        buf.extend_from_slice(b"NIL");
        return;
    }
    buf.put_u8(b'(');
    for a in list {
        buf.put_u8(b'(');
        nstring(buf, a.name.as_deref(), utf8);
        buf.put_u8(b' ');
        nstring(buf, a.adl.as_deref(), utf8);
        buf.put_u8(b' ');
        nstring(buf, a.mailbox.as_deref(), utf8);
        buf.put_u8(b' ');
        nstring(buf, a.host.as_deref(), utf8);
        buf.put_u8(b')');
    }
    buf.put_u8(b')');
}
