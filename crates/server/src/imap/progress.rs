//! INPROGRESS (RFC 9585): a long SEARCH, SORT or THREAD tells the client
//! how far it is, so neither the user nor a client's timeout gives up on a
//! command that is working through a million messages.

use crate::config::ImapSettings;
use crate::transport::Conn;
use imap_exec::search::Progress;
use imap_proto::encode::{self, Code, RespStatus};
use std::time::{Duration, Instant};

pub(super) struct InProgress<'c> {
    conn: &'c mut Conn,
    tag: &'c [u8],
    every: Option<Duration>,
    next: Instant,
    /// The connection failed a flush: the command finds out itself.
    broken: bool,
}

impl<'c> InProgress<'c> {
    pub fn new(conn: &'c mut Conn, tag: &'c [u8], cfg: &ImapSettings) -> Self {
        let every = (cfg.inprogress_interval_ms > 0)
            .then(|| Duration::from_millis(cfg.inprogress_interval_ms));
        InProgress {
            conn,
            tag,
            every,
            next: Instant::now() + every.unwrap_or_default(),
            broken: false,
        }
    }
}

/// `INPROGRESS ("tag" done total)`. A tag cannot hold `"` or `\`
/// (RFC 9051: they are not ASTRING-CHARs), so it quotes as it is.
fn code_text(tag: &[u8], done: u32, total: u32) -> String {
    format!(
        "INPROGRESS (\"{}\" {done} {total})",
        String::from_utf8_lossy(tag)
    )
}

impl Progress for InProgress<'_> {
    async fn report(&mut self, done: u32, total: u32) {
        let Some(every) = self.every else { return };
        let now = Instant::now();
        if self.broken || now < self.next {
            return;
        }
        self.next = now + every;
        let code = code_text(self.tag, done, total);
        encode::untagged_status(
            &mut self.conn.wbuf,
            RespStatus::Ok,
            Some(&Code::Other(&code)),
            "Still searching",
        );
        if self.conn.flush().await.is_err() {
            self.broken = true;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn code_names_the_command_by_its_tag() {
        assert_eq!(
            super::code_text(b"A01", 4096, 100000),
            "INPROGRESS (\"A01\" 4096 100000)"
        );
    }
}
