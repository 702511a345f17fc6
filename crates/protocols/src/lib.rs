//! Application-layer parsing: protocol detection on reassembled streams, HL7 v2 over MLLP, DICOM upper
//! layer and DIMSE, cleartext logins (telnet, FTP, HTTP Basic) and TLS record detection, and the
//! identity evidence devices give away (DHCP and DHCPv6, DNS and mDNS, TLS hellos, banners, SNMP
//! system groups, EtherNet/IP ListIdentity, NetBIOS names and browser announcements, LLMNR answers, SSDP, LLDP and LLDP-MED, CDP).
//!
//! This crate knows nothing of devices, SQL or HTTP servers. Parsers take bytes and packet timestamps and
//! produce typed records; patient data stays inside the records and is only printed by callers that were
//! asked to (`--show-phi`).

#![forbid(unsafe_code)]

pub mod cdp;
pub mod cleartext;
pub mod detect;
pub mod dhcp;
pub mod dicom;
pub mod dns;
pub mod enip;
pub mod hl7;
pub mod lldp;
pub mod netbios;
pub mod ntlm;
pub mod quic;
pub mod session;
pub mod smb;
pub mod snmp;
pub mod ssdp;
pub mod tls_hello;
