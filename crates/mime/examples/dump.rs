//! Prints the facts of a message file (debugging aid).
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: dump <message-file>");
        std::process::exit(2);
    };
    let raw = match std::fs::read(&path) {
        Ok(raw) => raw,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let facts = mime_facts::compute(&raw);
    for (i, p) in facts.parts.iter().enumerate() {
        println!(
            "{i}: {}/{} {:?} h={} b={} e={} lines={} decoded={:?} children={:?}",
            String::from_utf8_lossy(&p.media_type),
            String::from_utf8_lossy(&p.media_subtype),
            p.transfer_encoding,
            p.header_start,
            p.body_start,
            p.body_end,
            p.lines,
            p.decoded_size,
            p.children
        );
        let body = raw
            .get(p.body_start as usize..p.body_end as usize)
            .unwrap_or_default();
        println!(
            "   body={:?}",
            String::from_utf8_lossy(&body[..body.len().min(120)])
        );
    }
    println!("envelope={:?}", facts.envelope);
    println!("sort={:?}", facts.sort);
    println!(
        "preview={:?} has_attachment={} truncated={}",
        facts.preview, facts.has_attachment, facts.truncated
    );
}
