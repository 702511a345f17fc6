//! HL7 v2 messages in MLLP frames, as clinical systems send them: ORU^R01 vital signs from patient
//! monitors (LOINC codes, UCUM units, OBX-18 equipment ids, a PRT-16 UDI in v2.8), ORU^R01 results
//! from lab analysers, ADT^A01/A03/A08 from the EHR, and the ACKs that answer them.

use std::fmt::Write;

use crate::patients::Patient;

pub const START: u8 = 0x0b;
pub const END: [u8; 2] = [0x1c, 0x0d];

/// Who sends and receives (MSH-3..6), and the message's own identity.
pub struct Header<'a> {
    pub sending_app: &'a str,
    pub sending_facility: &'a str,
    pub receiving_app: &'a str,
    pub receiving_facility: &'a str,
    /// YYYYMMDDHHMMSS
    pub timestamp: &'a str,
    pub control_id: &'a str,
    pub version: &'a str,
}

fn msh(out: &mut String, h: &Header, msg_type: &str) {
    let _ = write!(
        out,
        "MSH|^~\\&|{}|{}|{}|{}|{}||{}|{}|P|{}|||AL|NE\r",
        h.sending_app,
        h.sending_facility,
        h.receiving_app,
        h.receiving_facility,
        h.timestamp,
        msg_type,
        h.control_id,
        h.version
    );
}

fn pid(out: &mut String, p: &Patient) {
    let _ = write!(
        out,
        "PID|1||{}^^^SYNHOSP^MR||{}^{}^^^^^L||{}|{}|||1 SYNTHETIC WAY^^TESTVILLE^^00000||{}\r",
        p.mrn, p.family, p.given, p.birth_date, p.sex, p.phone
    );
}

fn frame(out: &mut Vec<u8>, body: &str) {
    out.push(START);
    out.extend_from_slice(body.as_bytes());
    out.extend_from_slice(&END);
}

/// One numeric OBX per value: LOINC code (OBX-3), value (OBX-5), UCUM unit (OBX-6), time (OBX-14) and
/// the equipment that measured it (OBX-18).
fn obx(out: &mut String, values: &[Vital], timestamp: &str, equipment_id: &str) {
    for (i, v) in values.iter().enumerate() {
        let _ = write!(
            out,
            "OBX|{}|NM|{}^{}^LN||{:.*}|{}^{}^UCUM|||||F|||{}||||{}\r",
            i + 1,
            v.loinc,
            v.name,
            v.decimals,
            v.value,
            v.unit,
            v.unit,
            timestamp,
            equipment_id
        );
    }
}

/// A vital sign: LOINC code, display name, value, UCUM unit.
pub struct Vital {
    pub loinc: &'static str,
    pub name: &'static str,
    pub value: f64,
    pub decimals: usize,
    pub unit: &'static str,
}

/// ORU^R01 with one OBX per vital, each naming the device in OBX-18; in v2.8 also a PRT segment
/// with the device's UDI in PRT-16.
pub fn oru_vitals(
    out: &mut Vec<u8>,
    h: &Header,
    p: &Patient,
    vitals: &[Vital],
    equipment_id: &str,
    udi: Option<&str>,
) {
    let mut s = String::with_capacity(900);
    msh(&mut s, h, "ORU^R01^ORU_R01");
    pid(&mut s, p);
    let _ = write!(s, "PV1|1|I|{}||||0001^ATTENDING^SYN\r", p.bed);
    let _ = write!(
        s,
        "OBR|1||{}|VITALS^Vital signs^L|||{}\r",
        h.control_id, h.timestamp
    );
    obx(&mut s, vitals, h.timestamp, equipment_id);
    if let Some(udi) = udi {
        let _ = write!(
            s,
            "PRT|1|UC||RO^Reporting device^HL70912||||||||||||{udi}\r"
        );
    }
    frame(out, &s);
}

/// A lab result: ORU^R01 with one OBX per analyte.
pub fn oru_lab(out: &mut Vec<u8>, h: &Header, p: &Patient, results: &[Vital], instrument_id: &str) {
    let mut s = String::with_capacity(900);
    msh(&mut s, h, "ORU^R01^ORU_R01");
    pid(&mut s, p);
    let _ = write!(
        s,
        "OBR|1||{}|CHEM7^Basic metabolic panel^L|||{}\r",
        h.control_id, h.timestamp
    );
    obx(&mut s, results, h.timestamp, instrument_id);
    frame(out, &s);
}

/// ADT^A01 (admit), A03 (discharge) or A08 (update): PID, an NK1 next of kin on admissions, PV1.
pub fn adt(out: &mut Vec<u8>, h: &Header, event: &str, p: &Patient, next_of_kin: Option<&str>) {
    let mut s = String::with_capacity(600);
    msh(&mut s, h, &format!("ADT^{event}^ADT_A01"));
    let _ = write!(s, "EVN|{event}|{}\r", h.timestamp);
    pid(&mut s, p);
    if let Some(nk) = next_of_kin {
        let _ = write!(s, "NK1|1|{nk}|SPO^Spouse^HL70063||{}\r", p.phone);
    }
    let _ = write!(
        s,
        "PV1|1|I|{}||||0001^ATTENDING^SYN|||MED||||||||||V{}\r",
        p.bed,
        &p.mrn[2..]
    );
    frame(out, &s);
}

/// The receiver's ACK: MSA-1 `AA` (or `AE`), MSA-2 the acknowledged control id.
pub fn ack(out: &mut Vec<u8>, h: &Header, trigger: &str, code: &str, acked_control_id: &str) {
    let mut s = String::with_capacity(200);
    msh(&mut s, h, &format!("ACK^{trigger}^ACK"));
    let _ = write!(s, "MSA|{code}|{acked_control_id}\r");
    frame(out, &s);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patients;
    use crate::rng::Rng;

    fn header() -> Header<'static> {
        Header {
            sending_app: "MX450",
            sending_facility: "ICU1",
            receiving_app: "ENGINE",
            receiving_facility: "SYNHOSP",
            timestamp: "20260302081500",
            control_id: "M1",
            version: "2.6",
        }
    }

    #[test]
    fn messages_are_framed_and_segmented_with_cr() {
        let p = patients::generate(&mut Rng::new(1), 1);
        let mut out = Vec::new();
        let v = [Vital {
            loinc: "8867-4",
            name: "Heart rate",
            value: 72.0,
            decimals: 0,
            unit: "/min",
        }];
        oru_vitals(
            &mut out,
            &header(),
            &p,
            &v,
            "SN1",
            Some("(01)00884838000001(21)SN1"),
        );
        assert_eq!(out[0], START);
        assert!(out.ends_with(&END));
        let body = std::str::from_utf8(&out[1..out.len() - 2]).unwrap();
        let segs: Vec<&str> = body.split('\r').filter(|s| !s.is_empty()).collect();
        assert_eq!(
            segs.iter().map(|s| &s[..3]).collect::<Vec<_>>(),
            ["MSH", "PID", "PV1", "OBR", "OBX", "PRT"]
        );
        let obx: Vec<&str> = segs[4].split('|').collect();
        assert_eq!(
            (obx[3], obx[5], obx[18]),
            ("8867-4^Heart rate^LN", "72", "SN1")
        );
        let prt: Vec<&str> = segs[5].split('|').collect();
        assert_eq!(prt[16], "(01)00884838000001(21)SN1");
        let msh: Vec<&str> = segs[0].split('|').collect();
        // MSH-1 is the separator itself, so MSH-9 is the ninth element counting from MSH-2 at index 1.
        assert_eq!((msh[8], msh[9], msh[11]), ("ORU^R01^ORU_R01", "M1", "2.6"));
    }

    #[test]
    fn ack_names_the_acknowledged_message() {
        let mut out = Vec::new();
        ack(&mut out, &header(), "R01", "AA", "M9");
        let body = String::from_utf8(out[1..out.len() - 2].to_vec()).unwrap();
        assert!(body.contains("|ACK^R01^ACK|") && body.ends_with("MSA|AA|M9\r"));
    }
}
