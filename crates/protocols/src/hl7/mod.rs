//! HL7 v2 over MLLP: deframing ([`MllpDeframer`]), a tolerant zero-copy parser ([`parse`]) and the
//! per-message summary medsentry reports ([`summarize`]; OBX observations on demand, [`observations`]).
//!
//! The layers are separate: the deframer turns one direction of a reassembled TCP stream into frames,
//! [`parse`] turns a frame into a [`Message`] of borrowed segments, and [`summarize`] picks out what the
//! report needs. None of them panics or allocates without bound on any input. Patient data stays in
//! [`PatientRef`] and [`Observation`] values, which `Debug` prints as `<redacted>`; [`Hl7Summary::phi_fields`]
//! says *which* PHI fields travelled without their values.

pub mod mllp;
pub mod parse;
mod scan;
pub mod summary;

pub use mllp::{DEFAULT_MAX_FRAME, Frame, MllpDeframer, MllpStats};
pub use parse::{Delimiters, FieldIndex, Hl7Error, Message, Segment, Value, parse, unescape};
pub use summary::{
    DeviceIdentifier, Hl7Summary, Observation, PHI_FIELDS, PatientRef, PhiCounts, PhiField,
    PhiFields, observations, summarize, summarize_redacted,
};
