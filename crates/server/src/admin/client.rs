//! The tool's side: a connection for one user, with one method per store
//! operation an import needs. Runs on a glommio executor of the tool.

use super::wire::{self, Out, WireError, read_frame, write_frame};
use super::{MailboxState, op};
use glommio::net::UnixStream;
use std::path::Path;
use store::{MailboxId, NewMessage, SpecialUse};

pub struct Client {
    stream: UnixStream,
    /// The store did not exist before this connection (the server made it).
    pub new_store: bool,
}

/// Replies are small, except STATE's list of UIDs.
const MAX_REPLY: u64 = 64 << 20;

impl Client {
    /// `address`: an [`super::Endpoint`]'s.
    pub async fn connect(address: &Path, user: &str) -> Result<Client, WireError> {
        let stream = UnixStream::connect(address)
            .await
            .map_err(std::io::Error::from)?;
        let mut c = Client {
            stream,
            new_store: false,
        };
        let mut o = Out::new(op::HELLO);
        o.bytes(user.as_bytes());
        let reply = c.call(o).await?;
        let mut i = wire::reply(&reply)?;
        c.new_store = i.u8()? != 0;
        Ok(c)
    }

    async fn call(&mut self, o: Out) -> Result<Vec<u8>, WireError> {
        write_frame(&mut self.stream, &o.finish()).await?;
        read_frame(&mut self.stream, MAX_REPLY)
            .await?
            .ok_or(WireError::Malformed("the server closed the connection"))
    }

    pub async fn state(&mut self, name: &str) -> Result<Option<MailboxState>, WireError> {
        let mut o = Out::new(op::STATE);
        o.bytes(name.as_bytes());
        let r = self.call(o).await?;
        let mut i = wire::reply(&r)?;
        if i.u8()? == 0 {
            return Ok(None);
        }
        let (id, uidvalidity, uidnext) = (i.u32()?, i.u32()?, i.u32()?);
        let n = i.count(4)?;
        let uids = (0..n).map(|_| i.u32()).collect::<Result<Vec<_>, _>>()?;
        let last = match i.u8()? {
            0 => None,
            _ => Some((i.u32()?, i.u64()?, i.i64()?)),
        };
        i.end()?;
        Ok(Some(MailboxState {
            id,
            uidvalidity,
            uidnext,
            uids,
            last,
        }))
    }

    pub async fn import_mailbox(
        &mut self,
        name: &str,
        uidvalidity: u32,
        special: SpecialUse,
    ) -> Result<MailboxId, WireError> {
        let mut o = Out::new(op::MAILBOX);
        o.bytes(name.as_bytes())
            .u32(uidvalidity)
            .u8(special.to_u8());
        let r = self.call(o).await?;
        let mut i = wire::reply(&r)?;
        let id = i.u32()?;
        i.end()?;
        Ok(id)
    }

    fn messages(o: &mut Out, id: MailboxId, uids: &[u32], msgs: &[NewMessage<'_>]) {
        o.u32(id).u32(msgs.len() as u32);
        for (k, m) in msgs.iter().enumerate() {
            o.u32(uids.get(k).copied().unwrap_or(0))
                .u8(m.flags.0)
                .i64(m.internal_date)
                .u32(m.keywords.len() as u32);
            for kw in &m.keywords {
                o.bytes(kw.as_bytes());
            }
            o.bytes(m.raw);
        }
    }

    /// [`store::Store::import_append`] on the server's store.
    pub async fn import_append(
        &mut self,
        id: MailboxId,
        uids: &[u32],
        msgs: &[NewMessage<'_>],
    ) -> Result<(), WireError> {
        let mut o = Out::new(op::IMPORT_APPEND);
        Self::messages(&mut o, id, uids, msgs);
        let r = self.call(o).await?;
        wire::reply(&r)?.end()
    }

    /// [`store::Store::append`]: new UIDs, for when the source's are taken.
    pub async fn append(
        &mut self,
        id: MailboxId,
        msgs: &[NewMessage<'_>],
    ) -> Result<Vec<u32>, WireError> {
        let mut o = Out::new(op::APPEND);
        Self::messages(&mut o, id, &[], msgs);
        let r = self.call(o).await?;
        let mut i = wire::reply(&r)?;
        let n = i.count(4)?;
        let uids = (0..n).map(|_| i.u32()).collect::<Result<Vec<_>, _>>()?;
        i.end()?;
        Ok(uids)
    }

    pub async fn raise_uidnext(&mut self, id: MailboxId, uidnext: u32) -> Result<(), WireError> {
        let mut o = Out::new(op::RAISE_UIDNEXT);
        o.u32(id).u32(uidnext);
        let r = self.call(o).await?;
        wire::reply(&r)?.end()
    }

    pub async fn subscribe(&mut self, name: &str, on: bool) -> Result<(), WireError> {
        let mut o = Out::new(op::SUBSCRIBE);
        o.bytes(name.as_bytes()).u8(u8::from(on));
        let r = self.call(o).await?;
        wire::reply(&r)?.end()
    }
}
