//! DIMSE command sets: the command field newtype and the few command elements a monitor needs.
//!
//! Command sets are always Implicit VR Little Endian (PS3.7 6.3.1), whatever transfer syntax the
//! presentation context negotiated, so this parser needs no context.

use std::fmt;
use std::sync::Arc;

/// A DIMSE command field, (0000,0100). Unknown values survive as they are.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CommandField(pub u16);

impl CommandField {
    pub const C_STORE_RQ: CommandField = CommandField(0x0001);
    pub const C_STORE_RSP: CommandField = CommandField(0x8001);
    pub const C_GET_RQ: CommandField = CommandField(0x0010);
    pub const C_GET_RSP: CommandField = CommandField(0x8010);
    pub const C_FIND_RQ: CommandField = CommandField(0x0020);
    pub const C_FIND_RSP: CommandField = CommandField(0x8020);
    pub const C_MOVE_RQ: CommandField = CommandField(0x0021);
    pub const C_MOVE_RSP: CommandField = CommandField(0x8021);
    pub const C_ECHO_RQ: CommandField = CommandField(0x0030);
    pub const C_ECHO_RSP: CommandField = CommandField(0x8030);
    pub const N_EVENT_REPORT_RQ: CommandField = CommandField(0x0100);
    pub const N_EVENT_REPORT_RSP: CommandField = CommandField(0x8100);
    pub const N_GET_RQ: CommandField = CommandField(0x0110);
    pub const N_GET_RSP: CommandField = CommandField(0x8110);
    pub const N_SET_RQ: CommandField = CommandField(0x0120);
    pub const N_SET_RSP: CommandField = CommandField(0x8120);
    pub const N_ACTION_RQ: CommandField = CommandField(0x0130);
    pub const N_ACTION_RSP: CommandField = CommandField(0x8130);
    pub const N_CREATE_RQ: CommandField = CommandField(0x0140);
    pub const N_CREATE_RSP: CommandField = CommandField(0x8140);
    pub const N_DELETE_RQ: CommandField = CommandField(0x0150);
    pub const N_DELETE_RSP: CommandField = CommandField(0x8150);
    pub const C_CANCEL_RQ: CommandField = CommandField(0x0FFF);

    /// The standard name ("C-STORE-RQ"), or the value in hex ("0x1234") when it is not a known command.
    pub fn name(&self) -> String {
        match self.known_name() {
            Some(n) => n.to_string(),
            None => format!("0x{:04X}", self.0),
        }
    }

    /// The standard name, without allocating, for known commands only.
    pub fn known_name(&self) -> Option<&'static str> {
        Some(match self.0 {
            0x0001 => "C-STORE-RQ",
            0x8001 => "C-STORE-RSP",
            0x0010 => "C-GET-RQ",
            0x8010 => "C-GET-RSP",
            0x0020 => "C-FIND-RQ",
            0x8020 => "C-FIND-RSP",
            0x0021 => "C-MOVE-RQ",
            0x8021 => "C-MOVE-RSP",
            0x0030 => "C-ECHO-RQ",
            0x8030 => "C-ECHO-RSP",
            0x0100 => "N-EVENT-REPORT-RQ",
            0x8100 => "N-EVENT-REPORT-RSP",
            0x0110 => "N-GET-RQ",
            0x8110 => "N-GET-RSP",
            0x0120 => "N-SET-RQ",
            0x8120 => "N-SET-RSP",
            0x0130 => "N-ACTION-RQ",
            0x8130 => "N-ACTION-RSP",
            0x0140 => "N-CREATE-RQ",
            0x8140 => "N-CREATE-RSP",
            0x0150 => "N-DELETE-RQ",
            0x8150 => "N-DELETE-RSP",
            0x0FFF => "C-CANCEL-RQ",
            _ => return None,
        })
    }

    /// Responses have the high bit set.
    pub fn is_response(&self) -> bool {
        self.0 & 0x8000 != 0 && self.0 != 0x0FFF
    }
}

impl fmt::Debug for CommandField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.known_name() {
            Some(n) => f.write_str(n),
            None => write!(f, "CommandField(0x{:04X})", self.0),
        }
    }
}

/// What a command set says, before it is tied to a timestamp and direction.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct CommandSet {
    pub field: Option<CommandField>,
    pub message_id: Option<u16>,
    pub responded_to: Option<u16>,
    pub affected_sop_class: Option<Arc<str>>,
    pub status: Option<u16>,
    /// (0000,0800): 0x0101 means no data set follows.
    pub data_set_type: Option<u16>,
}

/// Longest UID kept (PS3.5 allows 64 characters; a little slack for broken senders).
const MAX_UID: usize = 128;

/// Reads the elements of an Implicit VR Little Endian command set. Stops at the first element whose
/// length runs past the end; what was read until then is kept.
pub(crate) fn parse_command_set(mut b: &[u8]) -> CommandSet {
    let mut out = CommandSet::default();
    while b.len() >= 8 {
        let group = u16::from_le_bytes([b[0], b[1]]);
        let elem = u16::from_le_bytes([b[2], b[3]]);
        let len = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
        let Some(value) = b.get(8..8usize.saturating_add(len)) else {
            break;
        };
        b = &b[8 + len..];
        if group != 0x0000 {
            // Command sets hold group 0000 only; anything else means this is not one.
            break;
        }
        let us = || (value.len() >= 2).then(|| u16::from_le_bytes([value[0], value[1]]));
        match elem {
            0x0100 => out.field = us().map(CommandField),
            0x0110 => out.message_id = us(),
            0x0120 => out.responded_to = us(),
            0x0900 => out.status = us(),
            0x0800 => out.data_set_type = us(),
            0x0002 => out.affected_sop_class = Some(uid(value)),
            _ => {}
        }
    }
    out
}

/// A UID or short text value: trailing NUL and space padding removed, capped, lossy UTF-8.
pub(crate) fn uid_string(value: &[u8]) -> String {
    String::from_utf8_lossy(trimmed(value)).into_owned()
}

fn trimmed(value: &[u8]) -> &[u8] {
    let v = &value[..value.len().min(MAX_UID)];
    let end = v
        .iter()
        .rposition(|&c| c != 0 && c != b' ')
        .map_or(0, |i| i + 1);
    let start = v[..end].iter().position(|&c| c != b' ').unwrap_or(end);
    &v[start..end]
}

/// Distinct strings [`uid`] shares; past this each value gets its own copy (the table stays bounded).
const MAX_SHARED_UIDS: usize = 65_536;

thread_local! {
    /// UIDs and AE titles seen by this thread's parsers. A storescu association proposes 128
    /// presentation contexts, the same 128 UIDs each time: shared, they cost a reference count each
    /// rather than an allocation and a copy. Never patient data (see `note_attribute`).
    /// Keyed by the raw bytes, so that a value seen before is found without checking its UTF-8 again.
    static SHARED: std::cell::RefCell<
        std::collections::HashMap<Box<[u8]>, Arc<str>, foldhash::fast::RandomState>,
    > = std::cell::RefCell::default();
}

/// [`uid_string`] as a shared string, for protocol identifiers (UIDs, AE titles, implementation
/// version names) that repeat across associations. Not for data set values: those may be patient data.
pub(crate) fn uid(value: &[u8]) -> Arc<str> {
    let v = trimmed(value);
    SHARED.with_borrow_mut(|shared| {
        if let Some(s) = shared.get(v) {
            return Arc::clone(s);
        }
        let s: Arc<str> = Arc::from(String::from_utf8_lossy(v).as_ref());
        if shared.len() < MAX_SHARED_UIDS {
            shared.insert(v.into(), Arc::clone(&s));
        }
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(CommandField::C_STORE_RSP.name(), "C-STORE-RSP");
        assert_eq!(CommandField(0x1234).name(), "0x1234");
        assert_eq!(CommandField::C_CANCEL_RQ.name(), "C-CANCEL-RQ");
        assert!(!CommandField::C_CANCEL_RQ.is_response());
        assert!(CommandField::C_ECHO_RSP.is_response());
    }

    #[test]
    fn command_set_with_cut_element_keeps_what_came_before() {
        let mut b = Vec::new();
        b.extend_from_slice(&[0, 0, 0, 1, 2, 0, 0, 0, 0x30, 0]);
        b.extend_from_slice(&[0, 0, 0x10, 1, 200, 0, 0, 0, 1]);
        let c = parse_command_set(&b);
        assert_eq!(c.field, Some(CommandField::C_ECHO_RQ));
        assert_eq!(c.message_id, None);
    }

    #[test]
    fn uid_padding_is_removed() {
        assert_eq!(uid_string(b"1.2.3\0"), "1.2.3");
        assert_eq!(uid_string(b"  AE  "), "AE");
        let (a, b) = (uid(b"1.2.840.10008.1.1\0"), uid(b"1.2.840.10008.1.1"));
        assert_eq!(&*a, "1.2.840.10008.1.1");
        assert!(Arc::ptr_eq(&a, &b), "one copy of a repeated UID");
        assert_eq!(&*uid(b"AE\xff "), "AE\u{fffd}");
        assert_eq!(uid_string(b""), "");
    }
}
