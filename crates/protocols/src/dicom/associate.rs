//! A-ASSOCIATE-RQ and -AC bodies (PS3.8 9.3.2, 9.3.3): AE titles, presentation contexts, user information.
//! These PDUs are small and arrive whole (the framing layer buffers them up to a cap), so this parser
//! works on one slice and borrows nothing past its return.

use std::sync::Arc;

use super::dimse::uid;
use super::{AcceptedContext, PresentationContext, UserIdentity};

/// Presentation contexts kept per association; more are counted, not stored.
pub(crate) const MAX_CONTEXTS: usize = 256;
/// Transfer syntaxes kept per proposed context.
pub(crate) const MAX_TRANSFER_SYNTAXES: usize = 16;
/// Fixed part of an associate body: version, reserved, two AE titles, 32 reserved bytes.
pub(crate) const FIXED_LEN: usize = 68;
/// Longest user name kept.
const MAX_USERNAME: usize = 256;

/// What one A-ASSOCIATE-RQ or -AC says.
#[derive(Debug, Default)]
pub(crate) struct AssociateInfo {
    pub called_ae: Arc<str>,
    pub calling_ae: Arc<str>,
    pub application_context: Option<Arc<str>>,
    pub proposed: Arc<[PresentationContext]>,
    pub accepted: Arc<[AcceptedContext]>,
    pub max_pdu_length: Option<u32>,
    pub implementation_class_uid: Option<Arc<str>>,
    pub implementation_version: Option<Arc<str>>,
    pub user_identity: Option<UserIdentity>,
    /// A user identity negotiation answer (0x59) was present.
    pub user_identity_response: bool,
    /// Contexts or transfer syntaxes beyond the caps.
    pub dropped: u64,
    /// An item ran past the end of its parent, or the fixed part was short.
    pub malformed: bool,
}

/// The presentation context items of one PDU, parsed.
struct Contexts<T> {
    list: Arc<[T]>,
    dropped: u64,
    malformed: bool,
}

impl<T> Clone for Contexts<T> {
    fn clone(&self) -> Self {
        Contexts {
            list: Arc::clone(&self.list),
            dropped: self.dropped,
            malformed: self.malformed,
        }
    }
}

/// Context items being read: the list so far and what did not fit or parse.
struct Collecting<T> {
    list: Vec<T>,
    dropped: u64,
    malformed: bool,
}

impl<T> Collecting<T> {
    fn new() -> Self {
        Collecting {
            list: Vec::new(),
            dropped: 0,
            malformed: false,
        }
    }

    /// Whether context item `v` can be read and kept: long enough for its header, and within
    /// [`MAX_CONTEXTS`] (otherwise it is counted as malformed or dropped).
    fn room_for(&mut self, v: &[u8]) -> bool {
        if v.len() < 4 {
            self.malformed = true;
            false
        } else if self.list.len() >= MAX_CONTEXTS {
            self.dropped += 1;
            false
        } else {
            true
        }
    }

    fn done(self) -> Contexts<T> {
        Contexts {
            list: self.list.into(),
            dropped: self.dropped,
            malformed: self.malformed,
        }
    }
}

/// Reads one context item into the list.
type ContextItem<T> = fn(&[u8], &mut Collecting<T>);

/// Every context item of `run` (a run of items of one type).
fn contexts_of<T>(run: &[u8], item: ContextItem<T>) -> Contexts<T> {
    let mut c = Collecting::new();
    for (_, value) in Items::new(run) {
        item(value, &mut c);
    }
    c.done()
}

/// Context lists remembered per thread; past this many the table starts again.
const MAX_CACHED_LISTS: usize = 64;
/// Context items longer than this in all are parsed every time, not remembered.
const MAX_CACHED_BYTES: usize = 64 << 10;

type ContextTable<T> =
    std::collections::HashMap<Box<[u8]>, Contexts<T>, foldhash::fast::RandomState>;

thread_local! {
    /// A modality sends the same A-ASSOCIATE-RQ items (storescu: 128 contexts, 500 UIDs) on every
    /// association, and its peer the same -AC answer: each distinct run of context items is parsed
    /// once and shared (keyed by its bytes, so only an identical run is ever reused). UIDs only: the
    /// items carry no patient data.
    static PROPOSED: std::cell::RefCell<ContextTable<PresentationContext>> =
        std::cell::RefCell::default();
    static ACCEPTED: std::cell::RefCell<ContextTable<AcceptedContext>> =
        std::cell::RefCell::default();
}

/// The contexts of `region`, or the list parsed from an identical region before.
fn remembered<T>(
    table: &'static std::thread::LocalKey<std::cell::RefCell<ContextTable<T>>>,
    region: &[u8],
    item: ContextItem<T>,
) -> Contexts<T> {
    let parse = |region| contexts_of(region, item);
    if region.len() > MAX_CACHED_BYTES {
        return parse(region);
    }
    table.with_borrow_mut(|t| {
        if let Some(c) = t.get(region) {
            return c.clone();
        }
        let c = parse(region);
        if t.len() >= MAX_CACHED_LISTS {
            t.clear();
        }
        t.insert(region.into(), c.clone());
        c
    })
}

/// The bytes of the items of type `ty` when they follow one another (as every implementation sends
/// them); `None` when there are none or other items come between them.
fn run_of(items: &[u8], ty: u8) -> Option<&[u8]> {
    let mut walk = Items::new(items);
    let mut start = None;
    let mut end = 0;
    loop {
        let at = items.len() - walk.rest.len();
        let Some((t, _)) = walk.next() else { break };
        let after = items.len() - walk.rest.len();
        match (t == ty, start) {
            (true, None) => (start, end) = (Some(at), after),
            (true, Some(_)) if end == at => end = after,
            (true, Some(_)) => return None,
            (false, _) => {}
        }
    }
    Some(&items[start?..end])
}

/// Items of a variable field: (type, value). A truncated last item sets `malformed` and ends the walk.
struct Items<'a> {
    rest: &'a [u8],
    truncated: bool,
}

impl<'a> Items<'a> {
    fn new(b: &'a [u8]) -> Items<'a> {
        Items {
            rest: b,
            truncated: false,
        }
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = (u8, &'a [u8]);
    fn next(&mut self) -> Option<(u8, &'a [u8])> {
        if self.rest.is_empty() {
            return None;
        }
        let b = self.rest;
        if b.len() < 4 {
            self.truncated = true;
            self.rest = &[];
            return None;
        }
        let len = usize::from(u16::from_be_bytes([b[2], b[3]]));
        let Some(value) = b.get(4..4 + len) else {
            self.truncated = true;
            self.rest = &[];
            return None;
        };
        self.rest = &b[4 + len..];
        Some((b[0], value))
    }
}

/// Parses the body (after the 6-byte PDU header) of an A-ASSOCIATE-RQ (`is_rq`) or -AC.
pub(crate) fn parse_associate(body: &[u8], is_rq: bool) -> AssociateInfo {
    let mut out = AssociateInfo::default();
    if body.len() < FIXED_LEN {
        out.malformed = true;
        if body.len() >= 36 {
            out.called_ae = uid(&body[4..20]);
            out.calling_ae = uid(&body[20..36]);
        }
        return out;
    }
    out.called_ae = uid(&body[4..20]);
    out.calling_ae = uid(&body[20..36]);
    let variable = &body[FIXED_LEN..];
    let context_type = if is_rq { 0x20 } else { 0x21 };
    // The contexts in one go when their items are contiguous (remembered), else item by item.
    let run = run_of(variable, context_type);
    let mut proposed = Collecting::new();
    let mut accepted = Collecting::new();
    let mut items = Items::new(variable);
    for (ty, value) in items.by_ref() {
        match ty {
            0x10 => out.application_context = Some(uid(value)),
            0x20 if is_rq && run.is_none() => proposed_context(value, &mut proposed),
            0x21 if !is_rq && run.is_none() => accepted_context(value, &mut accepted),
            0x50 => parse_user_info(value, &mut out),
            _ => {}
        }
    }
    let (proposed, accepted) = match run {
        Some(run) if is_rq => (
            remembered(&PROPOSED, run, proposed_context),
            accepted.done(),
        ),
        Some(run) => (
            proposed.done(),
            remembered(&ACCEPTED, run, accepted_context),
        ),
        None => (proposed.done(), accepted.done()),
    };
    out.proposed = proposed.list;
    out.accepted = accepted.list;
    out.dropped += proposed.dropped + accepted.dropped;
    out.malformed |= proposed.malformed | accepted.malformed | items.truncated;
    out
}

/// One A-ASSOCIATE-RQ presentation context item.
fn proposed_context(v: &[u8], out: &mut Collecting<PresentationContext>) {
    if !out.room_for(v) {
        return;
    }
    let mut ctx = PresentationContext {
        id: v[0],
        abstract_syntax: uid(b""),
        transfer_syntaxes: Vec::new(),
    };
    let mut items = Items::new(&v[4..]);
    for (ty, value) in items.by_ref() {
        match ty {
            0x30 => ctx.abstract_syntax = uid(value),
            0x40 if ctx.transfer_syntaxes.len() < MAX_TRANSFER_SYNTAXES => {
                ctx.transfer_syntaxes.push(uid(value));
            }
            0x40 => out.dropped += 1,
            _ => {}
        }
    }
    out.malformed |= items.truncated;
    out.list.push(ctx);
}

/// One A-ASSOCIATE-AC presentation context item.
fn accepted_context(v: &[u8], out: &mut Collecting<AcceptedContext>) {
    if !out.room_for(v) {
        return;
    }
    let mut ctx = AcceptedContext {
        id: v[0],
        result: v[2],
        transfer_syntax: uid(b""),
    };
    let mut items = Items::new(&v[4..]);
    for (ty, value) in items.by_ref() {
        if ty == 0x40 && ctx.transfer_syntax.is_empty() {
            ctx.transfer_syntax = uid(value);
        }
    }
    out.malformed |= items.truncated;
    out.list.push(ctx);
}

fn parse_user_info(v: &[u8], out: &mut AssociateInfo) {
    let mut items = Items::new(v);
    for (ty, value) in items.by_ref() {
        match ty {
            0x51 if value.len() >= 4 => {
                out.max_pdu_length =
                    Some(u32::from_be_bytes([value[0], value[1], value[2], value[3]]));
            }
            0x52 => out.implementation_class_uid = Some(uid(value)),
            0x55 => out.implementation_version = Some(uid(value)),
            0x58 => out.user_identity = parse_user_identity(value),
            0x59 => out.user_identity_response = true,
            _ => {}
        }
    }
    out.malformed |= items.truncated;
}

/// User Identity Negotiation RQ (PS3.7 D.3.3.7.1). The secondary field (the passcode) is looked at only
/// to know whether it is empty; it is never copied.
fn parse_user_identity(v: &[u8]) -> Option<UserIdentity> {
    if v.len() < 4 {
        return None;
    }
    let identity_type = v[0];
    let positive_response_requested = v[1] == 1;
    let primary_len = usize::from(u16::from_be_bytes([v[2], v[3]]));
    let primary = v.get(4..4 + primary_len)?;
    let rest = &v[4 + primary_len..];
    let secondary_len = if rest.len() >= 2 {
        usize::from(u16::from_be_bytes([rest[0], rest[1]]))
    } else {
        0
    };
    let username = matches!(identity_type, 1 | 2).then(|| {
        let p = &primary[..primary.len().min(MAX_USERNAME)];
        String::from_utf8_lossy(p).into_owned()
    });
    Some(UserIdentity {
        identity_type,
        positive_response_requested,
        username,
        has_password: identity_type == 2 && secondary_len > 0,
    })
}
