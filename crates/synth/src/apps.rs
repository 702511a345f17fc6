//! What devices say on their connections: one [`App`] per kind of conversation. Each writes its next
//! message into the step buffer and records in the truth what an analyser must find in it.

use crate::clock;
use crate::patients::Patient;
use crate::payload::{dicom, hl7, http, login, tls};
use crate::rng::Rng;
use crate::tcp::{App, Side, Step, StepCtx, Tag};
use crate::truth::{CredentialRow, Truth};

fn ms(lo: u64, hi: u64, rng: &mut Rng) -> i64 {
    rng.range(lo * 1000, hi * 1000) as i64
}

// ---------------------------------------------------------------------------------------------
// HL7 over MLLP

pub enum Hl7Feed {
    /// A patient monitor's vital signs, drifting from one message to the next.
    Vitals {
        equipment_id: String,
        udi: Option<String>,
        state: [f64; 7],
    },
    /// A lab analyser's results for patients of the pool.
    Lab { instrument_id: String },
    /// The EHR's admissions, discharges and updates.
    Adt { next_of_kin: Vec<String> },
}

/// A persistent MLLP connection: the client sends, the server ACKs each message.
pub struct Hl7Link {
    pub feed: Hl7Feed,
    pub sending_app: String,
    pub sending_facility: String,
    pub receiving_app: String,
    pub receiving_facility: String,
    pub version: &'static str,
    pub patients: Vec<Patient>,
    pub interval_ms: (u64, u64),
    pub id_prefix: String,
    seq: u64,
    pending_ack: Option<(&'static str, String)>,
}

impl Hl7Link {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        feed: Hl7Feed,
        sending_app: String,
        sending_facility: String,
        receiving_app: &str,
        version: &'static str,
        patients: Vec<Patient>,
        interval_ms: (u64, u64),
        id_prefix: String,
    ) -> Hl7Link {
        Hl7Link {
            feed,
            sending_app,
            sending_facility,
            receiving_app: receiving_app.to_string(),
            receiving_facility: "SYNHOSP".to_string(),
            version,
            patients,
            interval_ms,
            id_prefix,
            seq: 0,
            pending_ack: None,
        }
    }
}

/// Mean-reverting drift of a vital sign.
fn drift(rng: &mut Rng, v: &mut f64, mean: f64, sd: f64, lo: f64, hi: f64) {
    *v += (mean - *v) * 0.1 + rng.normal(0.0, sd);
    *v = v.clamp(lo, hi);
}

pub fn initial_vitals(rng: &mut Rng) -> [f64; 7] {
    [
        rng.normal(78.0, 8.0),
        rng.normal(97.0, 1.0),
        rng.normal(122.0, 10.0),
        rng.normal(76.0, 6.0),
        rng.normal(16.0, 2.0),
        rng.normal(36.9, 0.3),
        rng.normal(89.0, 7.0),
    ]
}

impl App for Hl7Link {
    fn step(&mut self, ctx: &mut StepCtx) -> Step {
        let ts = clock::compact(ctx.now_us);
        if let Some((trigger, acked)) = self.pending_ack.take() {
            let id = format!("A{acked}");
            let h = hl7::Header {
                sending_app: &self.receiving_app,
                sending_facility: &self.receiving_facility,
                receiving_app: &self.sending_app,
                receiving_facility: &self.sending_facility,
                timestamp: &ts,
                control_id: &id,
                version: self.version,
            };
            hl7::ack(ctx.buf, &h, trigger, "AA", &acked);
            return Step::Send {
                from: Side::Server,
                delay_us: ms(2, 25, ctx.rng),
                tag: Tag::Hl7(format!("ACK^{trigger}")),
            };
        }
        let delay = if self.seq == 0 {
            ms(1, 20, ctx.rng)
        } else {
            ms(self.interval_ms.0, self.interval_ms.1, ctx.rng)
        };
        if ctx.now_us + delay > ctx.end_us {
            // Interface connections stay open: the capture ends with them established.
            return Step::Hold;
        }
        self.seq += 1;
        let id = format!("{}{:06}", self.id_prefix, self.seq);
        let ts = clock::compact(ctx.now_us + delay);
        let h = hl7::Header {
            sending_app: &self.sending_app,
            sending_facility: &self.sending_facility,
            receiving_app: &self.receiving_app,
            receiving_facility: &self.receiving_facility,
            timestamp: &ts,
            control_id: &id,
            version: self.version,
        };
        let rng = &mut *ctx.rng;
        let (msg_type, trigger) = match &mut self.feed {
            Hl7Feed::Vitals {
                equipment_id,
                udi,
                state,
            } => {
                let s = state;
                drift(rng, &mut s[0], 78.0, 2.0, 35.0, 190.0);
                drift(rng, &mut s[1], 97.0, 0.4, 80.0, 100.0);
                drift(rng, &mut s[2], 122.0, 3.0, 70.0, 200.0);
                drift(rng, &mut s[3], 76.0, 2.0, 40.0, 120.0);
                drift(rng, &mut s[4], 16.0, 0.8, 6.0, 40.0);
                drift(rng, &mut s[5], 36.9, 0.05, 34.0, 41.0);
                drift(rng, &mut s[6], 89.0, 2.0, 50.0, 140.0);
                let v = [
                    hl7::Vital {
                        loinc: "8867-4",
                        name: "Heart rate",
                        value: s[0].round(),
                        decimals: 0,
                        unit: "/min",
                    },
                    hl7::Vital {
                        loinc: "59408-5",
                        name: "SpO2",
                        value: s[1].round(),
                        decimals: 0,
                        unit: "%",
                    },
                    hl7::Vital {
                        loinc: "8480-6",
                        name: "Systolic blood pressure",
                        value: s[2].round(),
                        decimals: 0,
                        unit: "mm[Hg]",
                    },
                    hl7::Vital {
                        loinc: "8462-4",
                        name: "Diastolic blood pressure",
                        value: s[3].round(),
                        decimals: 0,
                        unit: "mm[Hg]",
                    },
                    hl7::Vital {
                        loinc: "9279-1",
                        name: "Respiratory rate",
                        value: s[4].round(),
                        decimals: 0,
                        unit: "/min",
                    },
                    hl7::Vital {
                        loinc: "8310-5",
                        name: "Body temperature",
                        value: s[5],
                        decimals: 1,
                        unit: "Cel",
                    },
                    hl7::Vital {
                        loinc: "8478-0",
                        name: "Mean blood pressure",
                        value: s[6].round(),
                        decimals: 0,
                        unit: "mm[Hg]",
                    },
                ];
                hl7::oru_vitals(
                    ctx.buf,
                    &h,
                    &self.patients[0],
                    &v,
                    equipment_id,
                    udi.as_deref(),
                );
                ("ORU^R01", "R01")
            }
            Hl7Feed::Lab { instrument_id } => {
                let p = rng.pick(&self.patients);
                let r = [
                    hl7::Vital {
                        loinc: "2345-7",
                        name: "Glucose",
                        value: rng.normal(105.0, 25.0).max(40.0),
                        decimals: 0,
                        unit: "mg/dL",
                    },
                    hl7::Vital {
                        loinc: "2951-2",
                        name: "Sodium",
                        value: rng.normal(139.0, 3.0),
                        decimals: 0,
                        unit: "mmol/L",
                    },
                    hl7::Vital {
                        loinc: "2823-3",
                        name: "Potassium",
                        value: rng.normal(4.2, 0.4),
                        decimals: 1,
                        unit: "mmol/L",
                    },
                    hl7::Vital {
                        loinc: "2075-0",
                        name: "Chloride",
                        value: rng.normal(102.0, 3.0),
                        decimals: 0,
                        unit: "mmol/L",
                    },
                    hl7::Vital {
                        loinc: "2160-0",
                        name: "Creatinine",
                        value: rng.normal(0.95, 0.2).max(0.3),
                        decimals: 2,
                        unit: "mg/dL",
                    },
                ];
                hl7::oru_lab(ctx.buf, &h, p, &r, instrument_id);
                ("ORU^R01", "R01")
            }
            Hl7Feed::Adt { next_of_kin } => {
                let i = rng.below(self.patients.len() as u64) as usize;
                let roll = rng.unit();
                let event = if roll < 0.45 {
                    "A01"
                } else if roll < 0.85 {
                    "A08"
                } else {
                    "A03"
                };
                let nk = (event == "A01").then(|| next_of_kin[i % next_of_kin.len()].as_str());
                hl7::adt(ctx.buf, &h, event, &self.patients[i], nk);
                match event {
                    "A01" => ("ADT^A01", "A01"),
                    "A08" => ("ADT^A08", "A08"),
                    _ => ("ADT^A03", "A03"),
                }
            }
        };
        self.pending_ack = Some((trigger, id));
        Step::Send {
            from: Side::Client,
            delay_us: delay,
            tag: Tag::Hl7(msg_type.to_string()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// DICOM

pub enum DicomWork {
    Echo,
    /// Modality worklist query with this many matches.
    Worklist {
        matches: usize,
        items: Vec<Patient>,
        accession_base: u64,
    },
    /// C-STORE of a study's images.
    Store {
        images: usize,
        patient: Patient,
        study: u64,
    },
}

pub struct DicomAssoc {
    pub calling_ae: String,
    pub called_ae: String,
    pub modality: &'static str,
    pub work: DicomWork,
    /// The SCP rejects the association (called AE title not recognised).
    pub reject: bool,
    /// The SCU aborts after this many images.
    pub abort_after: Option<usize>,
    pub identity: Option<(String, String)>,
    pub manufacturer: &'static str,
    pub model: &'static str,
    pub station: String,
    pub software: &'static str,
    pub implementation_uid: &'static str,
    pub implementation_version: &'static str,
    pub pattern_seed: u64,
    /// Where the peer IP endpoints are written in the credential row.
    pub client: String,
    pub server: String,
    state: u32,
    done: usize,
    msg_id: u16,
}

const MAX_PDU: u32 = 16_384;

impl DicomAssoc {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        calling_ae: String,
        called_ae: String,
        modality: &'static str,
        work: DicomWork,
        reject: bool,
        abort_after: Option<usize>,
        identity: Option<(String, String)>,
        manufacturer: &'static str,
        model: &'static str,
        station: String,
        software: &'static str,
        pattern_seed: u64,
        client: String,
        server: String,
    ) -> DicomAssoc {
        DicomAssoc {
            calling_ae,
            called_ae,
            modality,
            work,
            reject,
            abort_after,
            identity,
            manufacturer,
            model,
            station,
            software,
            implementation_uid: "1.2.276.0.7230010.3.0.3.6.7",
            implementation_version: "OFFIS_DCMTK_367",
            pattern_seed,
            client,
            server,
            state: 0,
            done: 0,
            msg_id: 0,
        }
    }

    fn abstract_syntax(&self) -> &'static str {
        match &self.work {
            DicomWork::Echo => dicom::VERIFICATION,
            DicomWork::Worklist { .. } => dicom::MWL_FIND,
            DicomWork::Store { .. } => sop_class(self.modality),
        }
    }

    fn user(&self) -> dicom::UserInfo<'_> {
        dicom::UserInfo {
            max_pdu: MAX_PDU,
            implementation_class_uid: self.implementation_uid,
            implementation_version: self.implementation_version,
        }
    }
}

/// Byte ranges of `buf` holding data-set fragments of the P-DATA-TF PDUs that start at `from`,
/// leaving out the first PDU (the attributes an analyser reads) and every PDU and PDV header.
fn fragment_ranges(buf: &[u8], from: usize) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let mut at = from;
    let mut first = true;
    while at + 12 <= buf.len() && buf[at] == 0x04 {
        let len = u32::from_be_bytes([buf[at + 2], buf[at + 3], buf[at + 4], buf[at + 5]]) as usize;
        let end = (at + 6 + len).min(buf.len());
        if !first && at + 12 < end {
            out.push(((at + 12) as u32, end as u32));
        }
        first = false;
        at = end;
    }
    out
}

pub fn sop_class(modality: &str) -> &'static str {
    match modality {
        "CT" => dicom::CT_IMAGE_STORAGE,
        "MR" => dicom::MR_IMAGE_STORAGE,
        "US" => dicom::US_IMAGE_STORAGE,
        _ => dicom::CR_IMAGE_STORAGE,
    }
}

/// Rows, columns and bits of one image of a modality.
pub fn image_geometry(modality: &str) -> (u16, u16, u16) {
    match modality {
        "CT" => (512, 512, 16),
        "MR" => (256, 256, 16),
        "US" => (480, 640, 8),
        _ => (2500, 2048, 16),
    }
}

impl App for DicomAssoc {
    fn step(&mut self, ctx: &mut StepCtx) -> Step {
        let s = self.state;
        self.state += 1;
        let ts = dicom::EXPLICIT_VR_LE;
        match s {
            0 => {
                let syntaxes = [dicom::EXPLICIT_VR_LE, dicom::IMPLICIT_VR_LE];
                let ctxs = [dicom::PresentationContext {
                    id: 1,
                    abstract_syntax: self.abstract_syntax(),
                    transfer_syntaxes: &syntaxes,
                }];
                let identity = self
                    .identity
                    .as_ref()
                    .map(|(u, p)| dicom::UserIdentity::UsernamePassword(u, p));
                dicom::associate_rq(
                    ctx.buf,
                    &self.calling_ae,
                    &self.called_ae,
                    &ctxs,
                    &self.user(),
                    identity.as_ref(),
                );
                ctx.truth.dicom("requested");
                if let Some((u, _)) = &self.identity {
                    ctx.truth.credentials.push(CredentialRow {
                        protocol: "dicom",
                        client: self.client.clone(),
                        server: self.server.clone(),
                        username: u.clone(),
                        accepted: !self.reject,
                    });
                }
                return Step::Send {
                    from: Side::Client,
                    delay_us: ms(1, 5, ctx.rng),
                    tag: Tag::Fixed,
                };
            }
            1 => {
                if self.reject {
                    // Permanent, by the service user: called AE title not recognised (PS3.8 9.3.4).
                    dicom::associate_rj(ctx.buf, 1, 1, 7);
                    ctx.truth.dicom("rejected");
                } else {
                    dicom::associate_ac(
                        ctx.buf,
                        &self.calling_ae,
                        &self.called_ae,
                        &[(1, 0, ts)],
                        &self.user(),
                    );
                    ctx.truth.dicom("accepted");
                }
                return Step::Send {
                    from: Side::Server,
                    delay_us: ms(1, 8, ctx.rng),
                    tag: Tag::Fixed,
                };
            }
            2 if self.reject => {
                return Step::Close {
                    by: Side::Client,
                    delay_us: ms(1, 3, ctx.rng),
                    rst: false,
                };
            }
            _ if self.reject => return Step::Hold,
            _ => {}
        }
        // After the handshake: the work, as request (odd offset) and response steps.
        let k = (s - 2) as usize;
        let total_pairs = match &self.work {
            DicomWork::Echo => 1,
            DicomWork::Worklist { matches, .. } => 1 + matches + 1,
            DicomWork::Store { images, .. } => *images,
        };
        let stop_at = self.abort_after.map_or(total_pairs, |a| a.min(total_pairs));
        match &self.work {
            DicomWork::Worklist {
                matches,
                items,
                accession_base,
            } if k < 2 + matches => {
                if k == 0 {
                    self.msg_id += 1;
                    dicom::c_find_rq(ctx.buf, 1, self.msg_id, dicom::MWL_FIND);
                    let mut q = Vec::new();
                    dicom::worklist_query(
                        &mut q,
                        ts,
                        self.modality,
                        &self.calling_ae,
                        &clock::compact(ctx.now_us)[..8],
                    );
                    dicom::p_data_dataset(ctx.buf, 1, &q, MAX_PDU);
                    ctx.truth.dicom_command("C-FIND-RQ");
                    return Step::Send {
                        from: Side::Client,
                        delay_us: ms(1, 5, ctx.rng),
                        tag: Tag::Fixed,
                    };
                }
                let i = k - 1;
                if i < *matches {
                    let p = &items[i % items.len()];
                    dicom::c_find_rsp(ctx.buf, 1, self.msg_id, dicom::MWL_FIND, 0xFF00);
                    let mut r = Vec::new();
                    let pn = p.pn();
                    let acc = format!("ACC{}", accession_base + i as u64);
                    let date = clock::compact(ctx.now_us);
                    let item = dicom::WorklistItem {
                        patient_name: &pn,
                        patient_id: &p.mrn,
                        birth_date: &p.birth_date,
                        sex: p.sex,
                        accession: &acc,
                        modality: self.modality,
                        station_ae: &self.calling_ae,
                        date: &date[..8],
                    };
                    dicom::worklist_response(&mut r, ts, &item);
                    dicom::p_data_dataset(ctx.buf, 1, &r, MAX_PDU);
                } else {
                    dicom::c_find_rsp(ctx.buf, 1, self.msg_id, dicom::MWL_FIND, 0x0000);
                }
                ctx.truth.dicom_command("C-FIND-RSP");
                return Step::Send {
                    from: Side::Server,
                    delay_us: ms(1, 10, ctx.rng),
                    tag: Tag::Fixed,
                };
            }
            DicomWork::Echo if k < 2 => {
                if k == 0 {
                    self.msg_id += 1;
                    dicom::c_echo_rq(ctx.buf, 1, self.msg_id);
                    ctx.truth.dicom_command("C-ECHO-RQ");
                    return Step::Send {
                        from: Side::Client,
                        delay_us: ms(1, 5, ctx.rng),
                        tag: Tag::Fixed,
                    };
                }
                dicom::c_echo_rsp(ctx.buf, 1, self.msg_id, 0);
                ctx.truth.dicom_command("C-ECHO-RSP");
                return Step::Send {
                    from: Side::Server,
                    delay_us: ms(1, 5, ctx.rng),
                    tag: Tag::Fixed,
                };
            }
            DicomWork::Store { patient, study, .. } if k / 2 < stop_at => {
                let image = k / 2;
                let iuid = format!("1.2.826.0.1.3680043.10.1138.{study}.{}", image + 1);
                let sop = sop_class(self.modality);
                if k.is_multiple_of(2) {
                    self.msg_id = self.msg_id.wrapping_add(1);
                    dicom::c_store_rq(ctx.buf, 1, self.msg_id, sop, &iuid);
                    let (rows, columns, bits) = image_geometry(self.modality);
                    let pn = patient.pn();
                    let study_uid = format!("1.2.826.0.1.3680043.10.1138.{study}");
                    let series_uid = format!("{study_uid}.0");
                    let when = clock::compact(ctx.now_us);
                    let attrs = dicom::ImageAttrs {
                        sop_class: sop,
                        sop_instance: &iuid,
                        study_uid: &study_uid,
                        series_uid: &series_uid,
                        modality: self.modality,
                        patient_name: &pn,
                        patient_id: &patient.mrn,
                        birth_date: &patient.birth_date,
                        sex: patient.sex,
                        accession: &format!("ACC{study}"),
                        study_date: &when[..8],
                        study_time: &when[8..],
                        manufacturer: self.manufacturer,
                        model: self.model,
                        station_name: &self.station,
                        software_version: self.software,
                        rows,
                        columns,
                        bits_allocated: bits,
                    };
                    let mut ds = Vec::with_capacity(rows as usize * columns as usize * 2 + 2048);
                    dicom::image_dataset(&mut ds, ts, &attrs, self.pattern_seed ^ image as u64);
                    let data_at = ctx.buf.len();
                    dicom::p_data_dataset(ctx.buf, 1, &ds, MAX_PDU);
                    ctx.truth.dicom_command("C-STORE-RQ");
                    let lossable = fragment_ranges(ctx.buf, data_at);
                    let gap = if image == 0 {
                        ms(1, 5, ctx.rng)
                    } else {
                        ms(0, 3, ctx.rng) + 1
                    };
                    return Step::Send {
                        from: Side::Client,
                        delay_us: gap,
                        tag: Tag::Dicom(lossable),
                    };
                }
                dicom::c_store_rsp(ctx.buf, 1, self.msg_id, sop, &iuid, 0);
                self.done += 1;
                ctx.truth.dicom_command("C-STORE-RSP");
                return Step::Send {
                    from: Side::Server,
                    delay_us: ms(1, 12, ctx.rng),
                    tag: Tag::Fixed,
                };
            }
            _ => {}
        }
        // The end: release (or abort), then close.
        let end_state = match &self.work {
            DicomWork::Echo => 2,
            DicomWork::Worklist { matches, .. } => 2 + *matches as u32,
            DicomWork::Store { .. } => 2 * stop_at as u32,
        } + 2;
        let aborting = matches!(self.work, DicomWork::Store { .. })
            && self.abort_after.is_some_and(|a| a < total_pairs);
        match s - end_state {
            0 if aborting => {
                dicom::abort(ctx.buf, 0, 0);
                ctx.truth.dicom("aborted");
                Step::Send {
                    from: Side::Client,
                    delay_us: ms(1, 50, ctx.rng),
                    tag: Tag::Fixed,
                }
            }
            1 if aborting => Step::Close {
                by: Side::Client,
                delay_us: ms(0, 2, ctx.rng) + 1,
                rst: false,
            },
            0 => {
                dicom::release_rq(ctx.buf);
                Step::Send {
                    from: Side::Client,
                    delay_us: ms(1, 10, ctx.rng),
                    tag: Tag::Fixed,
                }
            }
            1 => {
                dicom::release_rp(ctx.buf);
                ctx.truth.dicom("released");
                Step::Send {
                    from: Side::Server,
                    delay_us: ms(1, 3, ctx.rng),
                    tag: Tag::Fixed,
                }
            }
            2 => Step::Close {
                by: Side::Client,
                delay_us: ms(0, 2, ctx.rng) + 1,
                rst: false,
            },
            _ => Step::Hold,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/// An infusion pump reporting to its server on a keep-alive connection.
pub struct PumpStatus {
    pub serial: String,
    pub model: &'static str,
    pub host: String,
    pub user_agent: String,
    pub interval_ms: (u64, u64),
    rate: f64,
    sent: u64,
    awaiting: bool,
}

impl PumpStatus {
    pub fn new(
        serial: String,
        model: &'static str,
        host: String,
        user_agent: String,
        interval_ms: (u64, u64),
        rng: &mut Rng,
    ) -> PumpStatus {
        PumpStatus {
            serial,
            model,
            host,
            user_agent,
            interval_ms,
            rate: rng.range(5, 250) as f64,
            sent: 0,
            awaiting: false,
        }
    }
}

impl App for PumpStatus {
    fn step(&mut self, ctx: &mut StepCtx) -> Step {
        if self.awaiting {
            self.awaiting = false;
            http::response(
                ctx.buf,
                200,
                "nginx/1.18.0",
                "application/json",
                br#"{"ack":true}"#,
                "",
            );
            return Step::Send {
                from: Side::Server,
                delay_us: ms(1, 15, ctx.rng),
                tag: Tag::Fixed,
            };
        }
        let delay = if self.sent == 0 {
            ms(1, 10, ctx.rng)
        } else {
            ms(self.interval_ms.0, self.interval_ms.1, ctx.rng)
        };
        if ctx.now_us + delay > ctx.end_us {
            return Step::Hold;
        }
        self.sent += 1;
        self.rate = (self.rate + ctx.rng.normal(0.0, 0.5)).clamp(0.1, 999.0);
        let body = format!(
            r#"{{"serial":"{}","model":"{}","state":"infusing","rate_ml_h":{:.1},"vtbi_ml":{},"battery":{},"seq":{}}}"#,
            self.serial,
            self.model,
            self.rate,
            ctx.rng.range(10, 1000),
            ctx.rng.range(20, 100),
            self.sent
        );
        http::request(
            ctx.buf,
            "POST",
            "/api/v1/status",
            &self.host,
            &self.user_agent,
            None,
            Some("application/json"),
            body.as_bytes(),
        );
        self.awaiting = true;
        Step::Send {
            from: Side::Client,
            delay_us: delay,
            tag: Tag::Fixed,
        }
    }
}

/// A biomedical engineer opening a device's web configuration page with HTTP Basic authentication.
pub struct WebLogin {
    pub host: String,
    pub user: String,
    pub password: String,
    pub title: String,
    pub client: String,
    pub server: String,
    state: u32,
}

impl WebLogin {
    pub fn new(
        host: String,
        user: String,
        password: String,
        title: String,
        client: String,
        server: String,
    ) -> WebLogin {
        WebLogin {
            host,
            user,
            password,
            title,
            client,
            server,
            state: 0,
        }
    }
}

impl App for WebLogin {
    fn step(&mut self, ctx: &mut StepCtx) -> Step {
        self.state += 1;
        match self.state {
            1 => {
                let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
                http::request(
                    ctx.buf,
                    "GET",
                    "/config.html",
                    &self.host,
                    ua,
                    Some((&self.user, &self.password)),
                    None,
                    b"",
                );
                ctx.truth.credentials.push(CredentialRow {
                    protocol: "http",
                    client: self.client.clone(),
                    server: self.server.clone(),
                    username: self.user.clone(),
                    accepted: true,
                });
                Step::Send {
                    from: Side::Client,
                    delay_us: ms(1, 5, ctx.rng),
                    tag: Tag::Fixed,
                }
            }
            2 => {
                let mut page = Vec::new();
                http::device_page(
                    &mut page,
                    &self.title,
                    "Network settings, drug library version, event log.",
                );
                http::response(ctx.buf, 200, "GoAhead-Webs", "text/html", &page, "");
                Step::Send {
                    from: Side::Server,
                    delay_us: ms(5, 40, ctx.rng),
                    tag: Tag::Fixed,
                }
            }
            3 => Step::Close {
                by: Side::Client,
                delay_us: ms(500, 5000, ctx.rng),
                rst: false,
            },
            _ => Step::Hold,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Telnet and FTP

/// A telnet login to a device's service port: character echo for the user name, none for the
/// password, a command, exit.
pub struct TelnetSession {
    pub banner: String,
    pub user: String,
    pub password: String,
    pub client: String,
    pub server: String,
    script: Vec<(Side, Vec<u8>, (u64, u64))>,
    at: usize,
}

impl TelnetSession {
    pub fn new(
        banner: String,
        user: String,
        password: String,
        client: String,
        server: String,
    ) -> TelnetSession {
        let mut script: Vec<(Side, Vec<u8>, (u64, u64))> = Vec::new();
        let mut g = Vec::new();
        login::telnet_greeting(&mut g, &banner);
        script.push((Side::Server, g, (1, 5)));
        let mut o = Vec::new();
        login::telnet_client_options(&mut o);
        script.push((Side::Client, o, (1, 3)));
        // The user types the name one key at a time; the server echoes each key.
        for c in user.bytes() {
            script.push((Side::Client, vec![c], (120, 400)));
            script.push((Side::Server, vec![c], (0, 1)));
        }
        script.push((Side::Client, b"\r\n".to_vec(), (150, 400)));
        script.push((Side::Server, b"\r\nPassword: ".to_vec(), (1, 3)));
        for c in password.bytes() {
            script.push((Side::Client, vec![c], (100, 350)));
        }
        script.push((Side::Client, b"\r\n".to_vec(), (150, 400)));
        script.push((
            Side::Server,
            b"\r\n\r\nBusyBox v1.31.1 built-in shell (ash)\r\n\r\n# ".to_vec(),
            (300, 900),
        ));
        script.push((Side::Client, b"cat /etc/version\r\n".to_vec(), (1500, 4000)));
        script.push((
            Side::Server,
            b"cat /etc/version\r\nfw 4.2.1 build 2211\r\n# ".to_vec(),
            (1, 10),
        ));
        script.push((Side::Client, b"exit\r\n".to_vec(), (2000, 6000)));
        TelnetSession {
            banner,
            user,
            password,
            client,
            server,
            script,
            at: 0,
        }
    }
}

impl App for TelnetSession {
    fn step(&mut self, ctx: &mut StepCtx) -> Step {
        if self.at == 0 {
            ctx.truth.credentials.push(CredentialRow {
                protocol: "telnet",
                client: self.client.clone(),
                server: self.server.clone(),
                username: self.user.clone(),
                accepted: true,
            });
        }
        if let Some((side, bytes, (lo, hi))) = self.script.get(self.at) {
            self.at += 1;
            ctx.buf.extend_from_slice(bytes);
            return Step::Send {
                from: *side,
                delay_us: ms(*lo, *hi, ctx.rng) + 1,
                tag: Tag::Fixed,
            };
        }
        if self.at == self.script.len() {
            self.at += 1;
            return Step::Close {
                by: Side::Server,
                delay_us: ms(1, 3, ctx.rng),
                rst: false,
            };
        }
        Step::Hold
    }
}

pub struct FtpSession {
    pub user: String,
    pub password: String,
    pub client: String,
    pub server: String,
    at: usize,
}

impl FtpSession {
    pub fn new(user: String, password: String, client: String, server: String) -> FtpSession {
        FtpSession {
            user,
            password,
            client,
            server,
            at: 0,
        }
    }
}

impl App for FtpSession {
    fn step(&mut self, ctx: &mut StepCtx) -> Step {
        self.at += 1;
        let b = &mut *ctx.buf;
        let (side, delay) = match self.at {
            1 => {
                login::ftp_reply(b, 220, "(vsFTPd 3.0.3)");
                (Side::Server, ms(1, 5, ctx.rng))
            }
            2 => {
                login::ftp_command(b, "USER", Some(&self.user));
                ctx.truth.credentials.push(CredentialRow {
                    protocol: "ftp",
                    client: self.client.clone(),
                    server: self.server.clone(),
                    username: self.user.clone(),
                    accepted: true,
                });
                (Side::Client, ms(200, 2000, ctx.rng))
            }
            3 => {
                login::ftp_reply(b, 331, "Please specify the password.");
                (Side::Server, ms(1, 3, ctx.rng))
            }
            4 => {
                login::ftp_command(b, "PASS", Some(&self.password));
                (Side::Client, ms(300, 3000, ctx.rng))
            }
            5 => {
                login::ftp_reply(b, 230, "Login successful.");
                (Side::Server, ms(5, 30, ctx.rng))
            }
            6 => {
                login::ftp_command(b, "SYST", None);
                (Side::Client, ms(1, 10, ctx.rng))
            }
            7 => {
                login::ftp_reply(b, 215, "UNIX Type: L8");
                (Side::Server, ms(1, 3, ctx.rng))
            }
            8 => {
                login::ftp_command(b, "PWD", None);
                (Side::Client, ms(500, 3000, ctx.rng))
            }
            9 => {
                login::ftp_reply(b, 257, "\"/\" is the current directory");
                (Side::Server, ms(1, 3, ctx.rng))
            }
            10 => {
                login::ftp_command(b, "QUIT", None);
                (Side::Client, ms(1000, 5000, ctx.rng))
            }
            11 => {
                login::ftp_reply(b, 221, "Goodbye.");
                (Side::Server, ms(1, 3, ctx.rng))
            }
            12 => {
                return Step::Close {
                    by: Side::Server,
                    delay_us: ms(0, 1, ctx.rng) + 1,
                    rst: false,
                };
            }
            _ => return Step::Hold,
        };
        Step::Send {
            from: side,
            delay_us: delay,
            tag: Tag::Fixed,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Scripted exchanges

/// Messages written in advance, each from its side after a think time in milliseconds, then the
/// client closes (SMB session setup).
pub struct Scripted {
    script: Vec<(Side, Vec<u8>, (u64, u64))>,
    at: usize,
}

impl Scripted {
    pub fn new(script: Vec<(Side, Vec<u8>, (u64, u64))>) -> Scripted {
        Scripted { script, at: 0 }
    }
}

impl App for Scripted {
    fn step(&mut self, ctx: &mut StepCtx) -> Step {
        let i = self.at;
        self.at += 1;
        match self.script.get(i) {
            Some((side, bytes, (lo, hi))) => {
                ctx.buf.extend_from_slice(bytes);
                Step::Send {
                    from: *side,
                    delay_us: ms(*lo, *hi, ctx.rng) + 1,
                    tag: Tag::Fixed,
                }
            }
            None if i == self.script.len() => Step::Close {
                by: Side::Client,
                delay_us: ms(100, 2000, ctx.rng),
                rst: false,
            },
            None => Step::Hold,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// TLS

/// Request/response exchanges of a given size, for wrapping in TLS (EHR sessions, cloud uploads).
pub struct Exchanges {
    /// (request bytes, response bytes, think time before the request in ms)
    pub pairs: Vec<(usize, usize, (u64, u64))>,
    /// The client ends with RST instead of FIN (embedded stacks that abort their sockets).
    pub reset: bool,
    at: usize,
}

impl Exchanges {
    pub fn new(pairs: Vec<(usize, usize, (u64, u64))>) -> Exchanges {
        Exchanges {
            pairs,
            reset: false,
            at: 0,
        }
    }

    pub fn with_reset(mut self, reset: bool) -> Exchanges {
        self.reset = reset;
        self
    }
}

impl App for Exchanges {
    fn step(&mut self, ctx: &mut StepCtx) -> Step {
        let i = self.at / 2;
        let req = self.at.is_multiple_of(2);
        self.at += 1;
        match self.pairs.get(i) {
            Some(&(q, r, (lo, hi))) => {
                ctx.buf.resize(if req { q } else { r }, 0);
                if req {
                    Step::Send {
                        from: Side::Client,
                        delay_us: ms(lo, hi, ctx.rng) + 1,
                        tag: Tag::Fixed,
                    }
                } else {
                    Step::Send {
                        from: Side::Server,
                        delay_us: ms(2, 60, ctx.rng),
                        tag: Tag::Fixed,
                    }
                }
            }
            None if self.at == self.pairs.len() * 2 + 1 => Step::Close {
                by: Side::Client,
                delay_us: ms(50, 2000, ctx.rng),
                rst: self.reset,
            },
            None => Step::Hold,
        }
    }
}

pub struct TlsParams {
    pub stack: tls::ClientStack,
    pub sni: Option<String>,
    pub alpn: Vec<&'static str>,
    pub server_cn: String,
    pub server_org: String,
    pub issuer_cn: String,
    pub tls13: bool,
}

/// Runs another application inside TLS: the handshake first, then every message as application data
/// records. What the inner application would have recorded in the truth is not visible on the wire,
/// so it goes to a scratch truth.
pub struct TlsWrap {
    inner: Box<dyn App>,
    params: TlsParams,
    state: u32,
    scratch: Truth,
    plain: Vec<u8>,
    close_pending: Option<Step>,
}

impl TlsWrap {
    pub fn new(inner: Box<dyn App>, params: TlsParams) -> TlsWrap {
        TlsWrap {
            inner,
            params,
            state: 0,
            scratch: Truth::default(),
            plain: Vec::new(),
            close_pending: None,
        }
    }
}

impl App for TlsWrap {
    fn step(&mut self, ctx: &mut StepCtx) -> Step {
        self.state += 1;
        let rng = &mut *ctx.rng;
        match self.state {
            1 => {
                let profile = tls::stack_spec(self.params.stack);
                let mut random = [0u8; 32];
                rng.fill(&mut random);
                let mut sid = [0u8; 32];
                rng.fill(&mut sid);
                let session_id: &[u8] = if profile.compat_session_id { &sid } else { &[] };
                let mut spec = profile.hello(random, session_id, self.params.sni.as_deref());
                if !self.params.alpn.is_empty() {
                    spec.alpn = &self.params.alpn;
                }
                if !self.params.tls13 {
                    spec.supported_versions = &[];
                    spec.key_share_group = None;
                }
                tls::client_hello(ctx.buf, &spec);
                return Step::Send {
                    from: Side::Client,
                    delay_us: ms(1, 3, rng),
                    tag: Tag::Fixed,
                };
            }
            2 => {
                let mut random = [0u8; 32];
                rng.fill(&mut random);
                let mut sid = [0u8; 32];
                rng.fill(&mut sid);
                let alpn = self.params.alpn.first().copied();
                let mut cert = Vec::new();
                let serial = rng.next_u64();
                tls::certificate_der(
                    &mut cert,
                    &self.params.server_cn,
                    &self.params.server_org,
                    &self.params.issuer_cn,
                    &self.params.server_org,
                    serial,
                    "260101000000Z",
                    "280101000000Z",
                );
                if self.params.tls13 {
                    tls::server_hello(ctx.buf, 0x0304, random, &sid, 0x1301, None);
                    tls::change_cipher_spec(ctx.buf);
                    tls::encrypted_server_flight_13(
                        ctx.buf,
                        0x1301,
                        alpn,
                        &[&cert],
                        rng.next_u64(),
                    );
                } else {
                    tls::server_hello(ctx.buf, 0x0303, random, &sid, 0xc02f, alpn);
                    let mut public = [0u8; 32];
                    rng.fill(&mut public);
                    tls::certificate_flight_ecdhe(ctx.buf, &[&cert], public, rng.next_u64());
                }
                return Step::Send {
                    from: Side::Server,
                    delay_us: ms(1, 6, rng),
                    tag: Tag::Fixed,
                };
            }
            3 => {
                if self.params.tls13 {
                    tls::client_finish_13(ctx.buf, rng.next_u64());
                } else {
                    let mut key = [0u8; 32];
                    rng.fill(&mut key);
                    tls::client_finish_12(ctx.buf, key);
                }
                return Step::Send {
                    from: Side::Client,
                    delay_us: ms(1, 4, rng),
                    tag: Tag::Fixed,
                };
            }
            4 if !self.params.tls13 => {
                tls::server_finish_12(ctx.buf, rng.next_u64());
                return Step::Send {
                    from: Side::Server,
                    delay_us: ms(1, 3, rng),
                    tag: Tag::Fixed,
                };
            }
            _ => {}
        }
        if let Some(close) = self.close_pending.take() {
            return close;
        }
        self.plain.clear();
        let mut inner_ctx = StepCtx {
            rng: ctx.rng,
            buf: &mut self.plain,
            now_us: ctx.now_us,
            end_us: ctx.end_us,
            truth: &mut self.scratch,
        };
        let step = self.inner.step(&mut inner_ctx);
        // Keep the scratch truth from growing over a long session.
        self.scratch = Truth::default();
        match step {
            Step::Send { from, delay_us, .. } => {
                tls::application_data(ctx.buf, self.plain.len().max(1) + 24, ctx.rng.next_u64());
                Step::Send {
                    from,
                    delay_us,
                    tag: Tag::Opaque,
                }
            }
            // An aborted socket says nothing more: no close_notify before the RST.
            Step::Close {
                by,
                delay_us,
                rst: true,
            } => Step::Close {
                by,
                delay_us,
                rst: true,
            },
            Step::Close { by, delay_us, rst } => {
                tls::alert_close_notify_encrypted(ctx.buf);
                self.close_pending = Some(Step::Close {
                    by,
                    delay_us: 1,
                    rst,
                });
                Step::Send {
                    from: by,
                    delay_us,
                    tag: Tag::Fixed,
                }
            }
            Step::Hold => Step::Hold,
        }
    }
}
