//! NOTIFY (RFC 5465): what a session follows beyond its selected mailbox,
//! and the untagged responses it sends for it.
//!
//! The session subscribes to its store's change feed (`store::Store::
//! subscribe_feed`); events queue there while a command runs and are
//! written at the points RFC 5465 allows: the end of a command, while
//! the session waits for the next one, and during IDLE. Other mailboxes
//! are reported as `* STATUS`, mailbox and subscription changes as
//! `* LIST`, annotation changes as `* METADATA`. The selected mailbox keeps its view (`MailboxView`), which
//! the `selected`/`selected-delayed` filters make push changes between
//! commands too.

use super::names;
use super::session::Cx;
use imap_exec::ExecError;
use imap_proto::encode::{self, Code, ListExtended, ListKind, RespStatus, StatusValue};
use imap_proto::{FetchAttrs, Notify, NotifyFilter, NotifyGroup, StatusItem};
use std::io;
use store::{Drained, FeedEvent, MailboxId, MessageChange, Store};

/// Events this server reports, as BADEVENT lists them (RFC 5465), by
/// what of METADATA is enabled (METADATA needs METADATA-SERVER).
/// AnnotationChange needs ANNOTATE (RFC 5257), which this server lacks.
const SUPPORTED_BASE: &str =
    "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)";
const SUPPORTED_SERVER_META: &str = "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName \
     SubscriptionChange ServerMetadataChange)";
const SUPPORTED_ALL_META: &str = "BADEVENT (MessageNew MessageExpunge FlagChange MailboxName \
     SubscriptionChange MailboxMetadataChange ServerMetadataChange)";

/// A set of events, one bit each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Events(u8);

impl Events {
    const NEW: u8 = 1;
    const EXPUNGE: u8 = 2;
    const FLAGS: u8 = 4;
    const NAME: u8 = 8;
    const SUBSCRIPTION: u8 = 16;
    const MAILBOX_META: u8 = 32;
    const SERVER_META: u8 = 64;
    const MESSAGE: u8 = Self::NEW | Self::EXPUNGE | Self::FLAGS;

    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// The bit of an event name, if `known` (the events enabled) has it.
    fn parse(name: &[u8], known: u8) -> Option<u8> {
        const NAMES: [(&[u8], u8); 7] = [
            (b"MessageNew", Events::NEW),
            (b"MessageExpunge", Events::EXPUNGE),
            (b"FlagChange", Events::FLAGS),
            (b"MailboxName", Events::NAME),
            (b"SubscriptionChange", Events::SUBSCRIPTION),
            (b"MailboxMetadataChange", Events::MAILBOX_META),
            (b"ServerMetadataChange", Events::SERVER_META),
        ];
        NAMES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, b)| *b)
            .filter(|b| known & b != 0)
    }

    fn of(change: MessageChange) -> u8 {
        match change {
            MessageChange::New => Events::NEW,
            MessageChange::Expunge => Events::EXPUNGE,
            MessageChange::Flags => Events::FLAGS,
        }
    }
}

#[derive(Debug, Clone)]
enum Filter {
    Inboxes,
    Personal,
    Subscribed,
    Subtree(Vec<String>),
    Mailboxes(Vec<String>),
}

impl Filter {
    fn matches(&self, name: &str, subscribed: &dyn Fn(&str) -> bool) -> bool {
        match self {
            // Mail is delivered to INBOX only (LMTP `+detail` mailboxes are
            // not known in advance).
            Filter::Inboxes => name == store::INBOX,
            Filter::Personal => true,
            Filter::Subscribed => subscribed(name),
            Filter::Subtree(roots) => roots.iter().any(|r| {
                name == r
                    || name
                        .strip_prefix(r.as_str())
                        .is_some_and(|rest| rest.starts_with(names::SEP))
            }),
            Filter::Mailboxes(list) => list.iter().any(|m| m == name),
        }
    }
}

#[derive(Debug, Clone)]
struct Group {
    filter: Filter,
    events: Events,
}

/// The `selected` or `selected-delayed` group.
#[derive(Debug, Clone)]
pub(super) struct SelectedRule {
    /// `selected-delayed`: expunges wait for a point where base IMAP allows
    /// them; `selected`: they go out at once, even after FETCH, STORE and
    /// SEARCH (the client uses UIDs, RFC 5465).
    pub delayed: bool,
    events: Events,
    /// MessageNew's FETCH attributes, as the client wrote them (the list
    /// without its parentheses) and their count.
    fetch: Option<(Vec<u8>, usize)>,
}

impl SelectedRule {
    pub fn immediate_expunge(&self) -> bool {
        !self.delayed && self.events.has(Events::EXPUNGE)
    }

    pub fn fetch_attrs(&self) -> Option<FetchAttrs<'_>> {
        self.fetch
            .as_ref()
            .map(|(raw, count)| FetchAttrs::List { raw, count: *count })
    }
}

/// A session's NOTIFY SET.
pub(super) struct NotifyState {
    groups: Vec<Group>,
    pub selected: Option<SelectedRule>,
    feed: store::FeedSubscription,
    /// Mailboxes the current command changed itself: their changes are
    /// not reported back as STATUS (RFC 5465).
    pub own: Vec<MailboxId>,
}

impl NotifyState {
    /// The first group whose filter matches `name` decides: it reports the
    /// event if it lists it, and a group with NONE silences the mailbox.
    fn wants(&self, name: &str, bit: u8, subs: &Subscribed<'_>) -> bool {
        self.groups
            .iter()
            .find(|g| g.filter.matches(name, &|n| subs.has(n)))
            .is_some_and(|g| g.events.has(bit))
    }
}

/// The user's subscriptions, read once per batch of events and only if a
/// `subscribed` filter asks.
struct Subscribed<'a> {
    store: &'a Store,
    set: std::cell::OnceCell<std::collections::HashSet<String>>,
}

impl<'a> Subscribed<'a> {
    fn new(store: &'a Store) -> Self {
        Subscribed {
            store,
            set: std::cell::OnceCell::new(),
        }
    }

    fn has(&self, name: &str) -> bool {
        self.set
            .get_or_init(|| self.store.subscriptions().into_iter().collect())
            .contains(name)
    }
}

/// What of METADATA (RFC 5464) is enabled, for its NOTIFY events.
#[derive(Debug, Clone, Copy)]
enum Meta {
    None,
    Server,
    All,
}

/// Checks a NOTIFY SET against RFC 5465 and builds its state.
fn build(
    groups: &[NotifyGroup<'_>],
    utf8: bool,
    store: &Store,
    queue: usize,
    max_names: usize,
    meta: Meta,
) -> Result<NotifyState, ExecError> {
    let (known, supported) = match meta {
        Meta::None => (
            Events::MESSAGE | Events::NAME | Events::SUBSCRIPTION,
            SUPPORTED_BASE,
        ),
        Meta::Server => (
            Events::MESSAGE | Events::NAME | Events::SUBSCRIPTION | Events::SERVER_META,
            SUPPORTED_SERVER_META,
        ),
        Meta::All => (u8::MAX, SUPPORTED_ALL_META),
    };
    let mut out = Vec::new();
    let mut selected: Option<SelectedRule> = None;
    // BADEVENT first (a tagged NO, RFC 5465): the client learns what it
    // may ask for at all.
    for g in groups {
        if g.events.iter().any(|e| Events::parse(e, known).is_none()) {
            return Err(ExecError::no(Some(supported), "Unsupported NOTIFY event"));
        }
    }
    let names_given: usize = groups
        .iter()
        .map(|g| match &g.filter {
            NotifyFilter::Subtree(l) | NotifyFilter::Mailboxes(l) => l.len(),
            _ => 0,
        })
        .sum();
    if names_given > max_names {
        // Each name is matched against every change: a bound keeps one
        // session from making every delivery of its user slow.
        return Err(ExecError::no(
            Some("NOTIFICATIONOVERFLOW"),
            format!("At most {max_names} mailbox names in NOTIFY SET"),
        ));
    }
    for g in groups {
        let mut ev = Events::default();
        for e in &g.events {
            ev.0 |= Events::parse(e, known).unwrap_or(0);
        }
        if ev.has(Events::NEW) != ev.has(Events::EXPUNGE) {
            return Err(ExecError::bad("MessageNew and MessageExpunge go together"));
        }
        if ev.has(Events::FLAGS) && !ev.has(Events::NEW) {
            return Err(ExecError::bad(
                "FlagChange needs MessageNew and MessageExpunge",
            ));
        }
        let is_selected = matches!(
            g.filter,
            NotifyFilter::Selected | NotifyFilter::SelectedDelayed
        );
        if g.message_new_fetch.is_some() && !is_selected {
            return Err(ExecError::bad(
                "FETCH attributes are only for the selected mailbox",
            ));
        }
        let names = |list: &[imap_proto::Mailbox<'_>]| -> Result<Vec<String>, ExecError> {
            list.iter().map(|m| names::decode(m, utf8)).collect()
        };
        let filter = match &g.filter {
            NotifyFilter::Selected | NotifyFilter::SelectedDelayed => {
                if selected.is_some() {
                    return Err(ExecError::bad(
                        "Only one selected or selected-delayed filter",
                    ));
                }
                if ev.0 & !Events::MESSAGE != 0 {
                    return Err(ExecError::bad(
                        "Only message events for the selected mailbox",
                    ));
                }
                let fetch = g.message_new_fetch.as_ref().map(|a| match a {
                    FetchAttrs::List { raw, count } => (raw.to_vec(), *count),
                    // The parser takes a parenthesised list only here.
                    FetchAttrs::Macro(_) => (b"UID".to_vec(), 1),
                });
                selected = Some(SelectedRule {
                    delayed: matches!(g.filter, NotifyFilter::SelectedDelayed),
                    events: ev,
                    fetch,
                });
                continue;
            }
            NotifyFilter::Inboxes => Filter::Inboxes,
            NotifyFilter::Personal => Filter::Personal,
            NotifyFilter::Subscribed => Filter::Subscribed,
            NotifyFilter::Subtree(list) => Filter::Subtree(names(list)?),
            NotifyFilter::Mailboxes(list) => Filter::Mailboxes(names(list)?),
        };
        out.push(Group { filter, events: ev });
    }
    Ok(NotifyState {
        groups: out,
        selected,
        feed: store.subscribe_feed(queue),
        own: Vec::new(),
    })
}

impl Cx {
    /// NOTIFY SET / NOTIFY NONE.
    pub(super) fn notify_cmd(&mut self, tag: &[u8], cmd: &Notify<'_>) -> Result<(), ExecError> {
        if !self.shard.cfg.imap.allows("NOTIFY") {
            return Err(ExecError::bad("NOTIFY is not enabled on this server"));
        }
        let store = self.store_or_err()?;
        let (status, groups) = match cmd {
            Notify::None => {
                self.notify = None;
                self.ok(tag, "NOTIFY completed");
                return Ok(());
            }
            Notify::Set { status, groups } => (*status, groups),
        };
        let imap = &self.shard.cfg.imap;
        let meta = if !imap.allows("METADATA-SERVER") {
            Meta::None
        } else if imap.allows("METADATA") {
            Meta::All
        } else {
            Meta::Server
        };
        let state = build(
            groups,
            self.utf8(),
            &store,
            imap.notify_queue,
            imap.notify_max_names,
            meta,
        )?;
        if status {
            // RFC 5465: the state of every mailbox the message events
            // will be reported for, so the client starts from a known point.
            let selected = self.selected.as_ref().map(|s| s.view.id);
            let subs = Subscribed::new(&store);
            for mb in store.list() {
                if Some(mb.id) == selected || !state.wants(&mb.name, Events::NEW, &subs) {
                    continue;
                }
                self.write_notify_status(&store, mb.id, &mb.name);
            }
        }
        self.notify = Some(state);
        self.ok(tag, "NOTIFY completed");
        Ok(())
    }

    /// `* STATUS` for a mailbox other than the selected one. New and
    /// expunged messages show in MESSAGES and UIDNEXT, flag changes in
    /// UNSEEN (and, under CONDSTORE, HIGHESTMODSEQ);
    /// one shape for every event (RFC 5465) keeps the client's bookkeeping
    /// simple.
    fn write_notify_status(&mut self, store: &Store, id: MailboxId, name: &str) {
        let Ok(st) = store.status(id) else {
            return;
        };
        let mut v: Vec<StatusValue<'_>> = vec![
            StatusValue::Number(StatusItem::Messages, u64::from(st.messages)),
            StatusValue::Number(StatusItem::UidNext, u64::from(st.uidnext)),
            StatusValue::Number(StatusItem::Unseen, u64::from(st.unseen)),
        ];
        if self.enabled.condstore {
            v.push(StatusValue::Number(
                StatusItem::HighestModSeq,
                st.highest_modseq,
            ));
        }
        let utf8 = self.utf8();
        encode::status(&mut self.conn.wbuf, name, utf8, &v);
    }

    fn notify_list(&mut self, attrs: &[&str], name: &str, old: Option<&str>) {
        let ext = ListExtended {
            old_name: old,
            ..ListExtended::default()
        };
        let utf8 = self.utf8();
        encode::list(
            &mut self.conn.wbuf,
            ListKind::List,
            attrs,
            Some(names::SEP),
            name,
            utf8,
            &ext,
        );
    }

    /// Writes what the feed holds for mailboxes other than the selected one.
    pub(super) fn deliver_notify(&mut self) {
        let events = self.take_feed();
        self.write_feed(events);
    }

    /// The feed's events, or none after an overflow (which is reported).
    fn take_feed(&mut self) -> Vec<FeedEvent> {
        let Some(n) = self.notify.as_mut() else {
            return Vec::new();
        };
        match n.feed.drain() {
            Drained::Events(e) => e,
            Drained::Overflowed => {
                // RFC 5465: the client must resynchronise; nothing more
                // is sent for NOTIFY until it asks again.
                self.notify = None;
                encode::untagged_status(
                    &mut self.conn.wbuf,
                    RespStatus::Ok,
                    Some(&Code::Other("NOTIFICATIONOVERFLOW")),
                    "Too many changes at once; NOTIFY is off, set it again",
                );
                Vec::new()
            }
        }
    }

    fn write_feed(&mut self, events: Vec<FeedEvent>) {
        let store = self.store();
        let (Some(n), Some(store)) = (self.notify.as_mut(), store) else {
            return;
        };
        let own = std::mem::take(&mut n.own);
        if events.is_empty() {
            return;
        }
        let subs = Subscribed::new(&store);
        let selected = self.selected.as_ref().map(|s| s.view.id);
        // One STATUS per mailbox for everything that happened to it.
        let mut statuses: Vec<(MailboxId, u8)> = Vec::new();
        let mut lists: Vec<FeedEvent> = Vec::new();
        for ev in events {
            match ev {
                FeedEvent::Messages { mailbox, change } => {
                    if Some(mailbox) == selected || own.contains(&mailbox) {
                        continue;
                    }
                    let bit = Events::of(change);
                    match statuses.iter_mut().find(|(m, _)| *m == mailbox) {
                        Some((_, b)) => *b |= bit,
                        None => statuses.push((mailbox, bit)),
                    }
                }
                other => lists.push(other),
            }
        }
        for (id, bits) in statuses {
            let Some(name) = store.mailbox_name(id) else {
                continue;
            };
            let Some(n) = self.notify.as_ref() else {
                return;
            };
            let wanted = [Events::NEW, Events::EXPUNGE, Events::FLAGS]
                .into_iter()
                .any(|b| bits & b != 0 && n.wants(&name, b, &subs));
            if wanted {
                self.write_notify_status(&store, id, &name);
            }
        }
        for ev in lists {
            let Some(n) = self.notify.as_ref() else {
                return;
            };
            match ev {
                FeedEvent::MailboxCreated { name, .. } => {
                    if n.wants(&name, Events::NAME, &subs) {
                        self.notify_list(&[], &name, None);
                    }
                }
                FeedEvent::MailboxDeleted { name, .. } => {
                    if n.wants(&name, Events::NAME, &subs) {
                        self.notify_list(&["\\NonExistent"], &name, None);
                    }
                }
                FeedEvent::MailboxRenamed { from, to, .. } => {
                    if n.wants(&to, Events::NAME, &subs) || n.wants(&from, Events::NAME, &subs) {
                        self.notify_list(&[], &to, Some(&from));
                    }
                }
                FeedEvent::Subscription { name, on } => {
                    // Under `subscribed`, an unsubscribed name still matches
                    // the filter it just left.
                    let wanted = n.wants(&name, Events::SUBSCRIPTION, &subs)
                        || (!on
                            && n.groups.iter().any(|g| {
                                matches!(g.filter, Filter::Subscribed)
                                    && g.events.has(Events::SUBSCRIPTION)
                            }));
                    if wanted {
                        let mut attrs = Vec::new();
                        if on {
                            attrs.push("\\Subscribed");
                        }
                        if store.mailbox_id(&name).is_none() {
                            attrs.push("\\NonExistent");
                        }
                        self.notify_list(&attrs, &name, None);
                    }
                }
                FeedEvent::Metadata { mailbox, entries } => {
                    // ServerMetadataChange concerns no mailbox: any filter
                    // that lists it asks for it (RFC 5465).
                    let (name, wanted) = match mailbox {
                        None => (
                            String::new(),
                            n.groups.iter().any(|g| g.events.has(Events::SERVER_META)),
                        ),
                        Some(id) => match store.mailbox_name(id) {
                            Some(name) => {
                                let w = n.wants(&name, Events::MAILBOX_META, &subs);
                                (name, w)
                            }
                            None => continue,
                        },
                    };
                    if wanted {
                        let entries: Vec<&str> = entries.iter().map(String::as_str).collect();
                        let utf8 = self.utf8();
                        encode::metadata_changed(&mut self.conn.wbuf, &name, utf8, &entries);
                    }
                }
                FeedEvent::Messages { .. } => {}
            }
        }
    }

    /// Sends the selected mailbox's changes and the feed's, then the
    /// FETCH items MessageNew asked for. `allow_expunge` is what base IMAP
    /// allows at this point; `selected (... MessageExpunge)` widens it.
    pub(super) async fn sync_and_notify(&mut self, allow_expunge: bool) -> io::Result<()> {
        let rule = self.notify.as_ref().and_then(|n| n.selected.clone());
        let allow = allow_expunge || rule.as_ref().is_some_and(|r| r.immediate_expunge());
        self.sync_then_fetch(rule.as_ref(), allow).await?;
        self.deliver_notify();
        Ok(())
    }

    /// Between commands: only what a `selected` rule asks to be pushed for
    /// the selected mailbox (base IMAP sends nothing then, and never an
    /// EXPUNGE, RFC 9051 §7.5.1), and everything for other mailboxes.
    pub(super) async fn push_notify(&mut self) -> io::Result<()> {
        let events = self.take_feed();
        let rule = self.notify.as_ref().and_then(|n| n.selected.clone());
        let selected = self.selected.as_ref().map(|s| s.view.id);
        if let (Some(r), Some(id)) = (rule, selected) {
            // Only a change the rule asks for is pushed; changes it does not
            // ask for (a flag change without FlagChange) wait for a command,
            // or ride along with one it does.
            let asked = events.iter().any(|e| {
                matches!(e, FeedEvent::Messages { mailbox, change }
                    if *mailbox == id && r.events.has(Events::of(*change)))
            });
            if asked {
                self.sync_then_fetch(Some(&r), r.immediate_expunge())
                    .await?;
            }
        }
        self.write_feed(events);
        Ok(())
    }

    /// Syncs the selected mailbox, then sends MessageNew's FETCH items for
    /// the messages that sync added, then the CONTEXT updates.
    async fn sync_then_fetch(
        &mut self,
        rule: Option<&SelectedRule>,
        allow_expunge: bool,
    ) -> io::Result<()> {
        let before = self
            .selected
            .as_ref()
            .map(|s| (s.view.id, s.view.max_uid()));
        self.sync_selected(allow_expunge);
        let now = self.selected.as_ref().map(|s| s.view.id);
        if let (Some(r), Some((id, known))) = (rule, before)
            && Some(id) == now
            && r.events.has(Events::NEW)
            && r.fetch.is_some()
        {
            self.fetch_new(r, known).await?;
        }
        // CONTEXT's ADDTO and REMOVEFROM follow EXISTS and FETCH (RFC 5267).
        self.update_contexts().await;
        Ok(())
    }

    /// FETCH responses with MessageNew's attributes for the messages the
    /// last sync added: those above `known`, the highest UID before it (the
    /// same sync may have expunged some, so a count would not do).
    async fn fetch_new(&mut self, rule: &SelectedRule, known: u32) -> io::Result<()> {
        use imap_exec::fetch::fetch;
        let (Some(store), Some(attrs)) = (self.store(), rule.fetch_attrs()) else {
            return Ok(());
        };
        let Some(sel) = self.selected.as_ref() else {
            return Ok(());
        };
        let all = sel.view.messages();
        // In UID order: the new ones are at the end.
        let start = all.partition_point(|m| m.uid <= known);
        let msgs: Vec<(u32, store::MessageInfo)> = all[start..]
            .iter()
            .enumerate()
            .map(|(i, m)| ((start + i) as u32 + 1, m.clone()))
            .collect();
        if msgs.is_empty() {
            return Ok(());
        }
        // Every response carries UID: the client cannot know the new
        // messages' UIDs otherwise.
        let opts = sel.fetch_options(self.enabled, true);
        let r = fetch(
            &store,
            sel.view.id,
            &sel.view.keywords,
            &msgs,
            &attrs,
            &opts,
            &mut self.conn,
        )
        .await;
        match r {
            Ok(outcome) => {
                if let Some(sel) = self.selected.as_mut() {
                    sel.view.note_own_changes(&store, &outcome.seen_set);
                }
                Ok(())
            }
            Err(ExecError::Io(e)) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "NOTIFY MessageNew fetch failed");
                Ok(())
            }
        }
    }
}

impl Cx {
    /// This session's command changed `id`: no STATUS for it goes back.
    pub(super) fn note_own(&mut self, id: MailboxId) {
        if let Some(n) = self.notify.as_mut()
            && !n.own.contains(&id)
        {
            n.own.push(id);
        }
    }
}
