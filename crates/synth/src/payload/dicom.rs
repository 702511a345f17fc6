//! DICOM Upper Layer PDUs (PS3.8 section 9.3) and DIMSE messages (PS3.7 chapter 9 and annex E),
//! byte for byte as dcmtk and pynetdicom write them. Every function appends to the caller's buffer.
//!
//! Conventions of the wire worth keeping in mind when reading the code:
//! - PDU and item headers are big endian (PS3.8 9.3.1); everything inside a PDV (command sets and
//!   data sets) is little endian.
//! - Command sets are always Implicit VR Little Endian (PS3.7 6.3.1); data sets use the transfer
//!   syntax accepted for their presentation context.
//! - Every DICOM value has even length (PS3.5 7.1.1): UI values are padded with a NUL, other
//!   strings with a space, OB data with a NUL.
//! - UIDs inside Upper Layer items (PS3.8 9.3.2.2, annex F) are written bare, odd lengths
//!   included, as dcmtk and pynetdicom do: the item length says where they end.
//! - Nothing here panics: AE titles are cut to 16 bytes, values to what their length fields can
//!   hold (65 534 bytes for a data element value, 65 535 bytes for a UL item), and at most 128
//!   presentation contexts (the odd ids 1 to 255, PS3.8 9.3.2.2) are written.

use crate::rng::splitmix64;

pub const VERIFICATION: &str = "1.2.840.10008.1.1";
pub const CT_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
pub const MR_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.4";
pub const US_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.6.1";
pub const CR_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.1";
/// Modality Worklist Information Model - FIND.
pub const MWL_FIND: &str = "1.2.840.10008.5.1.4.31";
pub const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
pub const APPLICATION_CONTEXT: &str = "1.2.840.10008.3.1.1.1";

/// CommandDataSetType (0000,0800) meaning "no data set follows" (PS3.7 E.1).
pub const NO_DATA_SET: u16 = 0x0101;
/// CommandDataSetType written when a data set follows. PS3.7 E.1 only says "any value other than
/// 0101H"; dcmtk (`DIMSE_DATASET_PRESENT`) and pynetdicom both put 0x0001 on the wire.
pub const DATA_SET_PRESENT: u16 = 0x0001;
/// DIMSE status: success (PS3.7 C.1.1).
pub const STATUS_SUCCESS: u16 = 0x0000;
/// DIMSE status: C-FIND pending, matches are continuing (PS3.4 C.4.1.1.4).
pub const STATUS_PENDING: u16 = 0xFF00;
/// DIMSE status: C-FIND pending, some optional keys not supported.
pub const STATUS_PENDING_WARNING: u16 = 0xFF01;

/// A presentation context proposed in an A-ASSOCIATE-RQ.
#[derive(Debug, Clone, Copy)]
pub struct PresentationContext<'a> {
    /// Odd, 1 to 255 (PS3.8 9.3.2.2). Written as given.
    pub id: u8,
    pub abstract_syntax: &'a str,
    pub transfer_syntaxes: &'a [&'a str],
}

/// The user information item common to A-ASSOCIATE-RQ and -AC (PS3.8 9.3.2.3, PS3.7 D.3.3).
#[derive(Debug, Clone, Copy)]
pub struct UserInfo<'a> {
    /// Maximum Length Received (PS3.8 D.1): the largest P-DATA-TF body this side accepts, 0 for
    /// unlimited.
    pub max_pdu: u32,
    pub implementation_class_uid: &'a str,
    /// 1 to 16 characters (PS3.7 D.3.3.2.2): longer ones are cut, an empty one is left out.
    pub implementation_version: &'a str,
}

/// User Identity Negotiation sub-item 0x58 (PS3.7 D.3.3.7.1).
#[derive(Debug, Clone, Copy)]
pub enum UserIdentity<'a> {
    /// User-Identity-Type 1.
    Username(&'a str),
    /// User-Identity-Type 2: user name and passcode, in clear.
    UsernamePassword(&'a str, &'a str),
}

/// Attributes of a synthetic single-frame grey-scale image.
#[derive(Debug, Clone, Copy)]
pub struct ImageAttrs<'a> {
    pub sop_class: &'a str,
    pub sop_instance: &'a str,
    pub study_uid: &'a str,
    pub series_uid: &'a str,
    /// "CT", "MR", "US", "CR".
    pub modality: &'a str,
    /// "FAMILY^GIVEN".
    pub patient_name: &'a str,
    pub patient_id: &'a str,
    /// YYYYMMDD.
    pub birth_date: &'a str,
    pub sex: &'a str,
    pub accession: &'a str,
    pub study_date: &'a str,
    pub study_time: &'a str,
    pub manufacturer: &'a str,
    pub model: &'a str,
    pub station_name: &'a str,
    pub software_version: &'a str,
    pub rows: u16,
    pub columns: u16,
    /// 16 for CT/MR/CR, 8 for US.
    pub bits_allocated: u16,
}

/// A Modality Worklist entry, as returned in a C-FIND-RSP identifier.
#[derive(Debug, Clone, Copy)]
pub struct WorklistItem<'a> {
    pub patient_name: &'a str,
    pub patient_id: &'a str,
    pub birth_date: &'a str,
    pub sex: &'a str,
    pub accession: &'a str,
    pub modality: &'a str,
    pub station_ae: &'a str,
    /// Scheduled Procedure Step Start Date, YYYYMMDD.
    pub date: &'a str,
}

// ---------------------------------------------------------------------------------------------
// Upper Layer PDUs (PS3.8 9.3)
// ---------------------------------------------------------------------------------------------

const A_ASSOCIATE_RQ: u8 = 0x01;
const A_ASSOCIATE_AC: u8 = 0x02;
const A_ASSOCIATE_RJ: u8 = 0x03;
const P_DATA_TF: u8 = 0x04;
const A_RELEASE_RQ: u8 = 0x05;
const A_RELEASE_RP: u8 = 0x06;
const A_ABORT: u8 = 0x07;

const ITEM_APPLICATION_CONTEXT: u8 = 0x10;
const ITEM_PRESENTATION_CONTEXT_RQ: u8 = 0x20;
const ITEM_PRESENTATION_CONTEXT_AC: u8 = 0x21;
const ITEM_ABSTRACT_SYNTAX: u8 = 0x30;
const ITEM_TRANSFER_SYNTAX: u8 = 0x40;
const ITEM_USER_INFORMATION: u8 = 0x50;
const ITEM_MAXIMUM_LENGTH: u8 = 0x51;
const ITEM_IMPLEMENTATION_CLASS_UID: u8 = 0x52;
const ITEM_IMPLEMENTATION_VERSION: u8 = 0x55;
const ITEM_USER_IDENTITY_RQ: u8 = 0x58;

/// Protocol-version field of A-ASSOCIATE-RQ/AC: bit 0 set, version 1 (PS3.8 9.3.2).
const PROTOCOL_VERSION: u16 = 0x0001;
/// Message control header of a PDV (PS3.8 E.2): bit 0 command (1) or data set (0), bit 1 last
/// fragment (1) or not (0).
const MCH_DATA: u8 = 0x00;
const MCH_COMMAND: u8 = 0x01;
const MCH_LAST: u8 = 0x02;

/// Largest body of an item with a 16-bit length field.
const MAX_ITEM: usize = u16::MAX as usize;
/// Presentation context ids are the odd numbers 1 to 255.
const MAX_CONTEXTS: usize = 128;
/// Implementation version names are 1 to 16 characters (PS3.7 D.3.3.2.2).
const MAX_VERSION_NAME: usize = 16;
/// dcmtk's ASC_P_NOTYETNEGOTIATED, left in the reserved result byte of proposed contexts.
const DCMTK_NOT_YET_NEGOTIATED: u8 = 0xFF;
/// dcmtk's ASC_MAXIMUMPDUSIZE: it never sends PDVs for a larger maximum, nor for "unlimited".
const DCMTK_MAX_PDU: u32 = 131_072;

/// A-ASSOCIATE-RQ (PS3.8 9.3.2). Note the order on the wire: called AE title first, then calling.
/// Items: application context (0x10), one presentation context (0x20) per entry with its abstract
/// syntax (0x30) and transfer syntaxes (0x40), then user information (0x50) holding maximum length
/// (0x51), implementation class UID (0x52), implementation version name (0x55) and, when given,
/// user identity (0x58) with positive-response-requested 0, so that no 0x59 is due in the AC.
pub fn associate_rq(
    out: &mut Vec<u8>,
    calling_ae: &str,
    called_ae: &str,
    contexts: &[PresentationContext],
    user: &UserInfo,
    identity: Option<&UserIdentity>,
) {
    let start = associate_header(out, A_ASSOCIATE_RQ, calling_ae, called_ae);
    for pc in contexts.iter().take(MAX_CONTEXTS) {
        let item = open_item(out, ITEM_PRESENTATION_CONTEXT_RQ);
        // Presentation-context-ID and three reserved bytes (PS3.8 9.3.2.2). dcmtk fills the
        // third with its "not yet negotiated" result, 0xFF (PS3.8 says "sent as 00H, not
        // tested"; pynetdicom sends 00H).
        out.extend_from_slice(&[pc.id, 0, DCMTK_NOT_YET_NEGOTIATED, 0]);
        leaf_item(
            out,
            ITEM_ABSTRACT_SYNTAX,
            pc.abstract_syntax.as_bytes(),
            room(out, item),
        );
        for ts in pc.transfer_syntaxes {
            leaf_item(out, ITEM_TRANSFER_SYNTAX, ts.as_bytes(), room(out, item));
        }
        close_item(out, item);
    }
    user_information(out, user, identity);
    close_pdu(out, start);
}

/// A-ASSOCIATE-AC (PS3.8 9.3.3). The AE titles are those of the request, echoed back in the same
/// places. Each result is (presentation context id, result/reason, transfer syntax): 0 acceptance,
/// 1 user rejection, 2 no reason, 3 abstract syntax not supported, 4 transfer syntaxes not
/// supported. The transfer syntax sub-item is written whatever the result: dcmtk puts Implicit VR
/// Little Endian in it for a rejected context (PS3.8 9.3.3.2: not significant unless accepted).
pub fn associate_ac(
    out: &mut Vec<u8>,
    calling_ae: &str,
    called_ae: &str,
    results: &[(u8, u8, &str)],
    user: &UserInfo,
) {
    let start = associate_header(out, A_ASSOCIATE_AC, calling_ae, called_ae);
    for &(id, result, ts) in results.iter().take(MAX_CONTEXTS) {
        let item = open_item(out, ITEM_PRESENTATION_CONTEXT_AC);
        // Presentation-context-ID, reserved, Result/Reason, reserved (PS3.8 9.3.3.2).
        out.extend_from_slice(&[id, 0, result, 0]);
        leaf_item(out, ITEM_TRANSFER_SYNTAX, ts.as_bytes(), room(out, item));
        close_item(out, item);
    }
    user_information(out, user, None);
    close_pdu(out, start);
}

/// A-ASSOCIATE-RJ (PS3.8 9.3.4): result 1 permanent / 2 transient; source 1 service user,
/// 2 service provider (ACSE), 3 service provider (presentation); reason depends on the source.
pub fn associate_rj(out: &mut Vec<u8>, result: u8, source: u8, reason: u8) {
    out.extend_from_slice(&[A_ASSOCIATE_RJ, 0, 0, 0, 0, 4, 0, result, source, reason]);
}

/// A-RELEASE-RQ (PS3.8 9.3.6): four reserved bytes.
pub fn release_rq(out: &mut Vec<u8>) {
    out.extend_from_slice(&[A_RELEASE_RQ, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
}

/// A-RELEASE-RP (PS3.8 9.3.7): four reserved bytes.
pub fn release_rp(out: &mut Vec<u8>) {
    out.extend_from_slice(&[A_RELEASE_RP, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
}

/// A-ABORT (PS3.8 9.3.8): source 0 service user, 2 service provider; reason (meaningful only for
/// source 2) 0 not specified, 1 unrecognized PDU, 2 unexpected PDU, 4 unrecognized parameter,
/// 5 unexpected parameter, 6 invalid parameter value.
pub fn abort(out: &mut Vec<u8>, source: u8, reason: u8) {
    out.extend_from_slice(&[A_ABORT, 0, 0, 0, 0, 4, 0, 0, source, reason]);
}

/// Wraps an encoded data set into P-DATA-TF PDUs of one PDV each, as dcmtk does: fragments have
/// message control header 0x00, the last one 0x02. An empty data set still gets its last fragment.
///
/// Fragment size is dcmtk's `sendPDVLength` (ASC_requestAssociation / ASC_acknowledgeAssociation):
/// the peer's maximum length (0 meaning unlimited) capped at 131 072, made even, minus 12. Hence the
/// familiar "Max Send PDV: 16372" for 16384, in PDUs whose length field is 16378. Only the 6 bytes
/// of PDV item header really count against the maximum (PS3.8 D.1), so every PDU length field is
/// at most `max_pdu`; for absurdly small maxima (under 24) fragments are `max_pdu - 6` rounded down
/// to even, and never under 2 bytes, so a `max_pdu` under 8 cannot be honoured.
pub fn p_data_dataset(out: &mut Vec<u8>, ctx_id: u8, dataset: &[u8], max_pdu: u32) {
    let frag = fragment_len(max_pdu);
    let pdus = dataset.len().div_ceil(frag).max(1);
    out.reserve(dataset.len() + pdus * 12);
    let mut chunks = dataset.chunks(frag).peekable();
    if chunks.peek().is_none() {
        data_pdv(out, ctx_id, MCH_DATA | MCH_LAST, &[]);
    }
    while let Some(chunk) = chunks.next() {
        let mch = if chunks.peek().is_none() {
            MCH_DATA | MCH_LAST
        } else {
            MCH_DATA
        };
        data_pdv(out, ctx_id, mch, chunk);
    }
}

/// Data bytes per PDV for a peer maximum length, see [`p_data_dataset`].
fn fragment_len(max_pdu: u32) -> usize {
    let max = if max_pdu == 0 {
        DCMTK_MAX_PDU
    } else {
        max_pdu.min(DCMTK_MAX_PDU)
    } & !1;
    let frag = if max >= 24 {
        max - 12
    } else {
        (max.saturating_sub(6) & !1).max(2)
    };
    // At most 131 060: fits any usize.
    frag as usize
}

/// One P-DATA-TF PDU holding one PDV (PS3.8 9.3.5): PDU header, PDV item length (counting the
/// context id and message control header), context id, message control header, fragment.
fn data_pdv(out: &mut Vec<u8>, ctx_id: u8, mch: u8, fragment: &[u8]) {
    // Fragments are at most 131 060 bytes (fragment_len), so the lengths fit in u32.
    let pdv_len = u32::try_from(fragment.len() + 2).unwrap_or(u32::MAX);
    out.extend_from_slice(&[P_DATA_TF, 0]);
    out.extend_from_slice(&pdv_len.saturating_add(4).to_be_bytes());
    out.extend_from_slice(&pdv_len.to_be_bytes());
    out.extend_from_slice(&[ctx_id, mch]);
    out.extend_from_slice(fragment);
}

/// Opens a PDU: type, reserved, 4-byte big-endian length patched by [`close_pdu`].
fn open_pdu(out: &mut Vec<u8>, pdu_type: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&[pdu_type, 0, 0, 0, 0, 0]);
    start
}

fn close_pdu(out: &mut [u8], start: usize) {
    // At most 128 items of 64 KiB plus user information: far below u32::MAX.
    let len = u32::try_from(out.len() - start - 6).unwrap_or(u32::MAX);
    out[start + 2..start + 6].copy_from_slice(&len.to_be_bytes());
}

/// Opens a UL item: type, reserved, 2-byte big-endian length patched by [`close_item`].
fn open_item(out: &mut Vec<u8>, item_type: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&[item_type, 0, 0, 0]);
    start
}

fn close_item(out: &mut [u8], start: usize) {
    // Everything written into an item is bounded by `room`.
    let len = u16::try_from(out.len() - start - 4).unwrap_or(u16::MAX);
    out[start + 2..start + 4].copy_from_slice(&len.to_be_bytes());
}

/// Bytes still available in the item opened at `start`.
fn room(out: &[u8], start: usize) -> usize {
    (start + 4 + MAX_ITEM).saturating_sub(out.len())
}

/// A sub-item holding `value` as is (no padding), cut to fit in `room` bytes header included;
/// nothing when not even the header fits.
fn leaf_item(out: &mut Vec<u8>, item_type: u8, value: &[u8], room: usize) {
    let Some(avail) = room.checked_sub(4) else {
        return;
    };
    let value = &value[..value.len().min(avail).min(MAX_ITEM)];
    out.extend_from_slice(&[item_type, 0]);
    out.extend_from_slice(&(value.len() as u16).to_be_bytes());
    out.extend_from_slice(value);
}

/// Fixed part of A-ASSOCIATE-RQ/AC (PS3.8 9.3.2, 9.3.3) and the application context item.
fn associate_header(out: &mut Vec<u8>, pdu_type: u8, calling_ae: &str, called_ae: &str) -> usize {
    let start = open_pdu(out, pdu_type);
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    out.extend_from_slice(&[0, 0]);
    ae_title(out, called_ae);
    ae_title(out, calling_ae);
    out.extend_from_slice(&[0; 32]);
    leaf_item(
        out,
        ITEM_APPLICATION_CONTEXT,
        APPLICATION_CONTEXT.as_bytes(),
        MAX_ITEM,
    );
    start
}

/// AE titles are 16 bytes, space padded (PS3.8 9.3.2: leading and trailing spaces are not
/// significant). Longer ones are cut.
fn ae_title(out: &mut Vec<u8>, ae: &str) {
    let ae = &ae.as_bytes()[..ae.len().min(16)];
    out.extend_from_slice(ae);
    out.resize(out.len() + 16 - ae.len(), b' ');
}

/// User information item (PS3.8 9.3.2.3) in dcmtk's sub-item order: 0x51, 0x52, 0x55, 0x58.
fn user_information(out: &mut Vec<u8>, user: &UserInfo, identity: Option<&UserIdentity>) {
    let item = open_item(out, ITEM_USER_INFORMATION);
    // Maximum Length sub-item (PS3.8 D.1.1): always 4 bytes of value.
    out.extend_from_slice(&[ITEM_MAXIMUM_LENGTH, 0, 0, 4]);
    out.extend_from_slice(&user.max_pdu.to_be_bytes());
    let uid = user.implementation_class_uid.as_bytes();
    leaf_item(out, ITEM_IMPLEMENTATION_CLASS_UID, uid, room(out, item));
    let version = user.implementation_version.as_bytes();
    let version = &version[..version.len().min(MAX_VERSION_NAME)];
    if !version.is_empty() {
        leaf_item(out, ITEM_IMPLEMENTATION_VERSION, version, room(out, item));
    }
    if let Some(identity) = identity {
        user_identity(out, identity, room(out, item));
    }
    close_item(out, item);
}

/// User Identity Negotiation sub-item (PS3.7 D.3.3.7.1): type, positive-response-requested,
/// primary field (user name) and secondary field (passcode, empty unless type 2), each with a
/// 2-byte length.
fn user_identity(out: &mut Vec<u8>, identity: &UserIdentity, room: usize) {
    let (kind, primary, secondary) = match *identity {
        UserIdentity::Username(user) => (1u8, user.as_bytes(), &[][..]),
        UserIdentity::UsernamePassword(user, pass) => (2u8, user.as_bytes(), pass.as_bytes()),
    };
    // Header 4, type 1, response 1, two field lengths 2 + 2.
    let Some(avail) = room.min(MAX_ITEM + 4).checked_sub(10) else {
        return;
    };
    let primary = &primary[..primary.len().min(avail)];
    let secondary = &secondary[..secondary.len().min(avail - primary.len())];
    out.extend_from_slice(&[ITEM_USER_IDENTITY_RQ, 0]);
    out.extend_from_slice(&((6 + primary.len() + secondary.len()) as u16).to_be_bytes());
    out.extend_from_slice(&[kind, 0]);
    out.extend_from_slice(&(primary.len() as u16).to_be_bytes());
    out.extend_from_slice(primary);
    out.extend_from_slice(&(secondary.len() as u16).to_be_bytes());
    out.extend_from_slice(secondary);
}

// ---------------------------------------------------------------------------------------------
// DIMSE command sets (PS3.7 9.3 and E.1)
// ---------------------------------------------------------------------------------------------

const C_STORE_RQ: u16 = 0x0001;
const C_STORE_RSP: u16 = 0x8001;
const C_FIND_RQ: u16 = 0x0020;
const C_FIND_RSP: u16 = 0x8020;
const C_ECHO_RQ: u16 = 0x0030;
const C_ECHO_RSP: u16 = 0x8030;

/// Priority (0000,0700): 0 medium, 1 high, 2 low. dcmtk's SCUs send medium.
const PRIORITY_MEDIUM: u16 = 0x0000;

const AFFECTED_SOP_CLASS_UID: u32 = 0x0000_0002;
const COMMAND_FIELD: u32 = 0x0000_0100;
const MESSAGE_ID: u32 = 0x0000_0110;
const MESSAGE_ID_BEING_RESPONDED_TO: u32 = 0x0000_0120;
const PRIORITY: u32 = 0x0000_0700;
const COMMAND_DATA_SET_TYPE: u32 = 0x0000_0800;
const STATUS: u32 = 0x0000_0900;
const AFFECTED_SOP_INSTANCE_UID: u32 = 0x0000_1000;

/// C-ECHO-RQ (PS3.7 9.3.5.1): no data set.
pub fn c_echo_rq(out: &mut Vec<u8>, ctx_id: u8, message_id: u16) {
    command(out, ctx_id, |out| {
        ui(out, Syntax::Implicit, AFFECTED_SOP_CLASS_UID, VERIFICATION);
        us(out, Syntax::Implicit, COMMAND_FIELD, C_ECHO_RQ);
        us(out, Syntax::Implicit, MESSAGE_ID, message_id);
        us(out, Syntax::Implicit, COMMAND_DATA_SET_TYPE, NO_DATA_SET);
    });
}

/// C-ECHO-RSP (PS3.7 9.3.5.2), with the optional Affected SOP Class UID that dcmtk and pynetdicom
/// both send.
pub fn c_echo_rsp(out: &mut Vec<u8>, ctx_id: u8, responded_id: u16, status: u16) {
    command(out, ctx_id, |out| {
        ui(out, Syntax::Implicit, AFFECTED_SOP_CLASS_UID, VERIFICATION);
        us(out, Syntax::Implicit, COMMAND_FIELD, C_ECHO_RSP);
        us(
            out,
            Syntax::Implicit,
            MESSAGE_ID_BEING_RESPONDED_TO,
            responded_id,
        );
        us(out, Syntax::Implicit, COMMAND_DATA_SET_TYPE, NO_DATA_SET);
        us(out, Syntax::Implicit, STATUS, status);
    });
}

/// C-STORE-RQ (PS3.7 9.3.1.1): the image data set follows.
pub fn c_store_rq(
    out: &mut Vec<u8>,
    ctx_id: u8,
    message_id: u16,
    sop_class: &str,
    sop_instance: &str,
) {
    command(out, ctx_id, |out| {
        ui(out, Syntax::Implicit, AFFECTED_SOP_CLASS_UID, sop_class);
        us(out, Syntax::Implicit, COMMAND_FIELD, C_STORE_RQ);
        us(out, Syntax::Implicit, MESSAGE_ID, message_id);
        us(out, Syntax::Implicit, PRIORITY, PRIORITY_MEDIUM);
        us(
            out,
            Syntax::Implicit,
            COMMAND_DATA_SET_TYPE,
            DATA_SET_PRESENT,
        );
        ui(
            out,
            Syntax::Implicit,
            AFFECTED_SOP_INSTANCE_UID,
            sop_instance,
        );
    });
}

/// C-STORE-RSP (PS3.7 9.3.1.2): no data set.
pub fn c_store_rsp(
    out: &mut Vec<u8>,
    ctx_id: u8,
    responded_id: u16,
    sop_class: &str,
    sop_instance: &str,
    status: u16,
) {
    command(out, ctx_id, |out| {
        ui(out, Syntax::Implicit, AFFECTED_SOP_CLASS_UID, sop_class);
        us(out, Syntax::Implicit, COMMAND_FIELD, C_STORE_RSP);
        us(
            out,
            Syntax::Implicit,
            MESSAGE_ID_BEING_RESPONDED_TO,
            responded_id,
        );
        us(out, Syntax::Implicit, COMMAND_DATA_SET_TYPE, NO_DATA_SET);
        us(out, Syntax::Implicit, STATUS, status);
        ui(
            out,
            Syntax::Implicit,
            AFFECTED_SOP_INSTANCE_UID,
            sop_instance,
        );
    });
}

/// C-FIND-RQ (PS3.7 9.3.2.1): the identifier (query) data set follows.
pub fn c_find_rq(out: &mut Vec<u8>, ctx_id: u8, message_id: u16, sop_class: &str) {
    command(out, ctx_id, |out| {
        ui(out, Syntax::Implicit, AFFECTED_SOP_CLASS_UID, sop_class);
        us(out, Syntax::Implicit, COMMAND_FIELD, C_FIND_RQ);
        us(out, Syntax::Implicit, MESSAGE_ID, message_id);
        us(out, Syntax::Implicit, PRIORITY, PRIORITY_MEDIUM);
        us(
            out,
            Syntax::Implicit,
            COMMAND_DATA_SET_TYPE,
            DATA_SET_PRESENT,
        );
    });
}

/// C-FIND-RSP (PS3.7 9.3.2.2). A pending status (0xFF00, 0xFF01) announces a matching identifier
/// data set; any other status (success 0x0000, cancel, failures) is final and carries none.
pub fn c_find_rsp(out: &mut Vec<u8>, ctx_id: u8, responded_id: u16, sop_class: &str, status: u16) {
    let pending = matches!(status, STATUS_PENDING | STATUS_PENDING_WARNING);
    command(out, ctx_id, |out| {
        ui(out, Syntax::Implicit, AFFECTED_SOP_CLASS_UID, sop_class);
        us(out, Syntax::Implicit, COMMAND_FIELD, C_FIND_RSP);
        us(
            out,
            Syntax::Implicit,
            MESSAGE_ID_BEING_RESPONDED_TO,
            responded_id,
        );
        let data_set_type = if pending {
            DATA_SET_PRESENT
        } else {
            NO_DATA_SET
        };
        us(out, Syntax::Implicit, COMMAND_DATA_SET_TYPE, data_set_type);
        us(out, Syntax::Implicit, STATUS, status);
    });
}

/// One command set in one P-DATA-TF PDU with one PDV (message control header 0x03: command, last).
/// `elements` writes the elements after CommandGroupLength (0000,0000), in ascending tag order;
/// the group length (UL) counts every byte after its own element (PS3.7 E.1, PS3.5 7.2).
fn command(out: &mut Vec<u8>, ctx_id: u8, elements: impl FnOnce(&mut Vec<u8>)) {
    let pdu = open_pdu(out, P_DATA_TF);
    let pdv = out.len();
    out.extend_from_slice(&[0, 0, 0, 0, ctx_id, MCH_COMMAND | MCH_LAST]);
    // (0000,0000) UL, length 4, value patched below.
    out.extend_from_slice(&[0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0]);
    let group = out.len();
    elements(out);
    // Two UIDs of at most 65 534 bytes and a few US: far below u32::MAX.
    let group_len = u32::try_from(out.len() - group).unwrap_or(u32::MAX);
    out[group - 4..group].copy_from_slice(&group_len.to_le_bytes());
    let pdv_len = u32::try_from(out.len() - pdv - 4).unwrap_or(u32::MAX);
    out[pdv..pdv + 4].copy_from_slice(&pdv_len.to_be_bytes());
    close_pdu(out, pdu);
}

// ---------------------------------------------------------------------------------------------
// Data sets (PS3.5 7.1)
// ---------------------------------------------------------------------------------------------

const SOP_CLASS_UID: u32 = 0x0008_0016;
const SOP_INSTANCE_UID: u32 = 0x0008_0018;
const STUDY_DATE: u32 = 0x0008_0020;
const STUDY_TIME: u32 = 0x0008_0030;
const ACCESSION_NUMBER: u32 = 0x0008_0050;
const MODALITY: u32 = 0x0008_0060;
const MANUFACTURER: u32 = 0x0008_0070;
const STATION_NAME: u32 = 0x0008_1010;
const MANUFACTURER_MODEL_NAME: u32 = 0x0008_1090;
const PATIENT_NAME: u32 = 0x0010_0010;
const PATIENT_ID: u32 = 0x0010_0020;
const PATIENT_BIRTH_DATE: u32 = 0x0010_0030;
const PATIENT_SEX: u32 = 0x0010_0040;
const SOFTWARE_VERSIONS: u32 = 0x0018_1020;
const STUDY_INSTANCE_UID: u32 = 0x0020_000D;
const SERIES_INSTANCE_UID: u32 = 0x0020_000E;
const SAMPLES_PER_PIXEL: u32 = 0x0028_0002;
const PHOTOMETRIC_INTERPRETATION: u32 = 0x0028_0004;
const ROWS: u32 = 0x0028_0010;
const COLUMNS: u32 = 0x0028_0011;
const BITS_ALLOCATED: u32 = 0x0028_0100;
const BITS_STORED: u32 = 0x0028_0101;
const HIGH_BIT: u32 = 0x0028_0102;
const PIXEL_REPRESENTATION: u32 = 0x0028_0103;
const SCHEDULED_STATION_AE_TITLE: u32 = 0x0040_0001;
const SCHEDULED_PROCEDURE_STEP_START_DATE: u32 = 0x0040_0002;
const SCHEDULED_PROCEDURE_STEP_SEQUENCE: u32 = 0x0040_0100;
const PIXEL_DATA: u32 = 0x7FE0_0010;
/// Item (FFFE,E000): never has a VR, whatever the transfer syntax (PS3.5 7.5).
const ITEM: u32 = 0xFFFE_E000;

/// Largest even value a 16-bit explicit VR length can describe.
const MAX_SHORT_VALUE: usize = 0xFFFE;
/// Largest even defined length (0xFFFFFFFF means undefined length).
const MAX_DEFINED_LENGTH: u64 = 0xFFFF_FFFE;
/// Size of the precomputed pixel pattern block.
const PIXEL_BLOCK: usize = 4096;

/// How a data set is encoded. Both are little endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Syntax {
    Implicit,
    Explicit,
}

impl Syntax {
    /// Implicit VR Little Endian for its UID (trailing NUL or space padding tolerated); every other
    /// transfer syntax is written as Explicit VR Little Endian, which is what the native pixel
    /// transfer syntaxes this module produces need (big endian is retired, compressed ones would
    /// need encapsulated pixel data).
    fn of(ts: &str) -> Syntax {
        if ts.trim_end_matches(['\0', ' ']) == IMPLICIT_VR_LE {
            Syntax::Implicit
        } else {
            Syntax::Explicit
        }
    }
}

/// Element header. In explicit VR, OB, OD, OF, OL, OV, OW, SQ, SV, UC, UN, UR, UT and UV have
/// 2 reserved bytes and a 4-byte length; the others a 2-byte length (PS3.5 7.1.2). Callers keep
/// short-form lengths within 16 bits.
fn header(out: &mut Vec<u8>, syntax: Syntax, tag: u32, vr: [u8; 2], len: u32) {
    out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
    out.extend_from_slice(&(tag as u16).to_le_bytes());
    match syntax {
        Syntax::Implicit => out.extend_from_slice(&len.to_le_bytes()),
        Syntax::Explicit => {
            out.extend_from_slice(&vr);
            if matches!(
                &vr,
                b"OB"
                    | b"OD"
                    | b"OF"
                    | b"OL"
                    | b"OV"
                    | b"OW"
                    | b"SQ"
                    | b"SV"
                    | b"UC"
                    | b"UN"
                    | b"UR"
                    | b"UT"
                    | b"UV"
            ) {
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&len.to_le_bytes());
            } else {
                let len = u16::try_from(len).unwrap_or(u16::MAX);
                out.extend_from_slice(&len.to_le_bytes());
            }
        }
    }
}

/// A string element padded to even length: NUL for UI, space otherwise (PS3.5 6.2). Values are
/// cut at 65 534 bytes.
fn string(out: &mut Vec<u8>, syntax: Syntax, tag: u32, vr: [u8; 2], value: &str) {
    let value = &value.as_bytes()[..value.len().min(MAX_SHORT_VALUE)];
    let odd = value.len() % 2;
    header(out, syntax, tag, vr, (value.len() + odd) as u32);
    out.extend_from_slice(value);
    if odd == 1 {
        out.push(if &vr == b"UI" { 0 } else { b' ' });
    }
}

fn ui(out: &mut Vec<u8>, syntax: Syntax, tag: u32, uid: &str) {
    string(out, syntax, tag, *b"UI", uid);
}

fn us(out: &mut Vec<u8>, syntax: Syntax, tag: u32, value: u16) {
    header(out, syntax, tag, *b"US", 2);
    out.extend_from_slice(&value.to_le_bytes());
}

/// A sequence of one item, both with defined lengths (dcmtk's default when writing, like
/// pydicom's for sequences it builds).
fn sequence_of_one(out: &mut Vec<u8>, syntax: Syntax, tag: u32, item: impl FnOnce(&mut Vec<u8>)) {
    header(out, syntax, tag, *b"SQ", 0);
    let sq_body = out.len();
    // The item header is the same in both syntaxes: tag and 4-byte length, no VR.
    header(out, Syntax::Implicit, ITEM, *b"  ", 0);
    let item_body = out.len();
    item(out);
    // Both length fields are the last 4 bytes of their headers.
    let item_len = u32::try_from(out.len() - item_body).unwrap_or(u32::MAX);
    out[item_body - 4..item_body].copy_from_slice(&item_len.to_le_bytes());
    let sq_len = u32::try_from(out.len() - sq_body).unwrap_or(u32::MAX);
    out[sq_body - 4..sq_body].copy_from_slice(&sq_len.to_le_bytes());
}

/// Appends a whole single-frame MONOCHROME2 image data set in transfer syntax `ts`, elements in
/// ascending tag order, ending with Pixel Data (OW, or OB when 8 bits are allocated) of
/// rows * columns * bits_allocated / 8 bytes (rounded up, padded to even length, capped at
/// 0xFFFFFFFE) filled by [`pixel_fill`]. 16-bit images store 12 bits (Bits Stored 12, High Bit 11,
/// unsigned), as most CT, MR and CR modalities do; other depths store every allocated bit.
pub fn image_dataset(out: &mut Vec<u8>, ts: &str, attrs: &ImageAttrs, pattern_seed: u64) {
    let syntax = Syntax::of(ts);
    let a = attrs;
    let pixel_len = pixel_data_len(a.rows, a.columns, a.bits_allocated);
    let strings = [
        a.sop_class,
        a.sop_instance,
        a.study_date,
        a.study_time,
        a.accession,
        a.modality,
        a.manufacturer,
        a.station_name,
        a.model,
        a.patient_name,
        a.patient_id,
        a.birth_date,
        a.sex,
        a.software_version,
        a.study_uid,
        a.series_uid,
    ];
    // Headers are at most 12 bytes, padding one byte per string.
    let header_bytes: usize = strings
        .iter()
        .map(|s| s.len().min(MAX_SHORT_VALUE) + 13)
        .sum();
    out.reserve(header_bytes + 8 * 10 + 12 + 12 + pixel_len);

    ui(out, syntax, SOP_CLASS_UID, a.sop_class);
    ui(out, syntax, SOP_INSTANCE_UID, a.sop_instance);
    string(out, syntax, STUDY_DATE, *b"DA", a.study_date);
    string(out, syntax, STUDY_TIME, *b"TM", a.study_time);
    string(out, syntax, ACCESSION_NUMBER, *b"SH", a.accession);
    string(out, syntax, MODALITY, *b"CS", a.modality);
    string(out, syntax, MANUFACTURER, *b"LO", a.manufacturer);
    string(out, syntax, STATION_NAME, *b"SH", a.station_name);
    string(out, syntax, MANUFACTURER_MODEL_NAME, *b"LO", a.model);
    string(out, syntax, PATIENT_NAME, *b"PN", a.patient_name);
    string(out, syntax, PATIENT_ID, *b"LO", a.patient_id);
    string(out, syntax, PATIENT_BIRTH_DATE, *b"DA", a.birth_date);
    string(out, syntax, PATIENT_SEX, *b"CS", a.sex);
    string(out, syntax, SOFTWARE_VERSIONS, *b"LO", a.software_version);
    ui(out, syntax, STUDY_INSTANCE_UID, a.study_uid);
    ui(out, syntax, SERIES_INSTANCE_UID, a.series_uid);
    us(out, syntax, SAMPLES_PER_PIXEL, 1);
    string(
        out,
        syntax,
        PHOTOMETRIC_INTERPRETATION,
        *b"CS",
        "MONOCHROME2",
    );
    us(out, syntax, ROWS, a.rows);
    us(out, syntax, COLUMNS, a.columns);
    us(out, syntax, BITS_ALLOCATED, a.bits_allocated);
    let bits_stored = if a.bits_allocated == 16 {
        12
    } else {
        a.bits_allocated
    };
    us(out, syntax, BITS_STORED, bits_stored);
    us(out, syntax, HIGH_BIT, bits_stored.saturating_sub(1));
    us(out, syntax, PIXEL_REPRESENTATION, 0);
    let vr = if a.bits_allocated <= 8 {
        *b"OB"
    } else {
        *b"OW"
    };
    // pixel_data_len is capped at 0xFFFFFFFE.
    header(
        out,
        syntax,
        PIXEL_DATA,
        vr,
        u32::try_from(pixel_len).unwrap_or(u32::MAX - 1),
    );
    pixel_fill(out, pattern_seed, pixel_len, a.bits_allocated);
}

/// Pixel Data value length: whole bytes for every bit, padded to even length (PS3.5 8.1.1).
fn pixel_data_len(rows: u16, columns: u16, bits_allocated: u16) -> usize {
    let bytes = (u64::from(rows) * u64::from(columns) * u64::from(bits_allocated)).div_ceil(8);
    let even = (bytes + bytes % 2).min(MAX_DEFINED_LENGTH);
    usize::try_from(even).unwrap_or(usize::MAX & !1)
}

/// Appends `len` bytes of deterministic pixel content for `seed`: a diagonal gradient with a little
/// hashed noise, 12-bit little-endian samples when more than 8 bits are allocated, bytes otherwise.
/// One 4 KiB block is computed and then copied, so this runs at memory-copy speed.
pub fn pixel_fill(out: &mut Vec<u8>, seed: u64, len: usize, bits_allocated: u16) {
    let block = pixel_block(seed, bits_allocated);
    out.reserve(len);
    let mut left = len;
    while left >= PIXEL_BLOCK {
        out.extend_from_slice(&block);
        left -= PIXEL_BLOCK;
    }
    out.extend_from_slice(&block[..left]);
}

fn pixel_block(seed: u64, bits_allocated: u16) -> [u8; PIXEL_BLOCK] {
    let mut state = seed;
    let h = splitmix64(&mut state);
    let base = h as u32;
    let step = ((h >> 32) as u32 & 7) + 1;
    let salt = (h >> 40) as u32;
    let sample = |i: u32| {
        let noise = (i ^ salt).wrapping_mul(0x9E37_79B1) >> 28;
        base.wrapping_add(i.wrapping_mul(step)).wrapping_add(noise)
    };
    let mut block = [0u8; PIXEL_BLOCK];
    if bits_allocated <= 8 {
        for (i, b) in (0u32..).zip(block.iter_mut()) {
            *b = sample(i) as u8;
        }
    } else {
        for (i, pair) in (0u32..).zip(block.chunks_exact_mut(2)) {
            pair.copy_from_slice(&((sample(i) & 0x0FFF) as u16).to_le_bytes());
        }
    }
    block
}

/// A Modality Worklist C-FIND identifier (PS3.4 K.6.1.2): the same keys as [`worklist_response`],
/// patient keys empty (return keys), matching on modality, scheduled station AE title and date.
pub fn worklist_query(out: &mut Vec<u8>, ts: &str, modality: &str, station_ae: &str, date: &str) {
    let query = WorklistItem {
        patient_name: "",
        patient_id: "",
        birth_date: "",
        sex: "",
        accession: "",
        modality,
        station_ae,
        date,
    };
    worklist(out, Syntax::of(ts), &query);
}

/// A matching worklist identifier, sent with a pending C-FIND-RSP.
pub fn worklist_response(out: &mut Vec<u8>, ts: &str, item: &WorklistItem) {
    worklist(out, Syntax::of(ts), item);
}

fn worklist(out: &mut Vec<u8>, syntax: Syntax, w: &WorklistItem) {
    string(out, syntax, ACCESSION_NUMBER, *b"SH", w.accession);
    string(out, syntax, PATIENT_NAME, *b"PN", w.patient_name);
    string(out, syntax, PATIENT_ID, *b"LO", w.patient_id);
    string(out, syntax, PATIENT_BIRTH_DATE, *b"DA", w.birth_date);
    string(out, syntax, PATIENT_SEX, *b"CS", w.sex);
    sequence_of_one(out, syntax, SCHEDULED_PROCEDURE_STEP_SEQUENCE, |out| {
        string(out, syntax, MODALITY, *b"CS", w.modality);
        string(
            out,
            syntax,
            SCHEDULED_STATION_AE_TITLE,
            *b"AE",
            w.station_ae,
        );
        string(
            out,
            syntax,
            SCHEDULED_PROCEDURE_STEP_START_DATE,
            *b"DA",
            w.date,
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    // ---- A tiny independent reader ----------------------------------------------------------

    fn be16(b: &[u8]) -> usize {
        u16::from_be_bytes([b[0], b[1]]) as usize
    }
    fn be32(b: &[u8]) -> usize {
        u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize
    }
    fn le16(b: &[u8]) -> u16 {
        u16::from_le_bytes([b[0], b[1]])
    }
    fn le32(b: &[u8]) -> usize {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
    }

    /// Splits a byte stream into (type, body) PDUs; the lengths must tile it exactly.
    fn pdus(mut b: &[u8]) -> Vec<(u8, &[u8])> {
        let mut v = Vec::new();
        while !b.is_empty() {
            assert!(b.len() >= 6, "truncated PDU header");
            assert_eq!(b[1], 0, "reserved byte");
            let len = be32(&b[2..]);
            assert!(b.len() >= 6 + len, "PDU length runs past the end");
            v.push((b[0], &b[6..6 + len]));
            b = &b[6 + len..];
        }
        v
    }

    /// Splits UL items (type, reserved, 16-bit length); they must tile `b` exactly.
    fn items(mut b: &[u8]) -> Vec<(u8, &[u8])> {
        let mut v = Vec::new();
        while !b.is_empty() {
            assert!(b.len() >= 4, "truncated item header");
            assert_eq!(b[1], 0);
            let len = be16(&b[2..]);
            assert!(b.len() >= 4 + len, "item length runs past the end");
            v.push((b[0], &b[4..4 + len]));
            b = &b[4 + len..];
        }
        v
    }

    /// PDVs of a P-DATA-TF body: (context id, message control header, fragment).
    fn pdvs(mut b: &[u8]) -> Vec<(u8, u8, &[u8])> {
        let mut v = Vec::new();
        while !b.is_empty() {
            let len = be32(b);
            assert!(len >= 2 && b.len() >= 4 + len);
            v.push((b[4], b[5], &b[6..4 + len]));
            b = &b[4 + len..];
        }
        v
    }

    #[derive(Debug)]
    struct Elem<'a> {
        tag: u32,
        vr: Option<[u8; 2]>,
        /// Bytes of the header: 8, or 12 for the explicit long form.
        header: usize,
        value: &'a [u8],
    }

    /// Flat element walk of one level of a little-endian data set (sequence values left raw).
    fn elements(mut b: &[u8], explicit: bool) -> Vec<Elem<'_>> {
        let mut v = Vec::new();
        while !b.is_empty() {
            let tag = (u32::from(le16(b)) << 16) | u32::from(le16(&b[2..]));
            let (vr, header, len) = if !explicit || tag == ITEM {
                (None, 8, le32(&b[4..]))
            } else {
                let vr = [b[4], b[5]];
                match &vr {
                    b"OB" | b"OW" | b"OF" | b"SQ" | b"UT" | b"UN" => {
                        assert_eq!(&b[6..8], &[0, 0], "reserved bytes of the long form");
                        (Some(vr), 12, le32(&b[8..]))
                    }
                    _ => (Some(vr), 8, usize::from(le16(&b[6..]))),
                }
            };
            assert_ne!(len, 0xFFFF_FFFF, "undefined length");
            assert!(
                b.len() >= header + len,
                "element {tag:08X} runs past the end"
            );
            v.push(Elem {
                tag,
                vr,
                header,
                value: &b[header..header + len],
            });
            b = &b[header + len..];
        }
        v
    }

    fn text(v: &[u8]) -> &str {
        std::str::from_utf8(v)
            .unwrap()
            .trim_end_matches(['\0', ' '])
    }

    fn ascending(elems: &[Elem]) -> bool {
        elems.windows(2).all(|w| w[0].tag < w[1].tag)
    }

    fn find<'a>(elems: &'a [Elem<'a>], tag: u32) -> &'a Elem<'a> {
        elems
            .iter()
            .find(|e| e.tag == tag)
            .unwrap_or_else(|| panic!("no {tag:08X}"))
    }

    /// Reads a command PDU: one P-DATA-TF, one PDV with header 0x03, group length checked.
    fn command_set(bytes: &[u8], ctx_id: u8) -> Vec<Elem<'_>> {
        let p = pdus(bytes);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, P_DATA_TF);
        let v = pdvs(p[0].1);
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].0, v[0].1), (ctx_id, 0x03));
        let elems = elements(v[0].2, false);
        assert_eq!(elems[0].tag, 0x0000_0000);
        assert_eq!(elems[0].value.len(), 4);
        assert_eq!(
            le32(elems[0].value),
            v[0].2.len() - 12,
            "CommandGroupLength"
        );
        assert!(ascending(&elems));
        for e in &elems {
            assert_eq!(e.tag >> 16, 0, "group 0000 only");
            assert_eq!(e.value.len() % 2, 0, "odd length in {:08X}", e.tag);
        }
        elems
    }

    fn us_of(elems: &[Elem], tag: u32) -> u16 {
        let e = find(elems, tag);
        assert_eq!(e.value.len(), 2);
        le16(e.value)
    }

    const USER: UserInfo = UserInfo {
        max_pdu: 16384,
        implementation_class_uid: "1.2.276.0.7230010.3.0.3.6.8",
        implementation_version: "OFFIS_DCMTK_368",
    };

    // ---- Association -------------------------------------------------------------------------

    #[test]
    fn associate_rq_walks_item_by_item() {
        let ts = [EXPLICIT_VR_LE, IMPLICIT_VR_LE];
        let contexts = [
            PresentationContext {
                id: 1,
                abstract_syntax: VERIFICATION,
                transfer_syntaxes: &ts[1..],
            },
            PresentationContext {
                id: 3,
                abstract_syntax: CT_IMAGE_STORAGE,
                transfer_syntaxes: &ts,
            },
        ];
        let mut out = vec![0xAA]; // appends, never overwrites
        let id = UserIdentity::UsernamePassword("tech1", "secret");
        associate_rq(
            &mut out,
            "CT_SCANNER_01",
            "PACS",
            &contexts,
            &USER,
            Some(&id),
        );
        assert_eq!(out[0], 0xAA);
        let p = pdus(&out[1..]);
        assert_eq!(p.len(), 1);
        let (ty, body) = p[0];
        assert_eq!(ty, A_ASSOCIATE_RQ);
        assert_eq!(&body[0..2], &[0, 1], "protocol version");
        assert_eq!(&body[2..4], &[0, 0]);
        assert_eq!(&body[4..20], b"PACS            ", "called AE first");
        assert_eq!(&body[20..36], b"CT_SCANNER_01   ", "then calling AE");
        assert_eq!(&body[36..68], &[0; 32]);
        let it = items(&body[68..]);
        let types: Vec<u8> = it.iter().map(|i| i.0).collect();
        assert_eq!(types, [0x10, 0x20, 0x20, 0x50]);
        assert_eq!(
            it[0].1,
            APPLICATION_CONTEXT.as_bytes(),
            "no padding in UL UIDs"
        );

        let pc = it[2].1;
        assert_eq!(&pc[..4], &[3, 0, 0xFF, 0]);
        let sub = items(&pc[4..]);
        assert_eq!(sub[0], (0x30, CT_IMAGE_STORAGE.as_bytes()));
        assert_eq!(sub[1], (0x40, EXPLICIT_VR_LE.as_bytes()));
        assert_eq!(sub[2], (0x40, IMPLICIT_VR_LE.as_bytes()));
        assert_eq!(sub.len(), 3);
        assert_eq!(items(&it[1].1[4..]).len(), 2);

        let ui = items(it[3].1);
        let types: Vec<u8> = ui.iter().map(|i| i.0).collect();
        assert_eq!(types, [0x51, 0x52, 0x55, 0x58]);
        assert_eq!(be32(ui[0].1), 16384);
        assert_eq!(ui[0].1.len(), 4);
        assert_eq!(ui[1].1, USER.implementation_class_uid.as_bytes());
        assert_eq!(ui[2].1, b"OFFIS_DCMTK_368");
        let ident = ui[3].1;
        assert_eq!(
            &ident[..2],
            &[2, 0],
            "type 2, no positive response requested"
        );
        let n = be16(&ident[2..]);
        assert_eq!(&ident[4..4 + n], b"tech1");
        let m = be16(&ident[4 + n..]);
        assert_eq!(&ident[6 + n..], b"secret");
        assert_eq!(m, 6);

        let mut out = Vec::new();
        associate_rq(
            &mut out,
            "A",
            "B",
            &contexts[..1],
            &USER,
            Some(&UserIdentity::Username("u")),
        );
        let p = pdus(&out);
        let it = items(&p[0].1[68..]);
        let ident = items(it.last().unwrap().1).pop().unwrap();
        assert_eq!(ident, (0x58, &[1, 0, 0, 1, b'u', 0, 0][..]));
    }

    #[test]
    fn associate_rq_survives_absurd_input() {
        let huge = "1.2".repeat(40_000);
        let many_ts: Vec<&str> = vec![huge.as_str(); 3];
        let contexts: Vec<PresentationContext> = (0..300)
            .map(|i| PresentationContext {
                id: (i * 2 + 1) as u8,
                abstract_syntax: &huge,
                transfer_syntaxes: &many_ts,
            })
            .collect();
        let user = UserInfo {
            max_pdu: 0,
            implementation_class_uid: &huge,
            implementation_version: "A_VERSION_NAME_LONGER_THAN_16",
        };
        let id = UserIdentity::UsernamePassword(&huge, &huge);
        let mut out = Vec::new();
        let long_ae = "AN_AE_TITLE_WAY_TOO_LONG";
        associate_rq(&mut out, long_ae, long_ae, &contexts, &user, Some(&id));
        let p = pdus(&out);
        assert_eq!(p.len(), 1);
        assert_eq!(&p[0].1[4..20], b"AN_AE_TITLE_WAY_");
        let it = items(&p[0].1[68..]);
        assert_eq!(it.len(), 1 + 128 + 1, "at most 128 presentation contexts");
        for (_, pc) in &it[1..129] {
            items(&pc[4..]);
        }
        let ui = items(it[129].1);
        assert_eq!(ui[0].1, &[0, 0, 0, 0]);
        // The class UID fills the item; nothing else fits after it.
        assert_eq!(ui.len(), 2);

        // Empty everything.
        let mut out = Vec::new();
        let empty = UserInfo {
            max_pdu: 0,
            implementation_class_uid: "",
            implementation_version: "",
        };
        associate_rq(&mut out, "", "", &[], &empty, None);
        let p = pdus(&out);
        assert_eq!(&p[0].1[4..36], &[b' '; 32]);
        let it = items(&p[0].1[68..]);
        assert_eq!(it.len(), 2);
        assert_eq!(items(it[1].1).len(), 2, "0x51 and an empty 0x52, no 0x55");
    }

    #[test]
    fn associate_ac_has_one_transfer_syntax_per_context() {
        let mut out = Vec::new();
        let results = [
            (1, 0, IMPLICIT_VR_LE),
            (3, 3, IMPLICIT_VR_LE),
            (5, 0, EXPLICIT_VR_LE),
        ];
        associate_ac(&mut out, "CT_SCANNER_01", "PACS", &results, &USER);
        let p = pdus(&out);
        assert_eq!(p.len(), 1);
        let (ty, body) = p[0];
        assert_eq!(ty, A_ASSOCIATE_AC);
        assert_eq!(&body[0..2], &[0, 1]);
        assert_eq!(&body[4..20], b"PACS            ");
        assert_eq!(&body[20..36], b"CT_SCANNER_01   ");
        let it = items(&body[68..]);
        let types: Vec<u8> = it.iter().map(|i| i.0).collect();
        assert_eq!(types, [0x10, 0x21, 0x21, 0x21, 0x50]);
        for (i, &(id, result, ts)) in results.iter().enumerate() {
            let pc = it[1 + i].1;
            assert_eq!(&pc[..4], &[id, 0, result, 0]);
            assert_eq!(items(&pc[4..]), [(0x40, ts.as_bytes())]);
        }
        assert_eq!(items(it[4].1).len(), 3);
    }

    #[test]
    fn fixed_size_pdus_match_ps3_8() {
        let mut out = Vec::new();
        associate_rj(&mut out, 1, 1, 7);
        release_rq(&mut out);
        release_rp(&mut out);
        abort(&mut out, 2, 6);
        assert_eq!(
            out,
            [
                3, 0, 0, 0, 0, 4, 0, 1, 1, 7, //
                5, 0, 0, 0, 0, 4, 0, 0, 0, 0, //
                6, 0, 0, 0, 0, 4, 0, 0, 0, 0, //
                7, 0, 0, 0, 0, 4, 0, 0, 2, 6,
            ]
        );
        assert_eq!(pdus(&out).len(), 4);
    }

    // ---- DIMSE -------------------------------------------------------------------------------

    #[test]
    fn command_sets_have_the_right_fields() {
        let inst = "1.2.826.0.1.3680043.8.498.1"; // odd length: NUL padded
        let cases: Vec<(Vec<u8>, u16, u16, Option<u16>)> = vec![
            (run(|o| c_echo_rq(o, 1, 7)), C_ECHO_RQ, NO_DATA_SET, None),
            (
                run(|o| c_echo_rsp(o, 1, 7, 0)),
                C_ECHO_RSP,
                NO_DATA_SET,
                Some(0),
            ),
            (
                run(|o| c_store_rq(o, 1, 7, CT_IMAGE_STORAGE, inst)),
                C_STORE_RQ,
                DATA_SET_PRESENT,
                None,
            ),
            (
                run(|o| c_store_rsp(o, 1, 7, CT_IMAGE_STORAGE, inst, 0xB000)),
                C_STORE_RSP,
                NO_DATA_SET,
                Some(0xB000),
            ),
            (
                run(|o| c_find_rq(o, 1, 7, MWL_FIND)),
                C_FIND_RQ,
                DATA_SET_PRESENT,
                None,
            ),
            (
                run(|o| c_find_rsp(o, 1, 7, MWL_FIND, 0xFF00)),
                C_FIND_RSP,
                DATA_SET_PRESENT,
                Some(0xFF00),
            ),
            (
                run(|o| c_find_rsp(o, 1, 7, MWL_FIND, 0xFF01)),
                C_FIND_RSP,
                DATA_SET_PRESENT,
                Some(0xFF01),
            ),
            (
                run(|o| c_find_rsp(o, 1, 7, MWL_FIND, 0)),
                C_FIND_RSP,
                NO_DATA_SET,
                Some(0),
            ),
            (
                run(|o| c_find_rsp(o, 1, 7, MWL_FIND, 0xA700)),
                C_FIND_RSP,
                NO_DATA_SET,
                Some(0xA700),
            ),
        ];
        for (bytes, field, data_set_type, status) in &cases {
            let elems = command_set(bytes, 1);
            assert_eq!(us_of(&elems, COMMAND_FIELD), *field);
            assert_eq!(us_of(&elems, COMMAND_DATA_SET_TYPE), *data_set_type);
            let is_rsp = field & 0x8000 != 0;
            let id_tag = if is_rsp {
                MESSAGE_ID_BEING_RESPONDED_TO
            } else {
                MESSAGE_ID
            };
            assert_eq!(us_of(&elems, id_tag), 7);
            assert!(!elems.iter().any(|e| e.tag
                == if is_rsp {
                    MESSAGE_ID
                } else {
                    MESSAGE_ID_BEING_RESPONDED_TO
                }));
            assert_eq!(
                elems
                    .iter()
                    .find(|e| e.tag == STATUS)
                    .map(|e| le16(e.value)),
                *status
            );
            let has_priority = matches!(*field, C_STORE_RQ | C_FIND_RQ);
            assert_eq!(elems.iter().any(|e| e.tag == PRIORITY), has_priority);
            if has_priority {
                assert_eq!(us_of(&elems, PRIORITY), 0);
            }
            let class = find(&elems, AFFECTED_SOP_CLASS_UID).value;
            assert!(class.ends_with(b"\0") || !class.contains(&0));
            let has_instance = matches!(*field, C_STORE_RQ | C_STORE_RSP);
            assert_eq!(
                elems.iter().any(|e| e.tag == AFFECTED_SOP_INSTANCE_UID),
                has_instance
            );
        }
        let store = command_set(&cases[2].0, 1);
        let inst_value = find(&store, AFFECTED_SOP_INSTANCE_UID).value;
        assert_eq!(inst_value, format!("{inst}\0").as_bytes());
        assert_eq!(
            find(&store, AFFECTED_SOP_CLASS_UID).value,
            b"1.2.840.10008.5.1.4.1.1.2\0"
        );
        // The C-ECHO-RQ, byte for byte (identical to dcmtk 3.6.7 echoscu's).
        let mut want = vec![4, 0, 0, 0, 0, 74, 0, 0, 0, 70, 1, 3];
        want.extend_from_slice(&[0, 0, 0, 0, 4, 0, 0, 0, 56, 0, 0, 0]);
        want.extend_from_slice(&[0, 0, 2, 0, 18, 0, 0, 0]);
        want.extend_from_slice(b"1.2.840.10008.1.1\0");
        want.extend_from_slice(&[0, 0, 0, 1, 2, 0, 0, 0, 0x30, 0]);
        want.extend_from_slice(&[0, 0, 0x10, 1, 2, 0, 0, 0, 7, 0]);
        want.extend_from_slice(&[0, 0, 0, 8, 2, 0, 0, 0, 1, 1]);
        assert_eq!(cases[0].0, want);
    }

    fn hex(h: &str) -> Vec<u8> {
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    }

    /// PDUs captured between dcmtk 3.6.7 tools (storescu/storescp, findscu/wlmscpfs, echoscu).
    #[test]
    fn matches_dcmtk_367_captures() {
        let user = UserInfo {
            max_pdu: 16384,
            implementation_class_uid: "1.2.276.0.7230010.3.0.3.6.7",
            implementation_version: "OFFIS_DCMTK_367",
        };
        let ac = run(|o| associate_ac(o, "US_ROOM_3", "PACS", &[(1, 3, IMPLICIT_VR_LE)], &user));
        assert_eq!(
            ac,
            hex(concat!(
                "0200000000b8000100005041435320202020202020202020202055535f524f4f4d5f332020202020",
                "2020000000000000000000000000000000000000000000000000000000000000000010000015312e",
                "322e3834302e31303030382e332e312e312e31210000190100030040000011312e322e3834302e31",
                "303030382e312e325000003a51000004000040005200001b312e322e3237362e302e373233303031",
                "302e332e302e332e362e375500000f4f464649535f44434d544b5f333637"
            ))
        );
        let inst = "1.2.826.0.1.3680043.8.498.12345";
        let rsp = run(|o| c_store_rsp(o, 0x29, 1, CT_IMAGE_STORAGE, inst, STATUS_SUCCESS));
        assert_eq!(
            rsp,
            hex(concat!(
                "040000000084000000802903000000000400000072000000000002001a000000312e322e3834302e",
                "31303030382e352e312e342e312e312e320000000001020000000180000020010200000001000000",
                "0008020000000101000000090200000000000000001020000000312e322e3832362e302e312e3336",
                "38303034332e382e3439382e313233343500"
            ))
        );
        let pending = run(|o| c_find_rsp(o, 1, 1, MWL_FIND, STATUS_PENDING));
        assert_eq!(
            pending,
            hex(concat!(
                "0400000000580000005401030000000004000000460000000000020016000000312e322e3834302e",
                "31303030382e352e312e342e3331000000010200000020800000200102000000010000000008020000",
                "000100000000090200000000ff"
            ))
        );
        let item = WorklistItem {
            patient_name: "ROE^JANE",
            patient_id: "MRN77",
            birth_date: "19800101",
            sex: "F",
            accession: "ACC9001",
            modality: "US",
            station_ae: "US_ROOM_3",
            date: "20240131",
        };
        let identifier = run(|o| worklist_response(o, EXPLICIT_VR_LE, &item));
        let data = run(|o| p_data_dataset(o, 1, &identifier, 16384));
        assert_eq!(
            data,
            hex(concat!(
                "04000000008e0000008a01020800500053480800414343393030312010001000504e0800524f455e",
                "4a414e45100020004c4f06004d524e3737201000300044410800313938303031303110004000435302",
                "004620400000015351000034000000feff00e02c000000080060004353020055534000010041450a00",
                "55535f524f4f4d5f332040000200444108003230323430313331"
            ))
        );
    }

    fn run(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut out = Vec::new();
        f(&mut out);
        out
    }

    // ---- Data sets ---------------------------------------------------------------------------

    fn ct(rows: u16, columns: u16, bits: u16) -> ImageAttrs<'static> {
        ImageAttrs {
            sop_class: CT_IMAGE_STORAGE,
            sop_instance: "1.2.826.0.1.3680043.8.498.12345",
            study_uid: "1.2.826.0.1.3680043.8.498.1",
            series_uid: "1.2.826.0.1.3680043.8.498.12",
            modality: "CT",
            patient_name: "DOE^JOHN",
            patient_id: "MRN0012345",
            birth_date: "19610302",
            sex: "M",
            accession: "ACC42",
            study_date: "20240131",
            study_time: "101502",
            manufacturer: "SIEMENS",
            model: "SOMATOM Force",
            station_name: "CTAWP001",
            software_version: "syngo CT VA50A",
            rows,
            columns,
            bits_allocated: bits,
        }
    }

    fn check_image(ds: &[u8], explicit: bool, attrs: &ImageAttrs) {
        let elems = elements(ds, explicit);
        assert!(ascending(&elems));
        assert_eq!(elems.len(), 25);
        for e in &elems {
            assert_eq!(e.value.len() % 2, 0, "odd length in {:08X}", e.tag);
        }
        assert_eq!(
            find(&elems, SOP_CLASS_UID).value,
            b"1.2.840.10008.5.1.4.1.1.2\0"
        );
        assert_eq!(
            text(find(&elems, SOP_INSTANCE_UID).value),
            attrs.sop_instance
        );
        assert_eq!(find(&elems, PATIENT_SEX).value, b"M ");
        assert_eq!(text(find(&elems, PATIENT_NAME).value), attrs.patient_name);
        assert_eq!(
            text(find(&elems, PHOTOMETRIC_INTERPRETATION).value),
            "MONOCHROME2"
        );
        assert_eq!(us_of(&elems, ROWS), attrs.rows);
        assert_eq!(us_of(&elems, COLUMNS), attrs.columns);
        assert_eq!(us_of(&elems, BITS_ALLOCATED), attrs.bits_allocated);
        let stored = us_of(&elems, BITS_STORED);
        assert_eq!(us_of(&elems, HIGH_BIT), stored - 1);
        let pixels = elems.last().unwrap();
        assert_eq!(pixels.tag, PIXEL_DATA);
        let raw = attrs.rows as usize * attrs.columns as usize * attrs.bits_allocated as usize / 8;
        assert_eq!(pixels.value.len(), raw + raw % 2);
        if explicit {
            assert_eq!(find(&elems, PATIENT_NAME).vr, Some(*b"PN"));
            assert_eq!(find(&elems, STUDY_INSTANCE_UID).vr, Some(*b"UI"));
            assert_eq!(find(&elems, ROWS).header, 8);
            let vr = if attrs.bits_allocated == 8 {
                *b"OB"
            } else {
                *b"OW"
            };
            assert_eq!(pixels.vr, Some(vr));
            assert_eq!(pixels.header, 12, "OB/OW use the long form");
        }
        if attrs.bits_allocated == 16 {
            let max = pixels.value.chunks_exact(2).map(le16).max().unwrap_or(0);
            assert!(
                max < 1 << stored,
                "sample {max} beyond Bits Stored {stored}"
            );
        }
    }

    #[test]
    fn image_dataset_in_both_syntaxes() {
        for (rows, columns, bits) in [(512, 512, 16), (3, 5, 8), (480, 640, 8), (0, 0, 16)] {
            let attrs = ct(rows, columns, bits);
            for (ts, explicit) in [(IMPLICIT_VR_LE, false), (EXPLICIT_VR_LE, true)] {
                let mut ds = Vec::new();
                image_dataset(&mut ds, ts, &attrs, 99);
                check_image(&ds, explicit, &attrs);
            }
        }
        // Same seed, same bytes; another seed, other pixels.
        let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
        image_dataset(&mut a, IMPLICIT_VR_LE, &ct(64, 64, 16), 1);
        image_dataset(&mut b, IMPLICIT_VR_LE, &ct(64, 64, 16), 1);
        image_dataset(&mut c, IMPLICIT_VR_LE, &ct(64, 64, 16), 2);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.len(), c.len());
    }

    #[test]
    fn pixel_fill_is_cheap_and_exact() {
        for len in [0, 1, 4095, 4096, 4097, 524_288] {
            let mut out = vec![7];
            pixel_fill(&mut out, 5, len, 16);
            assert_eq!(out.len(), len + 1);
        }
        let mut out = Vec::new();
        pixel_fill(&mut out, 5, 8192, 8);
        assert!(out.iter().any(|&b| b != out[0]));
        assert_eq!(&out[..4096], &out[4096..], "a repeated 4 KiB block");
        assert_eq!(pixel_data_len(u16::MAX, u16::MAX, 16), 0xFFFF_FFFE);
        assert_eq!(pixel_data_len(3, 3, 1), 2);
    }

    #[test]
    fn worklist_identifiers_nest_one_item() {
        let item = WorklistItem {
            patient_name: "ROE^JANE",
            patient_id: "MRN77",
            birth_date: "19800101",
            sex: "F",
            accession: "ACC9001",
            modality: "US",
            station_ae: "US_ROOM_3",
            date: "20240131",
        };
        for (ts, explicit) in [(IMPLICIT_VR_LE, false), (EXPLICIT_VR_LE, true)] {
            let mut q = Vec::new();
            worklist_query(&mut q, ts, "US", "US_ROOM_3", "20240131");
            let mut r = Vec::new();
            worklist_response(&mut r, ts, &item);
            for (ds, filled) in [(&q, false), (&r, true)] {
                let elems = elements(ds, explicit);
                assert!(ascending(&elems));
                let tags: Vec<u32> = elems.iter().map(|e| e.tag).collect();
                assert_eq!(
                    tags,
                    [
                        ACCESSION_NUMBER,
                        PATIENT_NAME,
                        PATIENT_ID,
                        PATIENT_BIRTH_DATE,
                        PATIENT_SEX,
                        SCHEDULED_PROCEDURE_STEP_SEQUENCE
                    ]
                );
                for e in &elems {
                    assert_eq!(e.value.len() % 2, 0);
                }
                assert_eq!(
                    text(find(&elems, PATIENT_ID).value),
                    if filled { "MRN77" } else { "" }
                );
                let sq = elems.last().unwrap();
                if explicit {
                    assert_eq!((sq.vr, sq.header), (Some(*b"SQ"), 12));
                }
                let seq_items = elements(sq.value, explicit);
                assert_eq!(seq_items.len(), 1);
                assert_eq!((seq_items[0].tag, seq_items[0].header), (ITEM, 8));
                let inner = elements(seq_items[0].value, explicit);
                assert!(ascending(&inner));
                assert_eq!(inner.len(), 3);
                assert_eq!(find(&inner, MODALITY).value, b"US");
                assert_eq!(
                    find(&inner, SCHEDULED_STATION_AE_TITLE).value,
                    b"US_ROOM_3 "
                );
                assert_eq!(
                    find(&inner, SCHEDULED_PROCEDURE_STEP_START_DATE).value,
                    b"20240131"
                );
                if explicit {
                    assert_eq!(find(&inner, SCHEDULED_STATION_AE_TITLE).vr, Some(*b"AE"));
                }
            }
        }
    }

    // ---- P-DATA ------------------------------------------------------------------------------

    #[test]
    fn p_data_fragments_respect_max_pdu_and_reassemble() {
        let mut ds = Vec::new();
        image_dataset(&mut ds, EXPLICIT_VR_LE, &ct(300, 301, 16), 3);
        let odd = [1u8, 2, 3];
        for data in [&ds[..], &odd[..], &[][..]] {
            for max_pdu in [
                0u32,
                1,
                7,
                8,
                9,
                23,
                24,
                100,
                4096,
                16384,
                16383,
                131_072,
                1 << 20,
            ] {
                let mut out = Vec::new();
                p_data_dataset(&mut out, 5, data, max_pdu);
                let p = pdus(&out);
                let mut joined = Vec::new();
                for (i, (ty, body)) in p.iter().enumerate() {
                    assert_eq!(*ty, P_DATA_TF);
                    if max_pdu >= 8 {
                        assert!(
                            body.len() <= max_pdu as usize,
                            "PDU of {} > {max_pdu}",
                            body.len()
                        );
                    }
                    let v = pdvs(body);
                    assert_eq!(v.len(), 1, "one PDV per PDU");
                    let last = i + 1 == p.len();
                    assert_eq!((v[0].0, v[0].1), (5, if last { 0x02 } else { 0x00 }));
                    if !last {
                        assert_eq!(v[0].2.len() % 2, 0, "even fragments");
                    }
                    joined.extend_from_slice(v[0].2);
                }
                assert_eq!(joined, data);
            }
        }
        // dcmtk's "Max Send PDV: 16372" for a 16384 maximum.
        let mut out = Vec::new();
        p_data_dataset(&mut out, 1, &ds, 16384);
        let p = pdus(&out);
        assert_eq!(p[0].1.len(), 16378);
        assert_eq!(pdvs(p[0].1)[0].2.len(), 16372);
        assert_eq!(p.len(), ds.len().div_ceil(16372));
    }
}
