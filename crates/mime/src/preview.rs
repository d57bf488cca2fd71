//! RFC 8970 PREVIEW text.

use std::borrow::Cow;

use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::{Message, PartType};

use crate::decode::{classify, decode_binary};
use crate::headers::value_of;

/// Raw body bytes looked at for the preview: enough for 200 characters
/// after decoding, with room for markup in HTML.
const PREVIEW_TEXT_SCAN: usize = 16 * 1024;
const PREVIEW_HTML_SCAN: usize = 64 * 1024;

/// RFC 8970 preview from the first text body mail-parser picked (text/plain
/// preferred, else text/html with tags stripped), transfer- and
/// charset-decoded here since mail-parser was told not to decode.
pub(crate) fn preview(raw: &[u8], msg: &Message<'_>, max_chars: usize) -> String {
    let Some((part, is_html)) = msg
        .text_body
        .iter()
        .chain(msg.html_body.iter())
        .find_map(|&id| {
            let part = msg.parts.get(id as usize)?;
            match part.body {
                PartType::Text(_) => Some((part, false)),
                PartType::Html(_) => Some((part, true)),
                _ => None,
            }
        })
    else {
        return String::new();
    };
    let start = (part.offset_body as usize).min(raw.len());
    let end = (part.offset_end as usize).clamp(start, raw.len());
    let scan = if is_html {
        PREVIEW_HTML_SCAN
    } else {
        PREVIEW_TEXT_SCAN
    };
    let body = raw
        .get(start..end.min(start.saturating_add(scan)))
        .unwrap_or_default();
    let te = classify(value_of(raw, &part.headers, "Content-Transfer-Encoding").as_deref());
    let decoded = decode_binary(body, te).map_or(Cow::Borrowed(body), Cow::Owned);
    let charset = part
        .headers
        .iter()
        .rev()
        .find_map(|h| h.value.as_content_type())
        .and_then(|ct| ct.attribute("charset"))
        .and_then(|cs| charset_decoder(cs.as_bytes()));
    let text = match charset {
        Some(decode) => decode(&decoded),
        None => String::from_utf8_lossy(&decoded).into_owned(),
    };
    let text = if is_html {
        mail_parser::decoders::html::html_to_text(&text)
    } else {
        text
    };
    let mut out = String::new();
    let mut count = 0;
    let mut pending_space = false;
    for ch in text.chars() {
        if ch.is_whitespace() || ch.is_control() {
            pending_space = !out.is_empty();
            continue;
        }
        let needed = if pending_space { 2 } else { 1 };
        if count + needed > max_chars {
            break;
        }
        if pending_space {
            out.push(' ');
            count += 1;
            pending_space = false;
        }
        out.push(ch);
        count += 1;
    }
    out
}
