//! DICOM upper layer (PDUs), DIMSE command sets and association state (being written).
