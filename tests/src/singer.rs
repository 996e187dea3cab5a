//! Reading what the programs printed: records, states, catalog entries.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

use common::Message;
use common::message::{ParsedLine, SchemaMessage};
use serde_json::{Map, Value, json};

/// The `record` of every RECORD, in order.
pub fn records(messages: &[Message]) -> Vec<&Map<String, Value>> {
    messages
        .iter()
        .filter_map(|m| match m {
            Message::Record(r) => Some(&r.record),
            _ => None,
        })
        .collect()
}

/// The two-column key of every RECORD, in order: the text of property `text` and the integer of
/// property `integer`; panics when a record has other types there.
pub fn record_keys(messages: &[Message], text: &str, integer: &str) -> Vec<(String, i64)> {
    records(messages)
        .iter()
        .map(|r| {
            let key = (r[text].as_str(), r[integer].as_i64());
            match key {
                (Some(text), Some(integer)) => (text.to_owned(), integer),
                _ => panic!("not a (text, integer) key: {r:?}"),
            }
        })
        .collect()
}

/// The first SCHEMA of `stream`; panics when there is none.
pub fn schema_message<'a>(messages: &'a [Message], stream: &str) -> &'a SchemaMessage {
    messages
        .iter()
        .find_map(|m| match m {
            Message::Schema(schema) if schema.stream == stream => Some(schema),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no SCHEMA for {stream}"))
}

/// The value of the last STATE; panics when there is none.
pub fn last_state(messages: &[Message]) -> Value {
    messages
        .iter()
        .rev()
        .find_map(|m| match m {
            Message::State(s) => Some(s.value.clone()),
            _ => None,
        })
        .expect("no STATE emitted")
}

/// The `tap_stream_id` of every stream of a catalog, sorted.
pub fn stream_ids(catalog: &Value) -> Vec<&str> {
    let mut ids: Vec<&str> = catalog["streams"]
        .as_array()
        .expect("a catalog has streams")
        .iter()
        .map(|s| s["tap_stream_id"].as_str().expect("a tap_stream_id"))
        .collect();
    ids.sort_unstable();
    ids
}

/// The names of a JSON schema's properties, in their order.
pub fn property_names(schema: &Value) -> Vec<&str> {
    schema["properties"]
        .as_object()
        .expect("a schema with properties")
        .keys()
        .map(String::as_str)
        .collect()
}

/// Checks the `description` of a JSON schema and of the named properties, `None` where there
/// must be none.
pub fn assert_descriptions(
    schema: &Value,
    description: Option<&str>,
    properties: &[(&str, Option<&str>)],
) {
    assert_eq!(
        schema.get("description"),
        description.map(Value::from).as_ref(),
        "{schema}"
    );
    for (name, description) in properties {
        assert_eq!(
            schema["properties"][name].get("description"),
            description.map(Value::from).as_ref(),
            "{name} in {schema}"
        );
    }
}

/// The catalog entry of a stream; panics when it was not discovered.
pub fn catalog_entry<'a>(catalog: &'a Value, tap_stream_id: &str) -> &'a Value {
    catalog["streams"]
        .as_array()
        .expect("a catalog has streams")
        .iter()
        .find(|s| s["tap_stream_id"] == tap_stream_id)
        .unwrap_or_else(|| panic!("{tap_stream_id} not discovered"))
}

/// An entry's metadata at a breadcrumb; panics when there is none.
pub fn catalog_metadata<'a>(entry: &'a Value, breadcrumb: &[&str]) -> &'a Value {
    &entry["metadata"]
        .as_array()
        .expect("an entry has metadata")
        .iter()
        .find(|m| m["breadcrumb"] == json!(breadcrumb))
        .unwrap_or_else(|| panic!("no metadata at {breadcrumb:?}"))["metadata"]
}

/// An entry's table-level metadata (breadcrumb `[]`).
pub fn table_metadata(entry: &Value) -> &Value {
    catalog_metadata(entry, &[])
}

/// An entry's metadata of `column` (breadcrumb `["properties", column]`).
pub fn column_metadata<'a>(entry: &'a Value, column: &str) -> &'a Value {
    catalog_metadata(entry, &["properties", column])
}

/// Runs a tap until `stop_at` matches one of its messages, then kills it (SIGKILL) and returns
/// what it printed up to that message: what a target would have received before the crash.
pub fn run_until_killed(mut tap: Command, stop_at: impl Fn(&Message) -> bool) -> Vec<Message> {
    let mut child = tap
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot start the tap");
    // Kept open until the kill: a closed pipe would make the tap stop quietly on its own.
    let mut reader = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut messages = Vec::new();
    for line in reader.by_ref().lines() {
        let line = line.expect("the tap's output is UTF-8");
        let ParsedLine::Message(message) = Message::parse(&line, 0).expect("a Singer message")
        else {
            continue;
        };
        let stop = stop_at(&message);
        messages.push(message);
        if stop {
            break;
        }
    }
    child.kill().expect("cannot kill the tap");
    let status = child.wait().expect("cannot wait for the tap");
    drop(reader);
    assert!(!status.success(), "the tap finished before it was killed");
    messages
}
