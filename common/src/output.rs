//! `MessageWriter`: Singer messages to stdout, one JSON object per line.
//!
//! Records are serialised straight into a large buffer over a locked stdout: no `String` per
//! record, no lock per line. The buffer is flushed after every STATE (so a target sees bookmarks
//! promptly and a killed tap has printed everything its last STATE covers) and on `flush`.

use std::io::{self, BufWriter, StdoutLock, Write};

use serde::Serialize;
use serde_json::Value;

use crate::message::{Message, SchemaMessage};

/// Large enough that a pipe write carries many records at once.
const BUFFER_BYTES: usize = 256 * 1024;

/// Writes Singer messages. Generic over the sink so tests can write to a `Vec<u8>`.
#[derive(Debug)]
pub struct MessageWriter<W: Write = BufWriter<StdoutLock<'static>>> {
    out: W,
}

impl MessageWriter {
    /// A writer over the process's stdout, locked for the writer's lifetime.
    pub fn stdout() -> Self {
        Self::new(BufWriter::with_capacity(BUFFER_BYTES, io::stdout().lock()))
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename = "RECORD")]
struct RecordRef<'a, R: ?Sized> {
    stream: &'a str,
    record: &'a R,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_extracted: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename = "STATE")]
struct StateRef<'a, S: ?Sized> {
    value: &'a S,
}

#[derive(Serialize)]
#[serde(tag = "type", rename = "ACTIVATE_VERSION")]
struct ActivateVersionRef<'a> {
    stream: &'a str,
    version: u64,
}

impl<W: Write> MessageWriter<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// Writes any message; STATE flushes.
    pub fn write(&mut self, message: &Message) -> io::Result<()> {
        self.write_line(message)?;
        if matches!(message, Message::State(_)) {
            self.flush()?;
        }
        Ok(())
    }

    pub fn write_schema(&mut self, schema: &SchemaMessage) -> io::Result<()> {
        #[derive(Serialize)]
        #[serde(tag = "type", rename = "SCHEMA")]
        struct SchemaRef<'a> {
            #[serde(flatten)]
            schema: &'a SchemaMessage,
        }
        self.write_line(&SchemaRef { schema })
    }

    /// Writes a RECORD whose `record` is anything serialisable as a JSON object, such as a row type
    /// of the tap's own that serialises each column straight from the database value.
    pub fn write_record<R: Serialize + ?Sized>(
        &mut self,
        stream: &str,
        record: &R,
        version: Option<u64>,
        time_extracted: Option<&str>,
    ) -> io::Result<()> {
        self.write_line(&RecordRef {
            stream,
            record,
            version,
            time_extracted,
        })
    }

    /// Writes a RECORD whose `record` is already encoded as a JSON object, such as a row a tap
    /// encoded straight from the database's text. The caller vouches that it is valid JSON.
    pub fn write_record_json(
        &mut self,
        stream: &str,
        record_json: &[u8],
        version: Option<u64>,
        time_extracted: Option<&str>,
    ) -> io::Result<()> {
        self.out.write_all(br#"{"type":"RECORD","stream":"#)?;
        serde_json::to_writer(&mut self.out, stream)?;
        self.out.write_all(br#","record":"#)?;
        self.out.write_all(record_json)?;
        if let Some(version) = version {
            write!(self.out, r#","version":{version}"#)?;
        }
        if let Some(time_extracted) = time_extracted {
            self.out.write_all(br#","time_extracted":"#)?;
            serde_json::to_writer(&mut self.out, time_extracted)?;
        }
        self.out.write_all(b"}\n")
    }

    /// Writes a STATE (a [`crate::State`], or any value serialising as one) and flushes, so everything
    /// before it has left the process.
    pub fn write_state<S: Serialize + ?Sized>(&mut self, state: &S) -> io::Result<()> {
        self.write_line(&StateRef { value: state })?;
        self.flush()
    }

    /// Writes a state value alone on a line, as Singer targets report committed state (Meltano
    /// saves that line and hands it to the tap's `--state` next run), and flushes.
    pub fn write_bare_state(&mut self, value: &Value) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")?;
        self.flush()
    }

    pub fn write_activate_version(&mut self, stream: &str, version: u64) -> io::Result<()> {
        self.write_line(&ActivateVersionRef { stream, version })
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Returns the sink; buffered bytes must have been flushed first.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn write_line<T: Serialize + ?Sized>(&mut self, value: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{MessageReader, ParsedLine};
    use crate::state::Bookmark;
    use crate::state::State;
    use serde_json::json;
    use std::collections::BTreeMap;

    #[test]
    fn writes_each_message_on_its_own_line_that_reads_back() {
        let mut writer = MessageWriter::new(Vec::new());
        let schema = SchemaMessage {
            stream: "orders".into(),
            schema: json!({"type": "object", "properties": {"id": {"type": "integer"}}}),
            key_properties: vec!["id".into()],
            bookmark_properties: None,
        };
        writer.write_schema(&schema).unwrap();
        // A tap's own row type, serialised without building a `Value`.
        let row: BTreeMap<&str, i64> = [("id", 7)].into_iter().collect();
        writer
            .write_record("orders", &row, Some(5), Some("2026-11-21T10:00:00.000000Z"))
            .unwrap();
        let mut state = State::default();
        state.bookmark_mut("shop-orders").version = Some(5);
        writer.write_state(&state).unwrap();
        writer.write_activate_version("orders", 5).unwrap();
        writer.flush().unwrap();
        let bytes = writer.into_inner();
        let text = String::from_utf8(bytes).unwrap();

        assert_eq!(
            text,
            concat!(
                r#"{"type":"SCHEMA","stream":"orders","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":["id"]}"#,
                "\n",
                r#"{"type":"RECORD","stream":"orders","record":{"id":7},"version":5,"time_extracted":"2026-11-21T10:00:00.000000Z"}"#,
                "\n",
                r#"{"type":"STATE","value":{"currently_syncing":null,"bookmarks":{"shop-orders":{"version":5}}}}"#,
                "\n",
                r#"{"type":"ACTIVATE_VERSION","stream":"orders","version":5}"#,
                "\n",
            )
        );
        let read: Vec<_> = MessageReader::new(text.as_bytes())
            .map(|m| m.unwrap().1)
            .collect();
        assert_eq!(read.len(), 4);
        assert_eq!(read[0], Message::Schema(schema));
        let Message::State(state_message) = &read[2] else {
            panic!("expected STATE")
        };
        let parsed = State::from_value(state_message.value.clone()).unwrap();
        assert_eq!(
            parsed.bookmarks["shop-orders"],
            Bookmark {
                version: Some(5),
                ..Bookmark::default()
            }
        );
    }

    #[test]
    fn generic_write_matches_typed_writers() {
        let line =
            r#"{"type":"RECORD","stream":"s","record":{"n":0.1000000000000000000001},"version":3}"#;
        let ParsedLine::Message(message) = Message::parse(line, 1).unwrap() else {
            panic!("not a message")
        };
        let mut writer = MessageWriter::new(Vec::new());
        writer.write(&message).unwrap();
        assert_eq!(
            String::from_utf8(writer.into_inner()).unwrap(),
            format!("{line}\n")
        );
    }

    #[test]
    fn pre_encoded_records_match_serialised_ones() {
        let row: BTreeMap<&str, i64> = [("id", 7)].into_iter().collect();
        let mut serialised = MessageWriter::new(Vec::new());
        serialised
            .write_record("a\"b", &row, Some(5), Some("2026-11-21T10:00:00.000000Z"))
            .unwrap();
        serialised.write_record("s", &row, None, None).unwrap();
        let mut encoded = MessageWriter::new(Vec::new());
        encoded
            .write_record_json(
                "a\"b",
                br#"{"id":7}"#,
                Some(5),
                Some("2026-11-21T10:00:00.000000Z"),
            )
            .unwrap();
        encoded
            .write_record_json("s", br#"{"id":7}"#, None, None)
            .unwrap();
        assert_eq!(serialised.into_inner(), encoded.into_inner());
    }

    #[test]
    fn state_is_flushed_through_a_buffer() {
        let mut sink = Vec::new();
        {
            let mut writer = MessageWriter::new(BufWriter::new(&mut sink));
            writer.write_state(&json!({"bookmarks": {}})).unwrap();
            // No explicit flush: STATE must already have reached the sink.
            std::mem::forget(writer);
        }
        assert_eq!(
            String::from_utf8(sink).unwrap(),
            "{\"type\":\"STATE\",\"value\":{\"bookmarks\":{}}}\n"
        );
    }
}
