//! MariaDB GTIDs: the `domain-server-sequence` position, and the two events that carry GTIDs,
//! decoded from their raw bytes (the driver does not model MariaDB's event types).
//!
//! A MariaDB GTID position holds the last GTID of each replication domain, written as
//! `0-1-47,7-1-1` (`@@gtid_binlog_pos`, `@slave_connect_state`). The binlog carries a GTID event
//! (0xa2) at the start of every event group and a GTID_LIST event (0xa3) at the start of every file
//! with the position the file starts from; the decoders here are pure functions of the event body
//! (the bytes after the 19-byte header, without the checksum), tested on bytes captured from a
//! MariaDB 10.11 binlog.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// MariaDB's GTID event: the start of an event group.
pub const GTID_EVENT: u8 = 0xa2;
/// MariaDB's GTID_LIST event: the GTID position at the start of a binlog file.
pub const GTID_LIST_EVENT: u8 = 0xa3;

/// The group is a single statement with no XID or COMMIT after it (DDL, for instance).
const FL_STANDALONE: u8 = 0x01;

/// One MariaDB GTID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Gtid {
    pub domain: u32,
    pub server: u32,
    pub sequence: u64,
}

impl fmt::Display for Gtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.domain, self.server, self.sequence)
    }
}

/// A GTID that is not `domain-server-sequence`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a MariaDB GTID position (domain-server-sequence, comma-separated)")]
pub struct BadGtid {
    pub text: String,
}

impl FromStr for Gtid {
    type Err = BadGtid;

    fn from_str(text: &str) -> Result<Self, BadGtid> {
        let bad = || BadGtid { text: text.into() };
        let mut parts = text.trim().splitn(3, '-');
        let mut next = || parts.next().ok_or_else(bad);
        let (domain, server, sequence) = (next()?, next()?, next()?);
        Ok(Self {
            domain: domain.parse().map_err(|_| bad())?,
            server: server.parse().map_err(|_| bad())?,
            sequence: sequence.parse().map_err(|_| bad())?,
        })
    }
}

/// The last GTID of each domain: where a replica stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GtidPosition(BTreeMap<u32, Gtid>);

impl GtidPosition {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A group of `gtid` committed.
    pub fn commit(&mut self, gtid: Gtid) {
        self.0.insert(gtid.domain, gtid);
    }

    /// Whether `other` has reached this position in every domain (same or later sequence).
    pub fn covered_by(&self, other: &GtidPosition) -> bool {
        self.0.iter().all(|(domain, gtid)| {
            other
                .0
                .get(domain)
                .is_some_and(|reached| reached.sequence >= gtid.sequence)
        })
    }

    /// The earlier of two positions in each domain; a domain one of them lacks is left out (a
    /// reader without it starts that domain from its beginning).
    pub fn earliest(&self, other: &GtidPosition) -> GtidPosition {
        GtidPosition(
            self.0
                .iter()
                .filter_map(|(domain, gtid)| {
                    let theirs = other.0.get(domain)?;
                    Some((
                        *domain,
                        if theirs.sequence < gtid.sequence {
                            *theirs
                        } else {
                            *gtid
                        },
                    ))
                })
                .collect(),
        )
    }

    /// Takes the domains of a file's GTID_LIST that this position does not have, or has at an
    /// older sequence: the list is the state before the file, which this position has passed.
    pub fn merge(&mut self, list: &[Gtid]) {
        for gtid in list {
            let newer = self
                .0
                .get(&gtid.domain)
                .is_none_or(|known| known.sequence < gtid.sequence);
            if newer {
                self.0.insert(gtid.domain, *gtid);
            }
        }
    }
}

impl fmt::Display for GtidPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, gtid) in self.0.values().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            gtid.fmt(f)?;
        }
        Ok(())
    }
}

impl FromStr for GtidPosition {
    type Err = BadGtid;

    /// `0-1-47,7-1-1`; empty for no GTID yet.
    fn from_str(text: &str) -> Result<Self, BadGtid> {
        let mut position = Self::default();
        for part in text.split(',').filter(|part| !part.trim().is_empty()) {
            position.commit(part.parse()?);
        }
        Ok(position)
    }
}

/// What a GTID event says (its server id is the event header's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GtidEvent {
    pub domain: u32,
    pub sequence: u64,
    /// A group of one statement (DDL): it ends with that statement, without XID or COMMIT.
    pub standalone: bool,
}

/// An event body shorter than its fixed fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a MariaDB {event} event of {length} bytes is too short")]
pub struct Truncated {
    pub event: &'static str,
    pub length: usize,
}

/// The body of a GTID event: sequence (8 bytes), domain (4), flags (1), then fields this reader
/// does not need (commit id, XA data).
pub fn decode_gtid_event(body: &[u8]) -> Result<GtidEvent, Truncated> {
    let truncated = Truncated {
        event: "GTID",
        length: body.len(),
    };
    let sequence = u64::from_le_bytes(fixed(body, 0).ok_or(truncated)?);
    let domain = u32::from_le_bytes(fixed(body, 8).ok_or(truncated)?);
    let flags = *body.get(12).ok_or(truncated)?;
    Ok(GtidEvent {
        domain,
        sequence,
        standalone: flags & FL_STANDALONE != 0,
    })
}

/// The body of a GTID_LIST event: a count (the low 28 bits of 4 bytes; the high 4 are flags), then
/// domain (4), server (4) and sequence (8) of each GTID.
pub fn decode_gtid_list(body: &[u8]) -> Result<Vec<Gtid>, Truncated> {
    let truncated = Truncated {
        event: "GTID_LIST",
        length: body.len(),
    };
    let count = u32::from_le_bytes(fixed(body, 0).ok_or(truncated)?) & 0x0fff_ffff;
    (0..count as usize)
        .map(|index| {
            let at = 4 + index * 16;
            Ok(Gtid {
                domain: u32::from_le_bytes(fixed(body, at).ok_or(truncated)?),
                server: u32::from_le_bytes(fixed(body, at + 4).ok_or(truncated)?),
                sequence: u64::from_le_bytes(fixed(body, at + 8).ok_or(truncated)?),
            })
        })
        .collect()
}

fn fixed<const N: usize>(body: &[u8], at: usize) -> Option<[u8; N]> {
    body.get(at..at + N)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hex without spaces → bytes.
    fn bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|at| u8::from_str_radix(&hex[at..at + 2], 16).unwrap())
            .collect()
    }

    /// Events captured from a MariaDB 10.11 binlog (`xxd` of the file): header (19 bytes), body,
    /// CRC32 (4 bytes).
    const GTID_7_1_1: &str = "060c156ba2010000002a0000004f350000080001000000000000000700\
                              00000c00000000000024574c97";
    const GTID_0_1_47: &str = "b50b156ba2010000002a000000e032000008002f000000000000000000\
                               00000c000000000000c3f77513";
    const GTID_LIST: &str = "090c156ba3010000003b0000003b01000000000200000007000000010000\
                             00010000000000000000000000010000002f0000000000000074570629";

    fn body(event: &str) -> Vec<u8> {
        let event = bytes(event);
        event[19..event.len() - 4].to_vec()
    }

    fn event_type(event: &[u8]) -> u8 {
        event[4]
    }

    #[test]
    fn gtid_events_decode_from_captured_bytes() {
        let event = bytes(GTID_7_1_1);
        assert_eq!(event_type(&event), GTID_EVENT);
        assert_eq!(
            decode_gtid_event(&body(GTID_7_1_1)),
            Ok(GtidEvent {
                domain: 7,
                sequence: 1,
                standalone: false
            })
        );
        assert_eq!(
            decode_gtid_event(&body(GTID_0_1_47)),
            Ok(GtidEvent {
                domain: 0,
                sequence: 47,
                standalone: false
            })
        );
        let mut ddl = body(GTID_0_1_47);
        ddl[12] |= FL_STANDALONE;
        assert!(decode_gtid_event(&ddl).unwrap().standalone);
        assert_eq!(
            decode_gtid_event(&[1, 2, 3]),
            Err(Truncated {
                event: "GTID",
                length: 3
            })
        );
    }

    #[test]
    fn gtid_list_decodes_from_captured_bytes() {
        let event = bytes(GTID_LIST);
        assert_eq!(event_type(&event), GTID_LIST_EVENT);
        let list = decode_gtid_list(&body(GTID_LIST)).unwrap();
        let shown: Vec<String> = list.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["7-1-1", "0-1-47"]);
        let mut short = body(GTID_LIST);
        short.truncate(20);
        assert!(decode_gtid_list(&short).is_err());
        // An empty list (the first binlog of a server).
        assert_eq!(decode_gtid_list(&[0, 0, 0, 0]), Ok(Vec::new()));
    }

    #[test]
    fn positions_parse_merge_and_print() {
        let mut position: GtidPosition = "7-1-1, 0-1-47".parse().unwrap();
        assert_eq!(position.to_string(), "0-1-47,7-1-1");
        position.commit(Gtid {
            domain: 0,
            server: 2,
            sequence: 48,
        });
        position.merge(&[
            "0-1-40".parse().unwrap(),
            "3-1-9".parse().unwrap(),
            "7-1-2".parse().unwrap(),
        ]);
        assert_eq!(position.to_string(), "0-2-48,3-1-9,7-1-2");
        assert!("".parse::<GtidPosition>().unwrap().is_empty());
        let older: GtidPosition = "0-1-40,7-1-2".parse().unwrap();
        assert!(older.covered_by(&position));
        assert!(!position.covered_by(&older), "domain 3 is missing");
        assert!(GtidPosition::default().covered_by(&older));
        assert_eq!(position.earliest(&older).to_string(), "0-1-40,7-1-2");
        assert_eq!(older.earliest(&position).to_string(), "0-1-40,7-1-2");
        assert!("0-1".parse::<GtidPosition>().is_err());
        assert!("a-b-c".parse::<GtidPosition>().is_err());
    }
}
