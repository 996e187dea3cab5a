//! The target's input: stdin lines → the messages the [`Target`] acts on, numbered for errors.
//!
//! Lines come from [`MessageReader::next_line`], lent, blank ones skipped. RECORD lines, nearly all
//! of the input, are read borrowed from the line: their values are never copied into a
//! `serde_json::Value`. Every other line is parsed as a [`Message`]; a message type the target
//! does not know is skipped with a warning, as Singer targets do.

use std::io::BufRead;

use common::Message;
use common::message::{MessageReader, ParsedLine, RecordMessage};
use serde::Deserialize;
use serde_json::Value;

use crate::Error;
use crate::json::{Object, Text};
use crate::target::Target;

/// Hands every message of `input` to `target`, in order; stops at the first error, or at a line
/// longer than `max_line_bytes`.
pub fn read_input(
    input: impl BufRead,
    max_line_bytes: u64,
    target: &mut Target,
) -> Result<(), Error> {
    let mut reader = MessageReader::new(input).with_max_line_bytes(max_line_bytes);
    while let Some(next) = reader.next_line() {
        let (line, text) = next?;
        if let Some(message_type) = handle_line(target, line, text)? {
            reader.skip_unknown(line, message_type);
        }
    }
    Ok(())
}

/// What the target reads of every line first: a RECORD's fields, borrowed from the line.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    message_type: Text<'a>,
    #[serde(borrow)]
    stream: Option<Text<'a>>,
    #[serde(borrow)]
    record: Option<Object<'a>>,
    version: Option<u64>,
    #[serde(borrow)]
    time_extracted: Option<Text<'a>>,
}

/// Hands one line to `target`. Returns the type of a message this program does not know, for the
/// reader to skip.
fn handle_line(target: &mut Target, line: u64, text: &str) -> Result<Option<String>, Error> {
    if let Ok(envelope) = serde_json::from_str::<Envelope>(text)
        && let (Some(Text(stream)), Some(record)) = (&envelope.stream, &envelope.record)
        && envelope.message_type.0 == "RECORD"
    {
        let time_extracted = envelope.time_extracted.as_ref().map(|t| t.0.as_ref());
        target.on_record(line, stream, record, envelope.version, time_extracted)?;
        return Ok(None);
    }
    let message = match Message::parse(text, line)? {
        ParsedLine::Message(message) => message,
        ParsedLine::Unknown { message_type } => return Ok(Some(message_type)),
    };
    match message {
        Message::Schema(schema) => target.on_schema(line, schema)?,
        Message::Record(record) => on_parsed_record(target, line, record)?,
        Message::State(state) => target.on_state(line, state.value)?,
        Message::ActivateVersion(activate) => target.on_activate_version(line, activate)?,
    }
    Ok(None)
}

/// A RECORD the borrowed read did not take (it takes all that are valid): the same path, through
/// text.
fn on_parsed_record(target: &mut Target, line: u64, record: RecordMessage) -> Result<(), Error> {
    let text = Value::Object(record.record).to_string();
    let object: Object = serde_json::from_str(&text).expect("an object reads back");
    let extracted = record.time_extracted.as_deref();
    target.on_record(line, &record.stream, &object, record.version, extracted)
}
