//! HL7 v2: MLLP framing and a tolerant message parser (being written).
