//! Singer messages: what one line of a tap's stdout (or the target's stdin) says.
//!
//! Parsing goes through a `serde_json::Value` first so the `type` tag can be read and a line of an
//! unknown type skipped (Singer practice: a newer tap must not break an older target). Numbers are
//! parsed with `arbitrary_precision`, so they keep every digit they were written with.

use std::collections::HashSet;
use std::io::{BufRead, Read};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use tracing::warn;

/// One Singer message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Message {
    Schema(SchemaMessage),
    Record(RecordMessage),
    State(StateMessage),
    ActivateVersion(ActivateVersionMessage),
}

/// Describes a stream: its JSON Schema, primary key and bookmark columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaMessage {
    pub stream: String,
    pub schema: Value,
    /// Absent or `null` in the wild means "no key": the stream is append-only.
    #[serde(default, deserialize_with = "null_as_default")]
    pub key_properties: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookmark_properties: Option<Vec<String>>,
}

/// One row of a stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordMessage {
    pub stream: String,
    pub record: Map<String, Value>,
    /// The full-table version the row belongs to (milliseconds since the epoch by convention).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// RFC 3339 instant the row was read at the source, kept as the tap wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_extracted: Option<String>,
}

/// Bookmarks to resume from. The target passes `value` through untouched, so it stays a `Value`;
/// taps build it from [`crate::State`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateMessage {
    pub value: Value,
}

/// A full-table copy of `stream` at `version` is complete: older versions can be removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivateVersionMessage {
    pub stream: String,
    pub version: u64,
}

/// A line that is not a Singer message. Every variant names the line.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// `hint`: for a line that is not JSON at all, its start and what usually causes it.
    #[error("line {line}: malformed JSON{hint}")]
    MalformedJson {
        line: u64,
        hint: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("line {line}: a Singer message must be a JSON object with a string \"type\"")]
    MissingType { line: u64 },
    /// `reason` is serde's, told without the value it quotes (see [`without_values`]): the line
    /// may hold a record's values, which may be personal data.
    #[error("line {line}: invalid {message_type} message: {reason}")]
    InvalidMessage {
        line: u64,
        message_type: String,
        reason: String,
    },
    #[error(
        "line {line}: longer than {limit} bytes (max_record_bytes); not read further, nothing \
         after it is loaded"
    )]
    TooLong { line: u64, limit: u64 },
    #[error("line {line}: could not read input")]
    Read {
        line: u64,
        #[source]
        source: std::io::Error,
    },
}

impl MessageError {
    /// The 1-based input line at fault.
    pub fn line(&self) -> u64 {
        match self {
            Self::MalformedJson { line, .. }
            | Self::MissingType { line }
            | Self::InvalidMessage { line, .. }
            | Self::TooLong { line, .. }
            | Self::Read { line, .. } => *line,
        }
    }
}

/// For a line that does not even start like a JSON object (a log line that reached stdout, or a
/// tap's stderr piped in with `2>&1`), its start and the usual cause. A line that starts like
/// JSON is not quoted: it may hold a record's values.
fn not_json_hint(text: &str) -> String {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return String::new();
    }
    let start: String = trimmed.chars().take(60).collect();
    let more = if trimmed.chars().count() > 60 {
        "…"
    } else {
        ""
    };
    format!(
        " (the line starts {start:?}{more}: a log line? only the tap's stdout may reach the \
         target: do not pipe its stderr, `2>&1`, into it)"
    )
}

/// serde's reason for refusing a message, with the value it quotes replaced by its kind:
/// `invalid type: string "Ada", expected u64 at line 1 column 40` becomes `invalid type: a
/// string, expected u64 (column 40)`. Names of fields stay: they are the message's, not the data's.
fn without_values(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let position = format!(" at line {} column {}", error.line(), error.column());
    let reason = text.strip_suffix(&position).unwrap_or(&text);
    let reason = match ["invalid type: ", "invalid value: ", "unknown variant "]
        .into_iter()
        .find_map(|prefix| Some((prefix, reason.strip_prefix(prefix)?)))
    {
        Some((prefix, rest)) => {
            // What was expected comes last, from the message's own type.
            let expected = rest.rfind(", expected ").map_or("", |at| &rest[at..]);
            let found = [
                ("boolean", "a boolean"),
                ("integer", "an integer"),
                ("floating point", "a number"),
                ("string", "a string"),
                ("sequence", "an array"),
                ("map", "an object"),
                ("unit value", "null"),
            ]
            .into_iter()
            .find(|(serde_name, _)| rest.starts_with(serde_name))
            .map_or("a value", |(_, name)| name);
            match prefix {
                "unknown variant " => format!("unknown variant{expected}"),
                _ => format!("{prefix}{found}{expected}"),
            }
        }
        None => reason.to_owned(),
    };
    format!("{reason} (column {})", error.column())
}

/// What a line turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub enum ParsedLine {
    Message(Message),
    /// A message type this program does not know (`BATCH`, a future type): skip it.
    Unknown {
        message_type: String,
    },
}

impl Message {
    /// Parses one line. `line` is the 1-based line number used in errors.
    ///
    /// The line is read twice, once for its `type` and once into that message's struct, both
    /// straight from the text: going through a `Value` first would let serde_json rewrite some
    /// large numbers (`1e+62` for `100…000`), and every digit must stay as the tap wrote it.
    pub fn parse(text: &str, line: u64) -> Result<ParsedLine, MessageError> {
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(rename = "type")]
            message_type: Option<Value>,
        }
        let envelope: Envelope =
            serde_json::from_str(text).map_err(|source| MessageError::MalformedJson {
                line,
                hint: not_json_hint(text),
                source,
            })?;
        let Some(Value::String(message_type)) = envelope.message_type else {
            return Err(MessageError::MissingType { line });
        };
        let invalid = |source: serde_json::Error| MessageError::InvalidMessage {
            line,
            message_type: message_type.clone(),
            reason: without_values(&source),
        };
        let message = match message_type.as_str() {
            "SCHEMA" => Message::Schema(serde_json::from_str(text).map_err(invalid)?),
            "RECORD" => Message::Record(serde_json::from_str(text).map_err(invalid)?),
            "STATE" => Message::State(serde_json::from_str(text).map_err(invalid)?),
            "ACTIVATE_VERSION" => {
                Message::ActivateVersion(serde_json::from_str(text).map_err(invalid)?)
            }
            _ => return Ok(ParsedLine::Unknown { message_type }),
        };
        Ok(ParsedLine::Message(message))
    }

    /// The stream a message is about; `None` for STATE.
    pub fn stream(&self) -> Option<&str> {
        match self {
            Message::Schema(m) => Some(&m.stream),
            Message::Record(m) => Some(&m.stream),
            Message::ActivateVersion(m) => Some(&m.stream),
            Message::State(_) => None,
        }
    }
}

/// The longest line a [`MessageReader`] reads unless told otherwise: a bound on memory that no
/// real record comes near.
pub const DEFAULT_MAX_LINE_BYTES: u64 = 64 * 1024 * 1024;

/// Reads messages line by line, numbering lines for errors, skipping blank lines, and warning once
/// per unknown message type. A line longer than its limit is an error, never read whole: hostile
/// or broken input cannot exhaust memory.
#[derive(Debug)]
pub struct MessageReader<R> {
    input: R,
    buffer: Vec<u8>,
    line: u64,
    max_line_bytes: u64,
    warned_types: HashSet<String>,
}

impl<R: BufRead> MessageReader<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            buffer: Vec::new(),
            line: 0,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            warned_types: HashSet::new(),
        }
    }

    /// Lines longer than `bytes` (newline excluded) stop the reader with [`MessageError::TooLong`].
    pub fn with_max_line_bytes(mut self, bytes: u64) -> Self {
        self.max_line_bytes = bytes;
        self
    }

    /// The number of the last line read.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The next line that is not blank, trimmed, with its number; `None` at the end of the input.
    /// The text is lent until the next call, so a caller can parse it without copying (the
    /// target reads RECORDs borrowed from it).
    pub fn next_line(&mut self) -> Option<Result<(u64, &str), MessageError>> {
        let (line, text) = loop {
            self.buffer.clear();
            self.line += 1;
            let line = self.line;
            // One byte past the limit (and its newline) tells a line that is too long.
            let limit = self.max_line_bytes.saturating_add(2);
            match (&mut self.input)
                .take(limit)
                .read_until(b'\n', &mut self.buffer)
            {
                Ok(0) => return None,
                Ok(_) => {}
                Err(source) => return Some(Err(MessageError::Read { line, source })),
            }
            let text = self.buffer.strip_suffix(b"\n").unwrap_or(&self.buffer);
            if text.strip_suffix(b"\r").unwrap_or(text).len() as u64 > self.max_line_bytes {
                return Some(Err(MessageError::TooLong {
                    line,
                    limit: self.max_line_bytes,
                }));
            }
            // The line without the whitespace around it (JSON's whitespace is ASCII).
            let start = self.buffer.len() - self.buffer.trim_ascii_start().len();
            let end = self.buffer.trim_ascii_end().len();
            if start < end {
                break (line, start..end);
            }
        };
        match std::str::from_utf8(&self.buffer[text]) {
            Ok(text) => Some(Ok((line, text))),
            Err(_) => {
                let source = std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the line is not valid UTF-8",
                );
                Some(Err(MessageError::Read { line, source }))
            }
        }
    }

    /// Notes a line of a message type this program does not know: skipped, with a warning the
    /// first time the type is seen.
    pub fn skip_unknown(&mut self, line: u64, message_type: String) {
        if self.warned_types.insert(message_type.clone()) {
            warn!(line, message_type, "skipping messages of unknown type");
        }
    }
}

impl<R: BufRead> Iterator for MessageReader<R> {
    type Item = Result<(u64, Message), MessageError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (line, parsed) = match self.next_line()? {
                Ok((line, text)) => (line, Message::parse(text, line)),
                Err(err) => return Some(Err(err)),
            };
            match parsed {
                Ok(ParsedLine::Message(message)) => return Some(Ok((line, message))),
                Ok(ParsedLine::Unknown { message_type }) => self.skip_unknown(line, message_type),
                Err(err) => return Some(Err(err)),
            }
        }
    }
}

/// Now, as Singer writes `time_extracted`: RFC 3339 in UTC with microseconds.
pub fn now_rfc3339() -> String {
    rfc3339(chrono::Utc::now())
}

/// PostgreSQL's epoch, 2000-01-01 UTC, in seconds since the Unix epoch.
pub const POSTGRES_EPOCH_UNIX_SECONDS: i64 = 946_684_800;

/// A time given in microseconds since 2000-01-01 UTC (PostgreSQL's epoch), as RFC 3339.
pub fn rfc3339_from_postgres_micros(micros: i64) -> String {
    let unix = micros.saturating_add(POSTGRES_EPOCH_UNIX_SECONDS * 1_000_000);
    rfc3339(chrono::DateTime::from_timestamp_micros(unix).unwrap_or_default())
}

fn rfc3339(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Message {
        match Message::parse(text, 1).unwrap() {
            ParsedLine::Message(m) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn a_line_past_the_limit_is_an_error_and_is_never_read_whole() {
        let long = format!(
            "{{\"type\":\"STATE\",\"value\":\"{}\"}}",
            "x".repeat(10_000)
        );
        let input =
            format!("\r\n  {{\"type\":\"STATE\",\"value\":1}}  \r\n\n{long}\nnot reached\n");
        let mut reader = MessageReader::new(input.as_bytes()).with_max_line_bytes(100);
        let (line, text) = reader.next_line().unwrap().unwrap();
        assert_eq!((line, text), (2, r#"{"type":"STATE","value":1}"#));
        let error = reader.next_line().unwrap().unwrap_err();
        assert!(
            matches!(
                error,
                MessageError::TooLong {
                    line: 4,
                    limit: 100
                }
            ),
            "{error}"
        );
        assert!(
            reader.buffer.len() <= 102,
            "read {} bytes",
            reader.buffer.len()
        );
        // A line of exactly the limit is read, with or without its line break.
        let exact = "x".repeat(100);
        for input in [format!("{exact}\r\n"), exact.clone()] {
            let mut reader = MessageReader::new(input.as_bytes()).with_max_line_bytes(100);
            assert_eq!(reader.next_line().unwrap().unwrap().1, exact);
            assert!(reader.next_line().is_none());
        }
        let mut reader = MessageReader::new(&b"{\"a\": \"\xff\"}\n"[..]);
        assert!(matches!(
            reader.next_line().unwrap().unwrap_err(),
            MessageError::Read { line: 1, .. }
        ));
    }

    #[test]
    fn numbers_keep_every_digit() {
        let line = r#"{"type":"RECORD","stream":"t","record":{"n":12345678901234567890.123456789,"f":1.10,"e":1e+400}}"#;
        let message = parse(line);
        let written = serde_json::to_string(&message).unwrap();
        assert_eq!(
            written,
            r#"{"type":"RECORD","stream":"t","record":{"n":12345678901234567890.123456789,"f":1.10,"e":1e+400}}"#
        );
    }

    #[test]
    fn integers_beyond_128_bits_keep_their_digits() {
        let digits = format!("1{}", "0".repeat(62));
        let line = format!(
            r#"{{"type":"SCHEMA","stream":"t","schema":{{"maximum":{digits}}},"key_properties":[]}}"#
        );
        assert_eq!(serde_json::to_string(&parse(&line)).unwrap(), line);
    }

    #[test]
    fn each_message_type_round_trips() {
        let lines = [
            r#"{"type":"SCHEMA","stream":"orders","schema":{"type":"object","properties":{"id":{"type":"integer"}}},"key_properties":["id"],"bookmark_properties":["updated_at"]}"#,
            r#"{"type":"RECORD","stream":"orders","record":{"id":1},"version":1732190000000,"time_extracted":"2026-11-21T10:00:00.123456Z"}"#,
            r#"{"type":"STATE","value":{"currently_syncing":null,"bookmarks":{"shop-orders":{"version":1}}}}"#,
            r#"{"type":"ACTIVATE_VERSION","stream":"orders","version":1732190000000}"#,
        ];
        for line in lines {
            assert_eq!(serde_json::to_string(&parse(line)).unwrap(), line);
        }
    }

    #[test]
    fn schema_without_or_with_null_key_properties_has_no_key() {
        let Message::Schema(schema) = parse(r#"{"type":"SCHEMA","stream":"s","schema":{}}"#) else {
            panic!("not a schema")
        };
        assert!(schema.key_properties.is_empty());
        let Message::Schema(schema) =
            parse(r#"{"type":"SCHEMA","stream":"s","schema":{},"key_properties":null}"#)
        else {
            panic!("not a schema")
        };
        assert!(schema.key_properties.is_empty());
    }

    #[test]
    fn unknown_type_is_reported_not_failed() {
        let parsed = Message::parse(r#"{"type":"BATCH","stream":"s","encoding":{}}"#, 3).unwrap();
        assert_eq!(
            parsed,
            ParsedLine::Unknown {
                message_type: "BATCH".into()
            }
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = Message::parse("{not json", 7).unwrap_err();
        assert!(matches!(err, MessageError::MalformedJson { line: 7, .. }));
        assert!(
            err.to_string().starts_with("line 7: malformed JSON"),
            "{err}"
        );

        let err = Message::parse(r#"{"stream":"s"}"#, 8).unwrap_err();
        assert_eq!(err.line(), 8);
        assert!(matches!(err, MessageError::MissingType { .. }));
        let err = Message::parse(r#"{"type":5}"#, 8).unwrap_err();
        assert!(matches!(err, MessageError::MissingType { .. }));
        let err = Message::parse("[1]", 8).unwrap_err();
        assert!(matches!(err, MessageError::MissingType { .. }), "{err:?}");

        let err = Message::parse(r#"{"type":"RECORD","record":{}}"#, 9).unwrap_err();
        let MessageError::InvalidMessage {
            line,
            message_type,
            reason,
        } = err
        else {
            panic!("wrong error")
        };
        assert_eq!((line, message_type.as_str()), (9, "RECORD"));
        assert!(reason.contains("stream"), "{reason}");
    }

    /// The line may hold a record's values: what is wrong is told by kind, never by value.
    #[test]
    fn invalid_messages_are_told_without_their_values() {
        let secret = "secret-value-1234";
        for (line, expected) in [
            (
                format!(r#"{{"type":"RECORD","stream":"t","record":"{secret}"}}"#),
                "invalid type: a string, expected a map",
            ),
            (
                format!(r#"{{"type":"RECORD","stream":"t","record":{{}},"version":"{secret}"}}"#),
                "invalid type: a string, expected u64",
            ),
            (
                r#"{"type":"RECORD","stream":"t","record":{},"version":-1234}"#.to_owned(),
                "invalid value: an integer, expected u64",
            ),
            (
                r#"{"type":"ACTIVATE_VERSION","stream":1234,"version":1}"#.to_owned(),
                "invalid type: an integer, expected a string",
            ),
            (
                format!(r#"{{"type":"SCHEMA","stream":["{secret}"],"schema":{{}}}}"#),
                "invalid type: an array, expected a string",
            ),
        ] {
            let err = Message::parse(&line, 3).unwrap_err();
            let text = err.to_string();
            assert!(!text.contains("1234"), "{text}");
            assert!(text.starts_with("line 3: invalid "), "{text}");
            assert!(text.contains(expected), "{text}");
        }
    }

    #[test]
    fn reader_numbers_lines_and_skips_blank_and_unknown() {
        let input = concat!(
            r#"{"type":"SCHEMA","stream":"s","schema":{},"key_properties":[]}"#,
            "\n\n",
            r#"{"type":"BATCH","stream":"s"}"#,
            "\n",
            r#"{"type":"RECORD","stream":"s","record":{"a":1}}"#,
            "\n",
            "oops\n",
        );
        let mut reader = MessageReader::new(input.as_bytes());
        let (line, first) = reader.next().unwrap().unwrap();
        assert_eq!((line, first.stream()), (1, Some("s")));
        let (line, second) = reader.next().unwrap().unwrap();
        assert_eq!(line, 4);
        assert_eq!(
            second,
            Message::Record(RecordMessage {
                stream: "s".into(),
                record: json!({"a": 1}).as_object().unwrap().clone(),
                version: None,
                time_extracted: None,
            })
        );
        assert_eq!(reader.next().unwrap().unwrap_err().line(), 5);
        assert!(reader.next().is_none());
    }

    #[test]
    fn next_line_lends_each_line_that_is_not_blank() {
        let mut reader = MessageReader::new("  {\"a\": 1}  \n\n\t\nnot json\n".as_bytes());
        assert_eq!(reader.next_line().unwrap().unwrap(), (1, "{\"a\": 1}"));
        // Blank lines are counted, not returned; what the line holds is the caller's business.
        assert_eq!(reader.next_line().unwrap().unwrap(), (4, "not json"));
        assert!(reader.next_line().is_none());
    }
}
