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
    pub proposed: Vec<PresentationContext>,
    pub accepted: Vec<AcceptedContext>,
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
    let mut items = Items::new(&body[FIXED_LEN..]);
    for (ty, value) in items.by_ref() {
        match ty {
            0x10 => out.application_context = Some(uid(value)),
            0x20 if is_rq => parse_rq_context(value, &mut out),
            0x21 if !is_rq => parse_ac_context(value, &mut out),
            0x50 => parse_user_info(value, &mut out),
            _ => {}
        }
    }
    out.malformed |= items.truncated;
    out
}

fn parse_rq_context(v: &[u8], out: &mut AssociateInfo) {
    if v.len() < 4 {
        out.malformed = true;
        return;
    }
    if out.proposed.len() >= MAX_CONTEXTS {
        out.dropped += 1;
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
    out.proposed.push(ctx);
}

fn parse_ac_context(v: &[u8], out: &mut AssociateInfo) {
    if v.len() < 4 {
        out.malformed = true;
        return;
    }
    if out.accepted.len() >= MAX_CONTEXTS {
        out.dropped += 1;
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
    out.accepted.push(ctx);
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
