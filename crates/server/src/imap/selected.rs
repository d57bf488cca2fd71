//! Commands of the authenticated and selected states: dispatch, SELECT and
//! EXAMINE, APPEND, FETCH, STORE, SEARCH, COPY, MOVE, EXPUNGE, CLOSE,
//! UNSELECT, CHECK and IDLE.
//!
//! A handler writes its own untagged responses and returns a [`Done`]; the
//! dispatcher then sends pending changes of the selected mailbox (without
//! EXPUNGE after FETCH, STORE and SEARCH, RFC 9051 §7.5.1) and the tagged
//! completion, in that order.

use super::names;
use super::progress::InProgress;
use super::session::{Cx, Next, Selected, claim_recent};
use imap_exec::ExecError;
use imap_exec::fetch::flag_names;
use imap_exec::view::{MailboxView, compress};
use imap_proto::encode::{self, Code, RespStatus};
use imap_proto::{AppendMessage, CommandBody, Flag, FlagList, Mailbox, SelectParams, StoreMode};
use store::{ExpungeMode, FlagOp, Flags, NewMessage};

/// Owned form of a completion response code.
enum DoneCode {
    None,
    ReadOnly,
    ReadWrite,
    AppendUid {
        uidvalidity: u32,
        uids: Vec<(u32, u32)>,
    },
    CopyUid {
        uidvalidity: u32,
        src: Vec<(u32, u32)>,
        dst: Vec<(u32, u32)>,
    },
    /// STORE UNCHANGEDSINCE: the messages it left alone (RFC 7162 §3.1.3).
    Modified(Vec<(u32, u32)>),
    /// RFC 9738: only the first n messages of the set were done.
    MessageLimit(u32),
}

struct Done {
    text: &'static str,
    code: DoneCode,
    /// Whether pending EXPUNGEs may be announced before the completion.
    allow_expunge: bool,
}

impl Done {
    fn ok(text: &'static str) -> Done {
        Done {
            text,
            code: DoneCode::None,
            allow_expunge: true,
        }
    }

    fn no_expunge(text: &'static str) -> Done {
        Done {
            allow_expunge: false,
            ..Done::ok(text)
        }
    }
}

/// A CONDSTORE-enabling command (RFC 7162 §3.1): refused where
/// `[imap] disable` has CONDSTORE. Takes fields, not `&mut Cx`, so callers
/// holding the selection can use it.
fn enable_condstore(
    imap: &crate::config::ImapSettings,
    enabled: &mut super::session::Enabled,
) -> Result<(), ExecError> {
    if !imap.allows("CONDSTORE") {
        return Err(ExecError::bad("CONDSTORE is not enabled on this server"));
    }
    enabled.condstore = true;
    Ok(())
}

/// The selection and what a search in it needs of the session (fields,
/// not `&Cx`, so the caller can still write responses meanwhile).
fn search_context<'s>(
    selected: &'s Option<Selected>,
    saved: Option<&'s [u32]>,
    enabled: super::session::Enabled,
    charset: Option<&'s [u8]>,
    imap: &crate::config::ImapSettings,
) -> Result<(&'s Selected, imap_exec::search::SearchContext<'s>), ExecError> {
    let sel = selected
        .as_ref()
        .ok_or_else(|| ExecError::bad("No mailbox selected"))?;
    let ctx = imap_exec::search::SearchContext {
        saved,
        recent: if enabled.rev2 { &[] } else { &sel.recent },
        now: now_unix(),
        utf8: enabled.utf8,
        charset,
        objectid: imap.allows("OBJECTID"),
        savedate: imap.allows("SAVEDATE"),
        within: imap.allows("WITHIN"),
    };
    Ok((sel, ctx))
}

/// What SORT or THREAD does with the matches.
#[derive(Clone, Copy)]
enum Ordering<'c> {
    Sort(
        Option<imap_proto::SearchReturn>,
        &'c [imap_proto::SortCriterion],
    ),
    Thread(imap_proto::ThreadAlgorithm),
}

const SYSTEM_FLAGS: [&str; 5] = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"];

fn to_store_flags(list: &FlagList<'_>) -> Result<(Flags, Vec<String>), ExecError> {
    let mut flags = Flags::empty();
    let mut keywords = Vec::new();
    for f in list.iter() {
        match f {
            Flag::Answered => flags = flags.union(Flags::ANSWERED),
            Flag::Flagged => flags = flags.union(Flags::FLAGGED),
            Flag::Deleted => flags = flags.union(Flags::DELETED),
            Flag::Seen => flags = flags.union(Flags::SEEN),
            Flag::Draft => flags = flags.union(Flags::DRAFT),
            Flag::Keyword(k) => {
                let k = std::str::from_utf8(k).map_err(|_| ExecError::bad("Invalid keyword"))?;
                if !keywords.iter().any(|x: &String| x.eq_ignore_ascii_case(k)) {
                    keywords.push(k.to_string());
                }
            }
            // \Recent and unknown \-flags cannot be set (RFC 9051 §2.3.2);
            // saying so beats silently dropping them (Dovecot answers BAD too).
            Flag::Extension(name) => {
                return Err(ExecError::bad(format!(
                    "Invalid system flag \\{}",
                    String::from_utf8_lossy(name)
                )));
            }
        }
    }
    Ok((flags, keywords))
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Cx {
    pub(super) async fn execute_authenticated(
        &mut self,
        tag: &[u8],
        body: CommandBody<'_>,
    ) -> Result<Next, ExecError> {
        self.cut_to = None;
        if self.enabled.uid_only && super::uidonly::uses_numbers(&body) {
            return Err(ExecError::bad_code(
                "UIDREQUIRED",
                "Message numbers are not allowed once UIDONLY is enabled",
            ));
        }
        let done = match body {
            CommandBody::Select { mailbox, params } => {
                self.expire_before_select(&mailbox).await;
                self.select(&mailbox, params, false)?
            }
            CommandBody::Examine { mailbox, params } => {
                self.expire_before_select(&mailbox).await;
                self.select(&mailbox, params, true)?
            }
            CommandBody::Create {
                mailbox,
                special_use,
            } => {
                self.create(tag, &mailbox, &special_use).await?;
                return Ok(Next::Continue);
            }
            CommandBody::Delete { mailbox } => {
                self.delete(tag, &mailbox).await?;
                return Ok(Next::Continue);
            }
            CommandBody::Rename { from, to } => {
                self.rename(tag, &from, &to).await?;
                return Ok(Next::Continue);
            }
            CommandBody::Subscribe { mailbox } => {
                self.subscribe(tag, &mailbox, true).await?;
                return Ok(Next::Continue);
            }
            CommandBody::Unsubscribe { mailbox } => {
                self.subscribe(tag, &mailbox, false).await?;
                return Ok(Next::Continue);
            }
            CommandBody::List(cmd) => {
                self.list(tag, &cmd)?;
                return Ok(Next::Continue);
            }
            CommandBody::Lsub { reference, pattern } => {
                self.lsub(tag, &reference, &pattern)?;
                return Ok(Next::Continue);
            }
            CommandBody::Status { mailbox, items } => {
                self.status(tag, &mailbox, items)?;
                return Ok(Next::Continue);
            }
            CommandBody::Append {
                mailbox,
                first,
                more,
            } => self.append(&mailbox, first, &more, (0, 0)).await?,
            CommandBody::Replace {
                uid,
                target,
                mailbox,
                message,
            } => self.replace(uid, target, &mailbox, message).await?,
            CommandBody::Idle => {
                if self.selected.is_none() && self.user.is_none() {
                    return Err(ExecError::bad("Log in first"));
                }
                return Ok(Next::Idle(tag.to_vec()));
            }
            CommandBody::Check => {
                self.need_selected()?;
                Done::ok("CHECK completed")
            }
            CommandBody::Close => {
                let sel = self.need_selected()?;
                let (read_only, id) = (sel.read_only, sel.view.id);
                if !read_only {
                    let store = self.store_or_err()?;
                    store.expunge(id, None, ExpungeMode::DeletedOnly).await?;
                }
                if let Some(sel) = self.selected.take() {
                    super::context::closed(&sel, &mut self.conn.wbuf);
                }
                self.saved = None;
                Done::ok("CLOSE completed")
            }
            CommandBody::Unselect => {
                if let Some(sel) = self.selected.take() {
                    super::context::closed(&sel, &mut self.conn.wbuf);
                } else {
                    return Err(ExecError::bad("No mailbox selected"));
                }
                self.saved = None;
                Done::ok("UNSELECT completed")
            }
            CommandBody::CancelUpdate { tags } => {
                super::context::cancel(self, &tags)?;
                Done::ok("No further updates")
            }
            CommandBody::Expunge => self.expunge(None).await?,
            CommandBody::UidExpunge { set } => {
                let idx = self.resolve(&set, true)?;
                let uids = self.uids_of(&idx);
                self.expunge(Some(compress(uids))).await?
            }
            CommandBody::Search {
                uid,
                returns,
                charset,
                keys,
            } => {
                self.search(
                    tag,
                    uid,
                    returns,
                    charset.as_ref().map(|c| c.to_bytes()),
                    &keys,
                )
                .await?
            }
            CommandBody::Fetch {
                uid,
                set,
                attrs,
                modifiers,
            } => self.fetch(uid, &set, &attrs, modifiers).await?,
            CommandBody::Sort {
                uid,
                returns,
                criteria,
                charset,
                keys,
            } => {
                let how = Ordering::Sort(returns, &criteria);
                self.sort_or_thread(tag, uid, how, &charset.to_bytes(), &keys)
                    .await?
            }
            CommandBody::Thread {
                uid,
                algorithm,
                charset,
                keys,
            } => {
                let how = Ordering::Thread(algorithm);
                self.sort_or_thread(tag, uid, how, &charset.to_bytes(), &keys)
                    .await?
            }
            CommandBody::Store {
                uid,
                set,
                unchanged_since,
                mode,
                silent,
                flags,
            } => {
                self.store_cmd(uid, &set, unchanged_since, mode, silent, &flags)
                    .await?
            }
            CommandBody::GetQuota { root } => {
                self.get_quota(&root)?;
                Done::ok("GETQUOTA completed")
            }
            CommandBody::GetQuotaRoot { mailbox } => {
                self.get_quota_root(&mailbox)?;
                Done::ok("GETQUOTAROOT completed")
            }
            CommandBody::SetQuota { .. } => {
                self.set_quota()?;
                Done::ok("SETQUOTA completed")
            }
            CommandBody::GetMetadata {
                max_size,
                depth,
                mailbox,
                entries,
            } => {
                self.get_metadata(tag, max_size, depth, &mailbox, &entries)?;
                return Ok(Next::Continue);
            }
            CommandBody::SetMetadata { mailbox, entries } => {
                self.set_metadata(tag, &mailbox, &entries).await?;
                return Ok(Next::Continue);
            }
            CommandBody::Notify(n) => {
                self.notify_cmd(tag, &n)?;
                return Ok(Next::Continue);
            }
            CommandBody::Copy { uid, set, mailbox } => {
                self.copy_or_move(uid, &set, &mailbox, false).await?
            }
            CommandBody::Move { uid, set, mailbox } => {
                self.copy_or_move(uid, &set, &mailbox, true).await?
            }
            other => {
                return Err(ExecError::bad(format!("{} is not supported", other.name())));
            }
        };
        let mut done = done;
        if let Some(n) = self.cut_to.take() {
            self.mark_message_limit(&mut done, n);
        }
        self.sync_and_notify(done.allow_expunge).await?;
        let code = match &done.code {
            DoneCode::None => None,
            DoneCode::ReadOnly => Some(Code::ReadOnly),
            DoneCode::ReadWrite => Some(Code::ReadWrite),
            DoneCode::AppendUid { uidvalidity, uids } => Some(Code::AppendUid {
                uid_validity: *uidvalidity,
                uids,
            }),
            DoneCode::CopyUid {
                uidvalidity,
                src,
                dst,
            } => Some(Code::CopyUid {
                uid_validity: *uidvalidity,
                source: src,
                dest: dst,
            }),
            DoneCode::Modified(set) => Some(Code::Modified(set)),
            DoneCode::MessageLimit(n) => Some(Code::MessageLimit(*n)),
        };
        self.tagged(tag, RespStatus::Ok, code.as_ref(), done.text);
        Ok(Next::Continue)
    }

    /// A CONDSTORE-enabling command: refused where `[imap] disable` has it.
    pub(super) fn enable_condstore(&mut self) -> Result<(), ExecError> {
        enable_condstore(&self.shard.cfg.imap, &mut self.enabled)
    }

    fn need_selected(&self) -> Result<&Selected, ExecError> {
        self.selected
            .as_ref()
            .ok_or_else(|| ExecError::bad("No mailbox selected"))
    }

    /// The view indexes `set` names, in mailbox order. With a
    /// `max_messages_per_command`, only the first that many: the lowest
    /// UIDs, so a client goes on from the last UID it saw (RFC 9738).
    fn resolve(
        &mut self,
        set: &imap_proto::SequenceSet<'_>,
        uid: bool,
    ) -> Result<Vec<usize>, ExecError> {
        let sel = self.need_selected()?;
        let mut idx = sel
            .view
            .resolve(set, uid, self.saved.as_deref())
            .map_err(|_| ExecError::bad("Invalid message sequence number"))?;
        let limit = self.shard.cfg.limits.max_messages_per_command;
        if limit > 0 && idx.len() > limit as usize {
            idx.truncate(limit as usize);
            self.cut_to = Some(limit);
        }
        Ok(idx)
    }

    /// Puts `[MESSAGELIMIT n]` on the tagged OK. A code already there that
    /// must stay tagged (MODIFIED) keeps its place and MESSAGELIMIT goes in
    /// an untagged OK; COPYUID moves to an untagged OK, as MOVE sends it
    /// (RFC 6851), because a partial COPY is what the client must notice.
    fn mark_message_limit(&mut self, done: &mut Done, n: u32) {
        match std::mem::replace(&mut done.code, DoneCode::MessageLimit(n)) {
            DoneCode::CopyUid {
                uidvalidity,
                src,
                dst,
            } => encode::untagged_status(
                &mut self.conn.wbuf,
                RespStatus::Ok,
                Some(&Code::CopyUid {
                    uid_validity: uidvalidity,
                    source: &src,
                    dest: &dst,
                }),
                "Copied",
            ),
            DoneCode::Modified(set) => {
                done.code = DoneCode::Modified(set);
                encode::untagged_status(
                    &mut self.conn.wbuf,
                    RespStatus::Ok,
                    Some(&Code::MessageLimit(n)),
                    "Only the first messages of the set were processed",
                );
            }
            _ => {}
        }
    }

    fn uids_of(&self, idx: &[usize]) -> Vec<u32> {
        let Some(sel) = self.selected.as_ref() else {
            return Vec::new();
        };
        let msgs = sel.view.messages();
        idx.iter()
            .filter_map(|&i| msgs.get(i).map(|m| m.uid))
            .collect()
    }

    /// Retention's lazy half: the mailbox about to be selected loses what
    /// is past its term first, so the new view never shows it. A failure
    /// leaves the messages for the next try and does not stop the SELECT.
    async fn expire_before_select(&mut self, mailbox: &Mailbox<'_>) {
        let Some(store) = self.store() else { return };
        let Ok(name) = names::decode(mailbox, self.utf8()) else {
            return;
        };
        let Some(id) = store.mailbox_id(&name) else {
            return;
        };
        if let Err(e) = crate::retention::expire_one(&self.shard, &store, id).await {
            tracing::warn!(error = %e, "retention on select failed");
        }
    }

    fn select(
        &mut self,
        mailbox: &Mailbox<'_>,
        params: SelectParams<'_>,
        read_only: bool,
    ) -> Result<Done, ExecError> {
        let store = self.store_or_err()?;
        if params.qresync.is_some() && !self.enabled.qresync {
            // RFC 7162 §3.2.5: the parameter needs ENABLE QRESYNC first.
            return Err(ExecError::bad(
                "QRESYNC is not enabled (ENABLE QRESYNC first)",
            ));
        }
        if params.condstore {
            self.enable_condstore()?;
        }
        let previous = self.selected.take();
        // RFC 5182 §2.1: the saved result belongs to the mailbox it was made in.
        self.saved = None;
        if let Some(prev) = previous {
            super::context::closed(&prev, &mut self.conn.wbuf);
            // RFC 9051 §6.3.2: the previous mailbox is closed first.
            encode::untagged_status(
                &mut self.conn.wbuf,
                RespStatus::Ok,
                Some(&Code::Closed),
                "Previous mailbox closed",
            );
        }
        let name = names::decode(mailbox, self.utf8())?;
        let id = store
            .mailbox_id(&name)
            .ok_or_else(|| ExecError::no(Some("NONEXISTENT"), "No such mailbox"))?;
        let view = MailboxView::open(&store, id)?;
        let status = store.status(id)?;
        let mut sel = Selected {
            view,
            name,
            read_only,
            recent: Vec::new(),
            contexts: Default::default(),
        };
        if let Some(u) = self.user.as_ref() {
            // Unknown boundary (first SELECT since the store opened): what
            // is there now is not recent.
            let start = sel.view.max_uid();
            claim_recent(&mut sel, &u.sref.recent, start);
        }
        let Selected { view, name, .. } = &sel;
        let wbuf = &mut self.conn.wbuf;
        let mut flags: Vec<&[u8]> = SYSTEM_FLAGS.iter().map(|s| s.as_bytes()).collect();
        flags.extend(view.keywords.iter().map(|k| k.as_bytes()));
        encode::flags(wbuf, flags.iter().copied());
        let mut perm: Vec<&str> = if read_only {
            Vec::new()
        } else {
            SYSTEM_FLAGS.to_vec()
        };
        if !read_only {
            perm.extend(view.keywords.iter().map(String::as_str));
            perm.push("\\*");
        }
        encode::untagged_status(
            wbuf,
            RespStatus::Ok,
            Some(&Code::PermanentFlags(&perm)),
            "Flags permitted",
        );
        encode::exists(wbuf, view.len());
        if !self.enabled.rev2 {
            encode::recent(wbuf, sel.recent.len() as u32);
            // `[UNSEEN n]` is a message number: not under UIDONLY.
            if let Some(n) = view.first_unseen().filter(|_| !self.enabled.uid_only) {
                encode::untagged_status(
                    wbuf,
                    RespStatus::Ok,
                    Some(&Code::Unseen(n)),
                    "First unseen",
                );
            }
        }
        encode::untagged_status(
            wbuf,
            RespStatus::Ok,
            Some(&Code::UidValidity(view.uidvalidity)),
            "UIDs valid",
        );
        encode::untagged_status(
            wbuf,
            RespStatus::Ok,
            Some(&Code::UidNext(status.uidnext)),
            "Predicted next UID",
        );
        if self.shard.cfg.imap.allows("OBJECTID") {
            let mbid = imap_exec::objectid::mailbox_id(view.uidvalidity, view.id);
            encode::untagged_status(wbuf, RespStatus::Ok, Some(&Code::MailboxId(&mbid)), "Ok");
        }
        // RFC 7162 §3.1.2.1: on every SELECT/EXAMINE, CONDSTORE or not.
        encode::untagged_status(
            wbuf,
            RespStatus::Ok,
            Some(&Code::HighestModSeq(status.highest_modseq)),
            "Highest",
        );
        if self.enabled.rev2 {
            encode::list(
                wbuf,
                encode::ListKind::List,
                &[],
                Some(names::SEP),
                name,
                self.enabled.utf8,
                &encode::ListExtended::default(),
            );
        }
        if let Some(q) = &params.qresync {
            let rules = self.sync_rules(false);
            super::resync::after_select(
                &store,
                &sel,
                q,
                !self.enabled.rev2,
                rules.uid_only,
                &mut self.conn.wbuf,
            )?;
        }
        self.selected = Some(sel);
        Ok(Done {
            code: if read_only {
                DoneCode::ReadOnly
            } else {
                DoneCode::ReadWrite
            },
            ..Done::ok(if read_only {
                "EXAMINE completed"
            } else {
                "SELECT completed"
            })
        })
    }

    async fn append(
        &mut self,
        mailbox: &Mailbox<'_>,
        first: AppendMessage<'_>,
        more: &[AppendMessage<'_>],
        // Messages and bytes the operation frees (REPLACE), for the quota.
        credit: (u64, u64),
    ) -> Result<Done, ExecError> {
        let store = self.store_or_err()?;
        let catenates = std::iter::once(&first)
            .chain(more.iter())
            .any(|m| m.catenate.is_some());
        if catenates && !self.shard.cfg.imap.allows("CATENATE") {
            return Err(ExecError::bad("CATENATE is not enabled"));
        }
        // A MULTIAPPEND is all or nothing, so it cannot be cut short.
        let limit = self.shard.cfg.limits.max_messages_per_command;
        if limit > 0 && 1 + more.len() > limit as usize {
            return Err(ExecError::no(
                None,
                format!("[MESSAGELIMIT {limit}] At most {limit} messages in one APPEND"),
            ));
        }
        let name = names::decode(mailbox, self.utf8())?;
        let Some(id) = store.mailbox_id(&name) else {
            return Err(ExecError::no(Some("TRYCREATE"), "No such mailbox"));
        };
        let mut bodies: Vec<std::borrow::Cow<'_, [u8]>> = Vec::with_capacity(1 + more.len());
        for m in std::iter::once(&first).chain(more.iter()) {
            bodies.push(match &m.catenate {
                None => crate::deliver::crlf_normalized(m.data),
                Some(parts) => {
                    let max = self.shard.cfg.limits.max_literal_size;
                    let joined = super::catenate::assemble(&store, parts, self.utf8(), max).await?;
                    // Most messages need no CRLF fix: keep the bytes, not a copy.
                    let fixed = match crate::deliver::crlf_normalized(&joined) {
                        std::borrow::Cow::Borrowed(_) => None,
                        std::borrow::Cow::Owned(v) => Some(v),
                    };
                    std::borrow::Cow::Owned(fixed.unwrap_or(joined))
                }
            });
        }
        let mut owned = Vec::with_capacity(1 + more.len());
        for (m, body) in std::iter::once(&first).chain(more.iter()).zip(&bodies) {
            if body.is_empty() {
                return Err(ExecError::no(None, "Cannot save an empty message"));
            }
            let (flags, keywords) = to_store_flags(&m.flags)?;
            let date = m
                .date
                .as_ref()
                .map_or_else(now_unix, imap_exec::dates::to_unix);
            owned.push(NewMessage {
                raw: body,
                flags,
                keywords,
                internal_date: date,
            });
        }
        let bytes: u64 = owned.iter().map(|m| m.raw.len() as u64).sum();
        self.check_quota(
            (owned.len() as u64).saturating_sub(credit.0),
            bytes.saturating_sub(credit.1),
        )?;
        let uids = store.append(id, &owned).await?;
        self.note_own(id);
        let uidvalidity = store.status(id)?.uidvalidity;
        Ok(Done {
            code: DoneCode::AppendUid {
                uidvalidity,
                uids: compress(uids),
            },
            ..Done::ok("APPEND completed")
        })
    }

    /// REPLACE / UID REPLACE (RFC 8508): APPEND, then expunge the target.
    /// Two durable steps: a crash between them leaves both messages, never
    /// neither; a failed APPEND expunges nothing.
    async fn replace(
        &mut self,
        uid: bool,
        target: imap_proto::SeqNum,
        mailbox: &Mailbox<'_>,
        message: AppendMessage<'_>,
    ) -> Result<Done, ExecError> {
        let sel = self.need_selected()?;
        if sel.read_only {
            return Err(ExecError::no(Some("READ-ONLY"), "Mailbox is read-only"));
        }
        let msgs = sel.view.messages();
        let old = if uid {
            let u = target.resolve(sel.view.max_uid());
            msgs.iter().find(|m| m.uid == u)
        } else {
            let n = target.resolve(sel.view.len());
            n.checked_sub(1).and_then(|i| msgs.get(i as usize))
        };
        let Some(old) = old else {
            return Err(if uid {
                ExecError::no(Some("NONEXISTENT"), "No such message")
            } else {
                ExecError::bad("Invalid message sequence number")
            });
        };
        let (src, old_uid, old_size) = (sel.view.id, old.uid, u64::from(old.size));
        let done = self.append(mailbox, message, &[], (1, old_size)).await?;
        if let DoneCode::AppendUid { uidvalidity, uids } = &done.code {
            encode::untagged_status(
                &mut self.conn.wbuf,
                RespStatus::Ok,
                Some(&Code::AppendUid {
                    uid_validity: *uidvalidity,
                    uids,
                }),
                "Replacement saved",
            );
        }
        let store = self.store_or_err()?;
        let gone = store
            .expunge(src, Some(&[(old_uid, old_uid)]), ExpungeMode::Exact)
            .await?;
        if let Some(sel) = self.selected.as_mut() {
            super::context::expunged_by_self(
                sel,
                &gone,
                &mut self.conn.wbuf,
                self.enabled.vanished(),
            );
        }
        Ok(Done::ok(if uid {
            "UID REPLACE completed"
        } else {
            "REPLACE completed"
        }))
    }

    async fn expunge(&mut self, uids: Option<Vec<(u32, u32)>>) -> Result<Done, ExecError> {
        let sel = self.need_selected()?;
        if sel.read_only {
            return Err(ExecError::no(Some("READ-ONLY"), "Mailbox is read-only"));
        }
        let id = sel.view.id;
        let store = self.store_or_err()?;
        let gone = store
            .expunge(id, uids.as_deref(), ExpungeMode::DeletedOnly)
            .await?;
        if let Some(sel) = self.selected.as_mut() {
            super::context::expunged_by_self(
                sel,
                &gone,
                &mut self.conn.wbuf,
                self.enabled.vanished(),
            );
        }
        Ok(Done::ok("EXPUNGE completed"))
    }

    async fn search(
        &mut self,
        tag: &[u8],
        uid: bool,
        returns: Option<imap_proto::SearchReturn>,
        charset: Option<std::borrow::Cow<'_, [u8]>>,
        keys: &imap_proto::SearchKeys<'_>,
    ) -> Result<Done, ExecError> {
        use imap_exec::search::{SearchResponse, render_result, search_reporting};
        super::context::check_request(self, tag, returns, false)?;
        let store = self.store_or_err()?;
        let (sel, ctx) = search_context(
            &self.selected,
            self.saved.as_deref(),
            self.enabled,
            charset.as_deref(),
            &self.shard.cfg.imap,
        )?;
        let msgs = sel.view.messages();
        let mut progress = InProgress::new(&mut self.conn, tag, &self.shard.cfg.imap);
        let outcome = search_reporting(
            &store,
            sel.view.id,
            &sel.view.keywords,
            msgs,
            keys,
            &ctx,
            &mut progress,
        )
        .await?;
        if outcome.uses_modseq {
            enable_condstore(&self.shard.cfg.imap, &mut self.enabled)?;
        }
        let wbuf = &mut self.conn.wbuf;
        let response = match (returns, self.enabled.rev2) {
            (Some(r), _) => SearchResponse::Esearch { tag, returns: r },
            (None, true) => SearchResponse::Esearch {
                tag,
                returns: imap_proto::SearchReturn::default(),
            },
            (None, false) => SearchResponse::Plain,
        };
        let saved = render_result(wbuf, msgs, &outcome, uid, response);
        if let Some(s) = saved {
            self.saved = Some(s);
        }
        if returns.is_some_and(|r| r.update) {
            let req = super::context::Request {
                tag,
                uid,
                keys,
                charset: charset.as_deref(),
                matches: &outcome.matches,
                sorted: None,
            };
            super::context::register(self, req);
        }
        Ok(if uid {
            Done::ok("UID SEARCH completed")
        } else {
            Done::no_expunge("SEARCH completed")
        })
    }

    /// SORT, ESORT and THREAD: a search, then the matches ordered by the
    /// keys stored at delivery.
    async fn sort_or_thread(
        &mut self,
        tag: &[u8],
        uid: bool,
        how: Ordering<'_>,
        charset: &[u8],
        keys: &imap_proto::SearchKeys<'_>,
    ) -> Result<Done, ExecError> {
        use imap_exec::search::search_reporting;
        use imap_exec::sort;
        if let Ordering::Sort(returns, _) = how {
            super::context::check_request(self, tag, returns, true)?;
        }
        let store = self.store_or_err()?;
        let (sel, ctx) = search_context(
            &self.selected,
            self.saved.as_deref(),
            self.enabled,
            Some(charset),
            &self.shard.cfg.imap,
        )?;
        let msgs = sel.view.messages();
        let mut progress = InProgress::new(&mut self.conn, tag, &self.shard.cfg.imap);
        let outcome = search_reporting(
            &store,
            sel.view.id,
            &sel.view.keywords,
            msgs,
            keys,
            &ctx,
            &mut progress,
        )
        .await?;
        if outcome.uses_modseq {
            enable_condstore(&self.shard.cfg.imap, &mut self.enabled)?;
        }
        let with_keys = match how {
            Ordering::Sort(_, criteria) => sort::needs_keys(criteria),
            Ordering::Thread(_) => true,
        };
        let cache = with_keys.then(|| sort::CacheRef {
            cache: &self.shard.sort_cache,
            key: sort::MailboxKey {
                user: self.user.as_ref().map_or("", |u| u.name.as_str()).into(),
                mailbox: sel.view.id,
                uidvalidity: sel.view.uidvalidity,
            },
        });
        let mut items =
            sort::load(&store, sel.view.id, msgs, &outcome.matches, cache.clone()).await?;
        let wbuf = &mut self.conn.wbuf;
        match how {
            Ordering::Sort(returns, criteria) => {
                let all = items.len() == msgs.len();
                sort::sort_remembered(&mut items, criteria, cache.as_ref(), all);
                sort::render_sort(wbuf, tag, uid, returns, &items, msgs, outcome.uses_modseq);
                if returns.is_some_and(|r| r.update) {
                    let req = super::context::Request {
                        tag,
                        uid,
                        keys,
                        charset: Some(charset),
                        matches: &[],
                        sorted: Some((criteria, items)),
                    };
                    super::context::register(self, req);
                }
            }
            Ordering::Thread(alg) => {
                let threads = sort::thread(&items, alg);
                let mut text = Vec::new();
                sort::render_threads(&mut text, &threads, &|i| {
                    items
                        .get(i)
                        .map_or(0, |k| if uid { k.uid } else { k.index + 1 })
                });
                encode::thread(wbuf, &text);
            }
        }
        let (done_uid, done_seq) = match how {
            Ordering::Sort(..) => ("UID SORT completed", "SORT completed"),
            Ordering::Thread(_) => ("UID THREAD completed", "THREAD completed"),
        };
        Ok(if uid {
            Done::ok(done_uid)
        } else {
            Done::no_expunge(done_seq)
        })
    }

    async fn fetch(
        &mut self,
        uid: bool,
        set: &imap_proto::SequenceSet<'_>,
        attrs: &imap_proto::FetchAttrs<'_>,
        modifiers: imap_proto::FetchModifiers,
    ) -> Result<Done, ExecError> {
        use imap_exec::fetch::{disabled_item, fetch};
        let imap = &self.shard.cfg.imap;
        if let Some(ext) = disabled_item(attrs, |e| imap.allows(e)) {
            return Err(ExecError::bad(format!(
                "{ext} is not enabled on this server"
            )));
        }
        if modifiers.vanished && !(uid && self.enabled.qresync && modifiers.changed_since.is_some())
        {
            // RFC 7162 §3.2.6: UID FETCH only, with CHANGEDSINCE, QRESYNC on.
            return Err(ExecError::bad(
                "VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC",
            ));
        }
        if modifiers.changed_since.is_some()
            || attrs
                .iter()
                .any(|a| matches!(a, imap_proto::FetchAttr::ModSeq))
        {
            self.enable_condstore()?;
        }
        let idx = self.resolve(set, uid)?;
        let store = self.store_or_err()?;
        // Field borrows: the selection is read while the connection is written.
        let sel = self
            .selected
            .as_ref()
            .ok_or_else(|| ExecError::bad("No mailbox selected"))?;
        if let (true, Some(since)) = (modifiers.vanished, modifiers.changed_since) {
            let largest = store.status(sel.view.id)?.uidnext.saturating_sub(1).max(1);
            let asked = super::resync::uid_ranges(set, largest);
            super::resync::vanished_earlier(&store, sel, since, &asked, &mut self.conn.wbuf)?;
        }
        let since = modifiers.changed_since.unwrap_or(0);
        let msgs: Vec<(u32, store::MessageInfo)> = idx
            .iter()
            .filter_map(|&i| {
                sel.view
                    .messages()
                    .get(i)
                    .filter(|m| m.modseq > since)
                    .map(|m| (i as u32 + 1, m.clone()))
            })
            .collect();
        let opts = sel.fetch_options(self.enabled, uid);
        let outcome = fetch(
            &store,
            sel.view.id,
            &sel.view.keywords,
            &msgs,
            attrs,
            &opts,
            &mut self.conn,
        )
        .await?;
        if let Some(sel) = self.selected.as_mut() {
            sel.view.note_own_changes(&store, &outcome.seen_set);
        }
        Ok(if uid {
            Done::ok("UID FETCH completed")
        } else {
            Done::no_expunge("FETCH completed")
        })
    }

    async fn store_cmd(
        &mut self,
        uid: bool,
        set: &imap_proto::SequenceSet<'_>,
        unchanged_since: Option<u64>,
        mode: StoreMode,
        silent: bool,
        flags: &FlagList<'_>,
    ) -> Result<Done, ExecError> {
        let idx = self.resolve(set, uid)?;
        let sel = self.need_selected()?;
        if sel.read_only {
            return Err(ExecError::no(Some("READ-ONLY"), "Mailbox is read-only"));
        }
        let id = sel.view.id;
        let uids = compress(self.uids_of(&idx));
        let (f, keywords) = to_store_flags(flags)?;
        let op = match mode {
            StoreMode::Replace => FlagOp::Set,
            StoreMode::Add => FlagOp::Add,
            StoreMode::Remove => FlagOp::Remove,
        };
        let store = self.store_or_err()?;
        if unchanged_since.is_some() {
            self.enable_condstore()?;
        }
        let condstore = self.enabled.condstore;
        let result = store
            .store_flags(id, &uids, op, f, &keywords, unchanged_since)
            .await?;
        let Some(sel) = self.selected.as_mut() else {
            return Ok(Done::ok("STORE completed"));
        };
        sel.view.note_own_changes(&store, &result.changed);
        sel.view.refresh_keywords(&store)?;
        if !silent || condstore {
            // The new flags of every message named, changed or not
            // (RFC 9051 §6.4.6), except those UNCHANGEDSINCE refused. With
            // CONDSTORE on, UID and MODSEQ too, even for .SILENT (without
            // FLAGS then), so the client learns the new MODSEQs.
            for &i in &idx {
                let Some(m) = sel.view.messages().get(i) else {
                    continue;
                };
                if result.failed.contains(&m.uid) {
                    continue;
                }
                let uid_only = self.enabled.uid_only;
                let mut r = encode::FetchResponse::begin_keyed(
                    &mut self.conn.wbuf,
                    i as u32 + 1,
                    m.uid,
                    uid_only,
                );
                if (uid || condstore) && !uid_only {
                    r.uid(m.uid);
                }
                if !silent {
                    let recent = !self.enabled.rev2 && sel.recent.binary_search(&m.uid).is_ok();
                    r.flags(flag_names(m.flags, recent, &m.keywords, &sel.view.keywords));
                }
                if condstore {
                    r.modseq(m.modseq);
                }
                r.finish();
            }
        }
        let mut done = if uid {
            Done::ok("UID STORE completed")
        } else {
            Done::no_expunge("STORE completed")
        };
        if !result.failed.is_empty() {
            let mut failed: Vec<u32> = if uid {
                result.failed.clone()
            } else {
                result
                    .failed
                    .iter()
                    .filter_map(|u| sel.view.seq_of(*u))
                    .collect()
            };
            failed.sort_unstable();
            done.code = DoneCode::Modified(compress(failed));
            done.text = if uid {
                "UID STORE completed, some messages were modified meanwhile"
            } else {
                "STORE completed, some messages were modified meanwhile"
            };
        }
        Ok(done)
    }

    async fn copy_or_move(
        &mut self,
        uid: bool,
        set: &imap_proto::SequenceSet<'_>,
        mailbox: &Mailbox<'_>,
        is_move: bool,
    ) -> Result<Done, ExecError> {
        let idx = self.resolve(set, uid)?;
        let sel = self.need_selected()?;
        if is_move && sel.read_only {
            return Err(ExecError::no(Some("READ-ONLY"), "Mailbox is read-only"));
        }
        let src = sel.view.id;
        let store = self.store_or_err()?;
        let name = names::decode(mailbox, self.utf8())?;
        let Some(dst) = store.mailbox_id(&name) else {
            return Err(ExecError::no(Some("TRYCREATE"), "No such mailbox"));
        };
        let uids = compress(self.uids_of(&idx));
        if uids.is_empty() {
            return Ok(Done::ok(if is_move {
                "MOVE completed"
            } else {
                "COPY completed"
            }));
        }
        if !is_move {
            // A MOVE inside the account leaves usage as it is.
            let sel = self.need_selected()?;
            let bytes: u64 = idx
                .iter()
                .filter_map(|&i| sel.view.messages().get(i))
                .map(|m| u64::from(m.size))
                .sum();
            self.check_quota(idx.len() as u64, bytes)?;
        }
        let r = if is_move {
            store.move_messages(src, &uids, dst).await?
        } else {
            store.copy(src, &uids, dst).await?
        };
        self.note_own(dst);
        let src_set = compress(r.pairs.iter().map(|p| p.0));
        let dst_set: Vec<(u32, u32)> = compress(r.pairs.iter().map(|p| p.1));
        if !is_move {
            return Ok(Done {
                code: DoneCode::CopyUid {
                    uidvalidity: r.dst_uidvalidity,
                    src: src_set,
                    dst: dst_set,
                },
                ..Done::ok("COPY completed")
            });
        }
        // RFC 6851: COPYUID goes in an untagged OK before the expunges.
        encode::untagged_status(
            &mut self.conn.wbuf,
            RespStatus::Ok,
            Some(&Code::CopyUid {
                uid_validity: r.dst_uidvalidity,
                source: &src_set,
                dest: &dst_set,
            }),
            "Moved",
        );
        let moved: Vec<u32> = r.pairs.iter().map(|p| p.0).collect();
        if let Some(sel) = self.selected.as_mut() {
            super::context::expunged_by_self(
                sel,
                &moved,
                &mut self.conn.wbuf,
                self.enabled.vanished(),
            );
        }
        Ok(Done::ok("MOVE completed"))
    }
}
