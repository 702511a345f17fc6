//! DICOM upper layer (PDUs), DIMSE command sets and association state, read passively from both
//! directions of a reassembled TCP stream.
//!
//! Layers, bottom up: `framing` cuts each direction into PDUs (small ones buffered whole up to a cap,
//! P-DATA-TF streamed PDV by PDV) and resynchronises after gaps; `associate` reads A-ASSOCIATE-RQ/AC
//! bodies; `dimse` reads command sets; `dataset` scans the start of each data set for patient
//! attributes; `state` is the association state machine. Memory per connection is bounded by the caps
//! below whatever the peers declare: a 500 MB C-STORE costs a few hundred bytes of state.
//!
//! Patient values are kept only in [`PatientValues`], whose `Debug` never shows them.

mod associate;
mod dataset;
mod dimse;
mod framing;
mod state;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use capture::{Direction, EndReason, StreamConsumer, Timestamp};

use dataset::{DatasetScanner, Syntax};
pub use dimse::CommandField;
use framing::Reader;
pub use state::PduType;
use state::State;

/// DIMSE commands kept per association; the rest are only counted.
pub const MAX_COMMANDS_PER_ASSOCIATION: usize = 100_000;
/// Associations kept per connection; further ones are counted in [`DicomStats::associations_dropped`].
pub const MAX_ASSOCIATIONS_PER_CONNECTION: usize = 1024;
/// Largest command set reassembled (command sets are a few hundred bytes).
pub const MAX_COMMAND_SET: usize = 64 * 1024;
/// Distinct modality values kept per association.
const MAX_MODALITIES: usize = 16;

/// How an association stands, or how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssociationStatus {
    /// A-ASSOCIATE-RQ seen, no answer yet.
    Requested,
    /// A-ASSOCIATE-AC seen, still open.
    Accepted,
    /// A-ASSOCIATE-RJ (PS3.8 9.3.4): result 1 permanent / 2 transient, source 1 user / 2 ACSE / 3
    /// presentation, reason depending on the source.
    Rejected { result: u8, source: u8, reason: u8 },
    /// A-RELEASE-RP seen.
    Released,
    /// A-ABORT (PS3.8 9.3.8): source 0 user / 2 provider, reason.
    Aborted { source: u8, reason: u8 },
}

impl AssociationStatus {
    /// "open" (requested or accepted), "released", "aborted" or "rejected".
    pub fn as_str(&self) -> &'static str {
        match self {
            AssociationStatus::Requested | AssociationStatus::Accepted => "open",
            AssociationStatus::Rejected { .. } => "rejected",
            AssociationStatus::Released => "released",
            AssociationStatus::Aborted { .. } => "aborted",
        }
    }

    fn is_final(&self) -> bool {
        !matches!(
            self,
            AssociationStatus::Requested | AssociationStatus::Accepted
        )
    }
}

/// A presentation context proposed in the A-ASSOCIATE-RQ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentationContext {
    pub id: u8,
    /// Empty when the item had none.
    pub abstract_syntax: Arc<str>,
    /// At most 16 kept.
    pub transfer_syntaxes: Vec<Arc<str>>,
}

/// A presentation context answered in the A-ASSOCIATE-AC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedContext {
    pub id: u8,
    /// 0 acceptance, 1 user rejection, 2 no reason, 3 abstract syntax not supported, 4 transfer syntaxes
    /// not supported.
    pub result: u8,
    /// Empty when the item had none (rejected contexts may leave it out).
    pub transfer_syntax: Arc<str>,
}

/// User Identity Negotiation from the A-ASSOCIATE-RQ. The passcode or token is never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserIdentity {
    /// 1 username, 2 username and passcode, 3 Kerberos, 4 SAML, 5 JWT.
    pub identity_type: u8,
    pub positive_response_requested: bool,
    /// For types 1 and 2 only.
    pub username: Option<String>,
    /// Type 2 with a non-empty passcode.
    pub has_password: bool,
}

/// Patient values, for `--show-phi` only: the first non-empty value of each seen on the association.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PatientValues {
    pub id: Option<String>,
    pub name: Option<String>,
    pub birth_date: Option<String>,
}

impl fmt::Debug for PatientValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = |v: &Option<String>| if v.is_some() { "<redacted>" } else { "None" };
        f.debug_struct("PatientValues")
            .field("id", &format_args!("{}", r(&self.id)))
            .field("name", &format_args!("{}", r(&self.name)))
            .field("birth_date", &format_args!("{}", r(&self.birth_date)))
            .finish()
    }
}

/// One DIMSE message's command set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DimseCommand {
    /// When its last command fragment arrived.
    pub ts: Timestamp,
    pub dir: Direction,
    pub field: CommandField,
    /// MessageID (0000,0110) for requests, MessageIDBeingRespondedTo (0000,0120) for responses.
    pub message_id: Option<u16>,
    pub affected_sop_class: Option<Arc<str>>,
    pub status: Option<u16>,
    pub presentation_context: u8,
}

/// One association: negotiation, what was exchanged, how it ended.
#[derive(Clone, PartialEq, Eq)]
pub struct Association {
    pub requested_at: Timestamp,
    /// Trimmed of padding. Empty when the association was picked up after its A-ASSOCIATE-RQ.
    pub calling_ae: Arc<str>,
    pub called_ae: Arc<str>,
    pub status: AssociationStatus,
    /// An A-ASSOCIATE-AC was seen (also when the association was later released or aborted).
    pub accepted: bool,
    pub application_context: Option<Arc<str>>,
    /// At most 256. Shared with other associations that proposed the very same contexts.
    pub proposed_contexts: Arc<[PresentationContext]>,
    /// At most 256. Shared like `proposed_contexts`.
    pub accepted_contexts: Arc<[AcceptedContext]>,
    /// From the A-ASSOCIATE-RQ user information.
    pub max_pdu_length: Option<u32>,
    pub implementation_class_uid: Option<Arc<str>>,
    pub implementation_version: Option<Arc<str>>,
    pub user_identity: Option<UserIdentity>,
    /// From the A-ASSOCIATE-AC user information.
    pub ac_max_pdu_length: Option<u32>,
    pub ac_implementation_class_uid: Option<Arc<str>>,
    pub ac_implementation_version: Option<Arc<str>>,
    /// The acceptor answered the user identity negotiation.
    pub ac_user_identity_response: bool,
    /// At most [`MAX_COMMANDS_PER_ASSOCIATION`]; see `commands_dropped`.
    pub commands: Vec<DimseCommand>,
    pub commands_dropped: u64,
    /// Every command, by name ("C-STORE-RQ"), including dropped ones.
    pub command_counts: BTreeMap<String, u64>,
    /// Patient-identifying attributes with a value in some data set, e.g. "PatientName (0010,0010)".
    pub patient_attributes: Vec<&'static str>,
    pub patient: PatientValues,
    /// Modality (0008,0060) values seen, deduplicated (at most 16).
    pub modalities: Vec<String>,
    /// A gap, a cap or the end of the capture cut something of this association.
    pub incomplete: bool,
    pub ended_at: Option<Timestamp>,
}

impl fmt::Debug for Association {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Association")
            .field("requested_at", &self.requested_at)
            .field("calling_ae", &self.calling_ae)
            .field("called_ae", &self.called_ae)
            .field("status", &self.status)
            .field("accepted", &self.accepted)
            .field("proposed_contexts", &self.proposed_contexts.len())
            .field("accepted_contexts", &self.accepted_contexts.len())
            .field("max_pdu_length", &self.max_pdu_length)
            .field("implementation_class_uid", &self.implementation_class_uid)
            .field("implementation_version", &self.implementation_version)
            .field("user_identity", &self.user_identity)
            .field("command_counts", &self.command_counts)
            .field("patient_attributes", &self.patient_attributes)
            .field("patient", &self.patient)
            .field("modalities", &self.modalities)
            .field("incomplete", &self.incomplete)
            .field("ended_at", &self.ended_at)
            .finish_non_exhaustive()
    }
}

impl Association {
    fn new(ts: Timestamp, status: AssociationStatus) -> Association {
        Association {
            requested_at: ts,
            calling_ae: dimse::uid(b""),
            called_ae: dimse::uid(b""),
            status,
            accepted: false,
            application_context: None,
            proposed_contexts: Arc::default(),
            accepted_contexts: Arc::default(),
            max_pdu_length: None,
            implementation_class_uid: None,
            implementation_version: None,
            user_identity: None,
            ac_max_pdu_length: None,
            ac_implementation_class_uid: None,
            ac_implementation_version: None,
            ac_user_identity_response: false,
            commands: Vec::new(),
            commands_dropped: 0,
            command_counts: BTreeMap::new(),
            patient_attributes: Vec::new(),
            patient: PatientValues::default(),
            modalities: Vec::new(),
            incomplete: false,
            ended_at: None,
        }
    }

    /// Abstract syntax UIDs proposed, in order.
    pub fn abstract_syntaxes(&self) -> impl Iterator<Item = &str> {
        self.proposed_contexts.iter().map(|c| &*c.abstract_syntax)
    }

    fn end(&mut self, ts: Timestamp, status: AssociationStatus) {
        if !self.status.is_final() {
            self.status = status;
            self.ended_at = Some(ts);
        }
    }
}

/// Counters for one connection (add them up across connections with [`DicomStats::add`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DicomStats {
    /// PDUs by type, indexed by the type byte (1..=7; index 0 is unused).
    pub pdus: [u64; 8],
    pub pdv_items: u64,
    pub commands: u64,
    pub data_sets: u64,
    /// Data sets in a transfer syntax not read (deflated, big endian).
    pub data_sets_not_scanned: u64,
    /// Bad PDU headers, PDV items that overrun their PDU, truncated associate items, oversized PDUs.
    pub malformed_pdus: u64,
    /// Non-P-DATA PDUs longer than 64 KiB (skipped, also counted as malformed).
    pub oversized_pdus: u64,
    /// Command sets without a command field, or longer than [`MAX_COMMAND_SET`].
    pub malformed_commands: u64,
    pub bytes_skipped_resync: u64,
    pub gaps: u64,
    pub bytes_lost_in_gaps: u64,
    /// PDUs the association state machine did not expect in its state (applied anyway).
    pub unexpected_transitions: u64,
    /// Presentation contexts and transfer syntaxes beyond the caps.
    pub contexts_dropped: u64,
    pub associations_dropped: u64,
}

impl DicomStats {
    pub fn pdu_count(&self, ty: PduType) -> u64 {
        self.pdus.get(usize::from(ty.0)).copied().unwrap_or(0)
    }

    pub fn add(&mut self, o: &DicomStats) {
        for (a, b) in self.pdus.iter_mut().zip(o.pdus) {
            *a += b;
        }
        self.pdv_items += o.pdv_items;
        self.commands += o.commands;
        self.data_sets += o.data_sets;
        self.data_sets_not_scanned += o.data_sets_not_scanned;
        self.malformed_pdus += o.malformed_pdus;
        self.oversized_pdus += o.oversized_pdus;
        self.malformed_commands += o.malformed_commands;
        self.bytes_skipped_resync += o.bytes_skipped_resync;
        self.gaps += o.gaps;
        self.bytes_lost_in_gaps += o.bytes_lost_in_gaps;
        self.unexpected_transitions += o.unexpected_transitions;
        self.contexts_dropped += o.contexts_dropped;
        self.associations_dropped += o.associations_dropped;
    }
}

/// Does this look like the start of an A-ASSOCIATE-RQ: PDU type 1, reserved 0, a plausible length and
/// protocol version 1 at offset 6?
pub fn looks_like_associate_rq(first_bytes: &[u8]) -> bool {
    let b = first_bytes;
    if b.len() < 8 || b[0] != 1 || b[1] != 0 {
        return false;
    }
    let len = u32::from_be_bytes([b[2], b[3], b[4], b[5]]);
    (associate::FIXED_LEN as u32..=framing::MAX_BUFFERED_PDU).contains(&len) && b[6..8] == [0, 1]
}

/// One DICOM upper-layer connection, fed both directions of a reassembled TCP stream.
pub struct DicomConnection {
    readers: [Reader; 2],
    core: Core,
}

impl fmt::Debug for DicomConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DicomConnection")
            .field("associations", &self.core.associations.len())
            .field("stats", &self.core.stats)
            .finish_non_exhaustive()
    }
}

impl Default for DicomConnection {
    fn default() -> Self {
        DicomConnection::new()
    }
}

impl DicomConnection {
    pub fn new() -> Self {
        DicomConnection {
            readers: [
                Reader::new(Direction::ToServer),
                Reader::new(Direction::ToClient),
            ],
            core: Core::new(),
        }
    }

    /// Stream bytes of one direction, in order.
    pub fn data(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8]) {
        self.readers[dir.index()].feed(ts, bytes, &mut self.core);
    }

    /// A reassembly gap in one direction: the PDU being read is abandoned (the association is marked
    /// `incomplete`) and the reader resynchronises: it accepts only a PDU header with type 1..=7, reserved
    /// byte 0, a plausible length (and for P-DATA, a PDV item header that fits), skipping bytes until then.
    /// When the gap falls inside a PDU of known length, the reader skips exactly to that PDU's end first.
    pub fn gap(&mut self, dir: Direction, ts: Timestamp, len: u64) {
        let _ = ts;
        self.core.stats.gaps += 1;
        self.core.stats.bytes_lost_in_gaps = self.core.stats.bytes_lost_in_gaps.saturating_add(len);
        self.readers[dir.index()].gap(len);
        self.core.abandon_message(dir);
        self.core.mark_incomplete();
    }

    /// The connection is over. An association still open ends here; one cut inside a PDU or message is
    /// marked incomplete.
    pub fn close(&mut self, ts: Timestamp) {
        let cut = self.readers.iter().any(Reader::mid_pdu) || self.core.mid_message();
        if cut {
            self.core.mark_incomplete();
        }
        for dir in [Direction::ToServer, Direction::ToClient] {
            self.core.abandon_message(dir);
        }
        if let Some(a) = self.core.current_mut()
            && a.ended_at.is_none()
        {
            a.ended_at = Some(ts);
        }
    }

    /// Associations seen so far (completed and the open one).
    pub fn associations(&self) -> &[Association] {
        &self.core.associations
    }

    /// Takes every association seen so far, the open one included; PDUs arriving later for an
    /// association already taken start a new (incomplete) record.
    pub fn take_associations(&mut self) -> Vec<Association> {
        self.core.current = None;
        std::mem::take(&mut self.core.associations)
    }

    pub fn stats(&self) -> DicomStats {
        self.core.stats.clone()
    }

    /// Heap bytes held by this connection's buffers, not counting the associations' records (for
    /// memory checks: it stays at a few KB whatever the traffic).
    pub fn buffer_capacity(&self) -> usize {
        self.readers.iter().map(Reader::capacity).sum::<usize>()
            + self
                .core
                .messages
                .iter()
                .map(|m| {
                    m.command.capacity() + m.scanner.as_ref().map_or(0, DatasetScanner::capacity)
                })
                .sum::<usize>()
    }
}

impl StreamConsumer for DicomConnection {
    fn data(&mut self, dir: Direction, ts: Timestamp, bytes: &[u8]) {
        DicomConnection::data(self, dir, ts, bytes);
    }
    fn gap(&mut self, dir: Direction, ts: Timestamp, len: u64) {
        DicomConnection::gap(self, dir, ts, len);
    }
    fn close(&mut self, ts: Timestamp, _reason: EndReason) {
        DicomConnection::close(self, ts);
    }
}

/// One direction's message being reassembled.
#[derive(Default)]
struct Message {
    command: Vec<u8>,
    command_overflow: bool,
    /// The data set being scanned, from its first fragment to its last.
    scanner: Option<DatasetScanner>,
}

/// Everything above framing: association records, state machine, DIMSE reassembly.
pub(crate) struct Core {
    associations: Vec<Association>,
    current: Option<usize>,
    state: State,
    requestor: Direction,
    /// Data set encoding per presentation context id, from the A-ASSOCIATE-AC.
    syntaxes: [Syntax; 256],
    messages: [Message; 2],
    stats: DicomStats,
}

impl Core {
    fn new() -> Core {
        Core {
            associations: Vec::new(),
            current: None,
            state: State::Idle,
            requestor: Direction::ToServer,
            syntaxes: [Syntax::Unknown; 256],
            messages: [Message::default(), Message::default()],
            stats: DicomStats::default(),
        }
    }

    fn current_mut(&mut self) -> Option<&mut Association> {
        self.current.and_then(|i| self.associations.get_mut(i))
    }

    fn mark_incomplete(&mut self) {
        if let Some(a) = self.current_mut() {
            a.incomplete = true;
        }
    }

    fn mid_message(&self) -> bool {
        self.messages
            .iter()
            .any(|m| !m.command.is_empty() || m.command_overflow || m.scanner.is_some())
    }

    /// Starts a new association record; `false` when the per-connection cap is reached.
    fn start(&mut self, ts: Timestamp, status: AssociationStatus) -> bool {
        if self.associations.len() >= MAX_ASSOCIATIONS_PER_CONNECTION {
            self.stats.associations_dropped += 1;
            self.current = None;
            return false;
        }
        self.associations.push(Association::new(ts, status));
        self.current = Some(self.associations.len() - 1);
        self.syntaxes = [Syntax::Unknown; 256];
        true
    }

    /// The current association, or a new incomplete one for traffic picked up after its start.
    fn ensure(&mut self, ts: Timestamp, status: AssociationStatus) -> Option<&mut Association> {
        if self.current.is_none() && self.start(ts, status) {
            let a = self.current_mut()?;
            a.incomplete = true;
        }
        self.current_mut()
    }

    fn step_state(&mut self, dir: Direction, ty: u8) {
        if ty == 1 {
            self.requestor = dir;
        }
        let (next, expected) = state::transition(self.state, PduType(ty), dir == self.requestor);
        if !expected {
            self.stats.unexpected_transitions += 1;
        }
        self.state = next;
    }

    /// The header of a P-DATA-TF was read.
    fn pdata_start(&mut self, dir: Direction, ts: Timestamp) {
        self.step_state(dir, 4);
        self.ensure(ts, AssociationStatus::Accepted);
    }

    /// A whole non-P-DATA PDU; `body` follows the 6-byte header.
    fn pdu(&mut self, dir: Direction, ts: Timestamp, ty: u8, body: &[u8]) {
        self.step_state(dir, ty);
        match ty {
            1 => {
                for d in [Direction::ToServer, Direction::ToClient] {
                    self.abandon_message(d);
                }
                let info = associate::parse_associate(body, true);
                self.note_parse(&info);
                if !self.start(ts, AssociationStatus::Requested) {
                    return;
                }
                let Some(a) = self.current_mut() else { return };
                a.called_ae = info.called_ae;
                a.calling_ae = info.calling_ae;
                a.application_context = info.application_context;
                a.proposed_contexts = info.proposed;
                a.max_pdu_length = info.max_pdu_length;
                a.implementation_class_uid = info.implementation_class_uid;
                a.implementation_version = info.implementation_version;
                a.user_identity = info.user_identity;
                a.incomplete |= info.malformed;
            }
            2 => {
                let info = associate::parse_associate(body, false);
                self.note_parse(&info);
                for c in info.accepted.iter() {
                    if c.result == 0 {
                        self.syntaxes[usize::from(c.id)] =
                            Syntax::from_transfer_syntax(&c.transfer_syntax);
                    }
                }
                let Some(a) = self.ensure(ts, AssociationStatus::Accepted) else {
                    return;
                };
                if a.called_ae.is_empty() && a.calling_ae.is_empty() {
                    // Picked up after the RQ: the AC repeats the AE titles.
                    a.called_ae = info.called_ae;
                    a.calling_ae = info.calling_ae;
                    a.application_context = info.application_context;
                }
                a.accepted = true;
                if !a.status.is_final() {
                    a.status = AssociationStatus::Accepted;
                }
                a.accepted_contexts = info.accepted;
                a.ac_max_pdu_length = info.max_pdu_length;
                a.ac_implementation_class_uid = info.implementation_class_uid;
                a.ac_implementation_version = info.implementation_version;
                a.ac_user_identity_response = info.user_identity_response;
                a.incomplete |= info.malformed;
            }
            3 => {
                if body.len() < 4 {
                    self.stats.malformed_pdus += 1;
                }
                let at = |i: usize| body.get(i).copied().unwrap_or(0);
                let status = AssociationStatus::Rejected {
                    result: at(1),
                    source: at(2),
                    reason: at(3),
                };
                if let Some(a) = self.ensure(ts, AssociationStatus::Requested) {
                    a.end(ts, status);
                }
            }
            6 => {
                if let Some(a) = self.current_mut() {
                    a.end(ts, AssociationStatus::Released);
                }
            }
            7 => {
                if body.len() < 4 {
                    self.stats.malformed_pdus += 1;
                }
                let at = |i: usize| body.get(i).copied().unwrap_or(0);
                let status = AssociationStatus::Aborted {
                    source: at(2),
                    reason: at(3),
                };
                if let Some(a) = self.current_mut() {
                    a.end(ts, status);
                }
            }
            // A-RELEASE-RQ changes nothing recorded until the answer.
            _ => {}
        }
    }

    fn note_parse(&mut self, info: &associate::AssociateInfo) {
        if info.malformed {
            self.stats.malformed_pdus += 1;
        }
        self.stats.contexts_dropped += info.dropped;
    }

    /// Drops a partly reassembled command or data set of one direction (cut by a gap or a bad item).
    fn abandon_message(&mut self, dir: Direction) {
        let m = &mut self.messages[dir.index()];
        m.command.clear();
        if m.command.capacity() > 4096 {
            m.command = Vec::new();
        }
        m.command_overflow = false;
        m.scanner = None;
    }

    /// Bytes of one PDV item value; `end` on the item's last slice.
    fn pdv(&mut self, dir: Direction, ts: Timestamp, ctx: u8, mch: u8, bytes: &[u8], end: bool) {
        let last_fragment = end && mch & 0x02 != 0;
        if end {
            self.stats.pdv_items += 1;
        }
        let Core {
            associations,
            current,
            messages,
            stats,
            syntaxes,
            ..
        } = self;
        let m = &mut messages[dir.index()];
        if mch & 0x01 != 0 {
            if m.command.len() + bytes.len() > MAX_COMMAND_SET {
                m.command_overflow = true;
            } else if !m.command_overflow {
                m.command.extend_from_slice(bytes);
            }
            if last_fragment {
                let overflow = m.command_overflow;
                let set = (!overflow).then(|| dimse::parse_command_set(&m.command));
                m.command.clear();
                if m.command.capacity() > 4096 {
                    m.command = Vec::new();
                }
                m.command_overflow = false;
                // A new command means any data set still being read from this side has ended.
                m.scanner = None;
                let assoc = current.and_then(|i| associations.get_mut(i));
                record_command(assoc, stats, set, ts, dir, ctx);
            }
            return;
        }
        let scanner = m.scanner.get_or_insert_with(|| {
            let syntax = syntaxes[usize::from(ctx)];
            if syntax == Syntax::Unsupported {
                stats.data_sets_not_scanned += 1;
            }
            DatasetScanner::new(syntax)
        });
        if !scanner.is_done()
            && let Some(a) = current.and_then(|i| associations.get_mut(i))
        {
            scanner.feed(bytes, &mut |tag, value| note_attribute(a, tag, value));
        }
        if last_fragment {
            stats.data_sets += 1;
            m.scanner = None;
        }
    }
}

fn record_command(
    assoc: Option<&mut Association>,
    stats: &mut DicomStats,
    set: Option<dimse::CommandSet>,
    ts: Timestamp,
    dir: Direction,
    ctx: u8,
) {
    let Some(set) = set else {
        stats.malformed_commands += 1;
        return;
    };
    let Some(field) = set.field else {
        stats.malformed_commands += 1;
        return;
    };
    stats.commands += 1;
    let Some(a) = assoc else { return };
    let name = field
        .known_name()
        .map_or_else(|| field.name(), str::to_string);
    *a.command_counts.entry(name).or_default() += 1;
    if a.commands.len() >= MAX_COMMANDS_PER_ASSOCIATION {
        a.commands_dropped += 1;
        return;
    }
    a.commands.push(DimseCommand {
        ts,
        dir,
        field,
        message_id: if field.is_response() {
            set.responded_to.or(set.message_id)
        } else {
            set.message_id.or(set.responded_to)
        },
        affected_sop_class: set.affected_sop_class,
        status: set.status,
        presentation_context: ctx,
    });
}

/// An interesting element of a data set: record the attribute (when it has a value) and keep the first
/// patient values.
fn note_attribute(a: &mut Association, tag: u32, value: Option<&[u8]>) {
    let text = value.map(dimse::uid_string);
    if text.as_deref() == Some("") {
        // Present but empty, as in a C-FIND request's return keys: no patient data sent.
        return;
    }
    if tag == dataset::MODALITY {
        if let Some(v) = text
            && a.modalities.len() < MAX_MODALITIES
            && !a.modalities.contains(&v)
        {
            a.modalities.push(v);
        }
        return;
    }
    let Some(&(_, name)) = dataset::PATIENT_TAGS.iter().find(|&&(t, _)| t == tag) else {
        return;
    };
    if !a.patient_attributes.contains(&name) {
        a.patient_attributes.push(name);
    }
    let slot = match tag {
        0x0010_0020 => &mut a.patient.id,
        0x0010_0010 => &mut a.patient.name,
        0x0010_0030 => &mut a.patient.birth_date,
        _ => return,
    };
    if slot.is_none() {
        *slot = text;
    }
}
