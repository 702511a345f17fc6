//! The association state machine as a passive observer sees it: a transition table over (state, PDU type,
//! which side sent it). A PDU the table has no row for is "unexpected": it is counted and then applied
//! anyway, since a monitor reports what happened rather than what should have.

/// PDU types (PS3.8 9.3.1). Unknown values stay as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PduType(pub u8);

impl PduType {
    pub const ASSOCIATE_RQ: PduType = PduType(1);
    pub const ASSOCIATE_AC: PduType = PduType(2);
    pub const ASSOCIATE_RJ: PduType = PduType(3);
    pub const P_DATA_TF: PduType = PduType(4);
    pub const RELEASE_RQ: PduType = PduType(5);
    pub const RELEASE_RP: PduType = PduType(6);
    pub const ABORT: PduType = PduType(7);

    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "A-ASSOCIATE-RQ",
            2 => "A-ASSOCIATE-AC",
            3 => "A-ASSOCIATE-RJ",
            4 => "P-DATA-TF",
            5 => "A-RELEASE-RQ",
            6 => "A-RELEASE-RP",
            7 => "A-ABORT",
            _ => "unknown",
        }
    }
}

/// Where the association stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// No association on this connection yet.
    Idle,
    /// A-ASSOCIATE-RQ sent, no answer yet.
    Requested,
    /// Accepted; data may flow.
    Established,
    /// One side asked for release.
    ReleaseRequested,
    /// Released, rejected or aborted.
    Closed,
}

/// Which side sent a PDU, relative to the association's requestor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Requestor,
    Acceptor,
    Either,
}

use State::*;

/// (from, PDU type, sender, to). Anything not listed is unexpected.
const TRANSITIONS: &[(State, PduType, Side, State)] = &[
    (Idle, PduType::ASSOCIATE_RQ, Side::Requestor, Requested),
    (
        Requested,
        PduType::ASSOCIATE_AC,
        Side::Acceptor,
        Established,
    ),
    (Requested, PduType::ASSOCIATE_RJ, Side::Acceptor, Closed),
    (Requested, PduType::ABORT, Side::Either, Closed),
    (Established, PduType::P_DATA_TF, Side::Either, Established),
    (
        Established,
        PduType::RELEASE_RQ,
        Side::Either,
        ReleaseRequested,
    ),
    (Established, PduType::ABORT, Side::Either, Closed),
    // Data still in flight from the other side, and release collisions (PS3.8 9.2.1).
    (
        ReleaseRequested,
        PduType::P_DATA_TF,
        Side::Either,
        ReleaseRequested,
    ),
    (
        ReleaseRequested,
        PduType::RELEASE_RQ,
        Side::Either,
        ReleaseRequested,
    ),
    (ReleaseRequested, PduType::RELEASE_RP, Side::Either, Closed),
    (ReleaseRequested, PduType::ABORT, Side::Either, Closed),
    // Peers often abort right after a release, or both sides abort.
    (Closed, PduType::ABORT, Side::Either, Closed),
];

/// Where a PDU leads when nothing in the table matches: what the PDU itself implies.
fn fallback(state: State, pdu: PduType) -> State {
    match pdu.0 {
        1 => Requested,
        2 | 4 => match state {
            ReleaseRequested => ReleaseRequested,
            _ => Established,
        },
        3 | 6 | 7 => Closed,
        5 => ReleaseRequested,
        _ => state,
    }
}

/// The next state, and whether the table expected this PDU.
pub(crate) fn transition(state: State, pdu: PduType, from_requestor: bool) -> (State, bool) {
    for &(from, ty, side, to) in TRANSITIONS {
        let side_ok = match side {
            Side::Either => true,
            Side::Requestor => from_requestor,
            Side::Acceptor => !from_requestor,
        };
        if from == state && ty == pdu && side_ok {
            return (to, true);
        }
    }
    (fallback(state, pdu), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_life() {
        let mut s = Idle;
        for (pdu, req) in [
            (1, true),
            (2, false),
            (4, true),
            (4, false),
            (5, true),
            (6, false),
        ] {
            let (next, ok) = transition(s, PduType(pdu), req);
            assert!(ok, "{s:?} {pdu}");
            s = next;
        }
        assert_eq!(s, Closed);
    }

    #[test]
    fn unexpected_is_reported_and_applied() {
        assert_eq!(
            transition(Idle, PduType::P_DATA_TF, true),
            (Established, false)
        );
        assert_eq!(
            transition(Requested, PduType::ASSOCIATE_AC, true),
            (Established, false)
        );
        assert_eq!(
            transition(Established, PduType::ASSOCIATE_RQ, true),
            (Requested, false)
        );
        assert_eq!(transition(Closed, PduType(9), true), (Closed, false));
    }
}
