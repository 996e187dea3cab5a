//! The replication stream's messages (`w` XLogData, `k` keepalive) and the pgoutput logical
//! replication messages inside XLogData (protocol version 1), decoded without copying row data.
//!
//! Values arrive in PostgreSQL's text form (the walsender's output settings), so the FULL_TABLE
//! path's text → JSON encoders apply unchanged.

use std::ops::Range;

/// A message of the streaming replication protocol (a CopyData payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamMessage<'a> {
    /// WAL data: a pgoutput message.
    XLogData { wal_start: u64, data: &'a [u8] },
    /// The server's position; `reply` asks for a status update now.
    Keepalive { wal_end: u64, reply: bool },
}

/// What could not be decoded (the bytes are not what the protocol says).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("undecodable {0} message from the server")]
pub struct DecodeError(pub &'static str);

impl<'a> StreamMessage<'a> {
    pub fn parse(payload: &'a [u8]) -> Result<Self, DecodeError> {
        let mut bytes = Bytes::new(payload, "replication");
        match bytes.u8()? {
            b'w' => {
                let wal_start = bytes.u64()?;
                let _wal_end = bytes.u64()?;
                let _send_time = bytes.u64()?;
                Ok(Self::XLogData {
                    wal_start,
                    data: bytes.rest(),
                })
            }
            b'k' => {
                let wal_end = bytes.u64()?;
                let _send_time = bytes.u64()?;
                Ok(Self::Keepalive {
                    wal_end,
                    reply: bytes.u8()? == 1,
                })
            }
            _ => Err(DecodeError("replication")),
        }
    }
}

/// A table as pgoutput describes it (sent before its first change, and again after it changes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub id: u32,
    pub namespace: String,
    pub name: String,
    pub columns: Vec<RelationColumn>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    pub name: String,
    /// Part of the replica identity (the key a delete names).
    pub is_key: bool,
    pub type_oid: u32,
    pub type_modifier: i32,
}

/// Which old values an update or delete carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OldValues {
    /// The replica identity's columns (others null): `REPLICA IDENTITY DEFAULT`/`INDEX`.
    Key,
    /// The whole old row: `REPLICA IDENTITY FULL`.
    Row,
}

/// One pgoutput message. Row data is left in place: [`Tuple`] ranges point into the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgOutput {
    Begin {
        /// Where the transaction's commit record starts.
        final_lsn: u64,
        /// Microseconds since 2000-01-01 UTC.
        commit_time: i64,
    },
    Commit {
        /// Just after the commit record: where a reader that has everything of it resumes.
        end_lsn: u64,
    },
    Relation(Relation),
    Insert {
        relation: u32,
        new: Tuple,
    },
    Update {
        relation: u32,
        old: Option<(OldValues, Tuple)>,
        new: Tuple,
    },
    Delete {
        relation: u32,
        old: (OldValues, Tuple),
    },
    Truncate {
        relations: Vec<u32>,
    },
    /// Origin, type and logical-message messages: nothing to replicate.
    Other,
}

/// One field of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    Null,
    /// A TOASTed value the change did not touch: not sent.
    Unchanged,
    /// The value's text, as a range of the message's bytes.
    Text(Range<usize>),
}

/// A row: its fields, by the relation's column order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tuple {
    pub fields: Vec<Field>,
}

impl PgOutput {
    pub fn parse(data: &[u8]) -> Result<Self, DecodeError> {
        let mut bytes = Bytes::new(data, "pgoutput");
        let message = match bytes.u8()? {
            b'B' => {
                let final_lsn = bytes.u64()?;
                let commit_time = bytes.u64()? as i64;
                let _xid = bytes.u32()?;
                Self::Begin {
                    final_lsn,
                    commit_time,
                }
            }
            b'C' => {
                let _flags = bytes.u8()?;
                let _commit_lsn = bytes.u64()?;
                let end_lsn = bytes.u64()?;
                Self::Commit { end_lsn }
            }
            b'R' => {
                let id = bytes.u32()?;
                let namespace = bytes.string()?;
                let name = bytes.string()?;
                let _replica_identity = bytes.u8()?;
                let count = bytes.u16()?;
                let columns = (0..count)
                    .map(|_| {
                        Ok(RelationColumn {
                            is_key: bytes.u8()? & 1 == 1,
                            name: bytes.string()?,
                            type_oid: bytes.u32()?,
                            type_modifier: bytes.u32()? as i32,
                        })
                    })
                    .collect::<Result<_, DecodeError>>()?;
                Self::Relation(Relation {
                    id,
                    namespace,
                    name,
                    columns,
                })
            }
            b'I' => {
                let relation = bytes.u32()?;
                bytes.expect(b'N')?;
                Self::Insert {
                    relation,
                    new: bytes.tuple()?,
                }
            }
            b'U' => {
                let relation = bytes.u32()?;
                let old = match bytes.u8()? {
                    b'N' => None,
                    kind => {
                        let old = (old_values(kind)?, bytes.tuple()?);
                        bytes.expect(b'N')?;
                        Some(old)
                    }
                };
                Self::Update {
                    relation,
                    old,
                    new: bytes.tuple()?,
                }
            }
            b'D' => {
                let relation = bytes.u32()?;
                let kind = old_values(bytes.u8()?)?;
                Self::Delete {
                    relation,
                    old: (kind, bytes.tuple()?),
                }
            }
            b'T' => {
                let count = bytes.u32()?;
                let _options = bytes.u8()?;
                let relations = (0..count).map(|_| bytes.u32()).collect::<Result<_, _>>()?;
                Self::Truncate { relations }
            }
            b'O' | b'Y' | b'M' => Self::Other,
            _ => return Err(DecodeError("pgoutput")),
        };
        Ok(message)
    }
}

fn old_values(kind: u8) -> Result<OldValues, DecodeError> {
    match kind {
        b'K' => Ok(OldValues::Key),
        b'O' => Ok(OldValues::Row),
        _ => Err(DecodeError("pgoutput old row")),
    }
}

/// A cursor over a message's bytes (big-endian, NUL-terminated strings).
struct Bytes<'a> {
    data: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Bytes<'a> {
    fn new(data: &'a [u8], what: &'static str) -> Self {
        Self { data, at: 0, what }
    }

    fn take(&mut self, count: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.at.checked_add(count).ok_or(DecodeError(self.what))?;
        let taken = self.data.get(self.at..end).ok_or(DecodeError(self.what))?;
        self.at = end;
        Ok(taken)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn expect(&mut self, byte: u8) -> Result<(), DecodeError> {
        if self.u8()? == byte {
            Ok(())
        } else {
            Err(DecodeError(self.what))
        }
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let rest = &self.data[self.at..];
        let end = rest
            .iter()
            .position(|&byte| byte == 0)
            .ok_or(DecodeError(self.what))?;
        let text = String::from_utf8(rest[..end].to_vec()).map_err(|_| DecodeError(self.what))?;
        self.at += end + 1;
        Ok(text)
    }

    fn tuple(&mut self) -> Result<Tuple, DecodeError> {
        let count = self.u16()?;
        let mut fields = Vec::with_capacity(count.into());
        for _ in 0..count {
            let field = match self.u8()? {
                b'n' => Field::Null,
                b'u' => Field::Unchanged,
                b't' | b'b' => {
                    let length = self.u32()? as usize;
                    let start = self.at;
                    self.take(length)?;
                    Field::Text(start..self.at)
                }
                _ => return Err(DecodeError("pgoutput tuple")),
            };
            fields.push(field);
        }
        Ok(Tuple { fields })
    }

    fn rest(&self) -> &'a [u8] {
        &self.data[self.at..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes as the server sends them, written out field by field.
    #[derive(Default)]
    struct Written(Vec<u8>);

    impl Written {
        fn u8(mut self, value: u8) -> Self {
            self.0.push(value);
            self
        }
        fn u16(mut self, value: u16) -> Self {
            self.0.extend_from_slice(&value.to_be_bytes());
            self
        }
        fn u32(mut self, value: u32) -> Self {
            self.0.extend_from_slice(&value.to_be_bytes());
            self
        }
        fn u64(mut self, value: u64) -> Self {
            self.0.extend_from_slice(&value.to_be_bytes());
            self
        }
        fn string(mut self, value: &str) -> Self {
            self.0.extend_from_slice(value.as_bytes());
            self.0.push(0);
            self
        }
        fn text(self, value: &str) -> Self {
            let mut written = self.u8(b't').u32(value.len() as u32);
            written.0.extend_from_slice(value.as_bytes());
            written
        }
    }

    #[test]
    fn begin_relation_insert_update_delete_commit() {
        let begin = Written::default().u8(b'B').u64(0x10).u64(5).u32(700);
        assert_eq!(
            PgOutput::parse(&begin.0),
            Ok(PgOutput::Begin {
                final_lsn: 0x10,
                commit_time: 5
            })
        );
        let relation = Written::default()
            .u8(b'R')
            .u32(16384)
            .string("public")
            .string("t")
            .u8(b'd')
            .u16(2)
            .u8(1)
            .string("id")
            .u32(23)
            .u32(u32::MAX)
            .u8(0)
            .string("body")
            .u32(25)
            .u32(u32::MAX);
        let PgOutput::Relation(parsed) = PgOutput::parse(&relation.0).unwrap() else {
            panic!("a relation")
        };
        assert_eq!(
            (parsed.namespace.as_str(), parsed.name.as_str()),
            ("public", "t")
        );
        assert!(parsed.columns[0].is_key && !parsed.columns[1].is_key);
        assert_eq!(parsed.columns[1].type_modifier, -1);

        let insert = Written::default()
            .u8(b'I')
            .u32(16384)
            .u8(b'N')
            .u16(2)
            .text("1")
            .u8(b'n');
        let PgOutput::Insert { new, .. } = PgOutput::parse(&insert.0).unwrap() else {
            panic!("an insert")
        };
        let range = match &new.fields[0] {
            Field::Text(range) => range.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(&insert.0[range], b"1");
        assert_eq!(new.fields[1], Field::Null);

        let update = Written::default()
            .u8(b'U')
            .u32(16384)
            .u8(b'K')
            .u16(2)
            .text("1")
            .u8(b'n')
            .u8(b'N')
            .u16(2)
            .text("2")
            .u8(b'u');
        let PgOutput::Update { old, new, .. } = PgOutput::parse(&update.0).unwrap() else {
            panic!("an update")
        };
        assert_eq!(old.unwrap().0, OldValues::Key);
        assert_eq!(new.fields[1], Field::Unchanged);

        let delete = Written::default()
            .u8(b'D')
            .u32(16384)
            .u8(b'O')
            .u16(1)
            .text("1");
        assert!(matches!(
            PgOutput::parse(&delete.0),
            Ok(PgOutput::Delete {
                old: (OldValues::Row, _),
                ..
            })
        ));
        let commit = Written::default().u8(b'C').u8(0).u64(0x10).u64(0x48).u64(5);
        assert_eq!(
            PgOutput::parse(&commit.0),
            Ok(PgOutput::Commit { end_lsn: 0x48 })
        );
        let truncate = Written::default().u8(b'T').u32(2).u8(0).u32(1).u32(2);
        assert_eq!(
            PgOutput::parse(&truncate.0),
            Ok(PgOutput::Truncate {
                relations: vec![1, 2]
            })
        );
    }

    #[test]
    fn truncated_or_unknown_messages_are_errors_not_panics() {
        let insert = Written::default()
            .u8(b'I')
            .u32(1)
            .u8(b'N')
            .u16(1)
            .u8(b't')
            .u32(10)
            .u8(b'x');
        assert!(PgOutput::parse(&insert.0).is_err());
        assert!(PgOutput::parse(b"Z").is_err());
        assert!(PgOutput::parse(b"").is_err());
        assert!(StreamMessage::parse(b"w\0").is_err());
        let keepalive = Written::default().u8(b'k').u64(99).u64(0).u8(1);
        assert_eq!(
            StreamMessage::parse(&keepalive.0),
            Ok(StreamMessage::Keepalive {
                wal_end: 99,
                reply: true
            })
        );
    }
}
