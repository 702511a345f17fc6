//! Application payloads, byte for byte as real stacks write them. Pure functions: no I/O, no time.
pub mod dhcp;
pub mod dicom;
pub mod dns;
pub mod hl7;
pub mod http;
pub mod lldp;
pub mod login;
pub mod netbios;
pub mod ntp;
pub mod quic;
pub mod smb;
pub mod tls;
