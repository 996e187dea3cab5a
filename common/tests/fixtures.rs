//! Round trips of what the Python Singer taps really print: singer-io tap-mysql and tap-postgres,
//! and MeltanoLabs tap-postgres (Meltano SDK). Catalogs, messages and states must read into our
//! types and write back without losing a key or a digit.

use std::path::{Path, PathBuf};

use common::catalog::ReplicationMethod;
use common::message::MessageReader;
use common::{Catalog, Message, MessageWriter, SelectPattern, State};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn read_json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

const CATALOGS: [&str; 3] = [
    "singer_io_tap_mysql_catalog.json",
    "singer_io_tap_postgres_catalog.json",
    "meltanolabs_tap_postgres_catalog.json",
];

const MESSAGES: [&str; 3] = [
    "singer_io_tap_mysql_messages.jsonl",
    "singer_io_tap_postgres_messages.jsonl",
    "meltanolabs_tap_postgres_messages.jsonl",
];

#[test]
fn catalogs_round_trip_without_losing_a_key() {
    for name in CATALOGS {
        let catalog = Catalog::load(&fixture(name)).unwrap();
        assert!(!catalog.streams.is_empty(), "{name}");
        let written = serde_json::to_value(&catalog).unwrap();
        assert_eq!(written, read_json(name), "{name} changed in a round trip");
    }
}

#[test]
fn singer_io_tap_mysql_selection_resolves() {
    let catalog = Catalog::load(&fixture(CATALOGS[0])).unwrap();
    let selected = catalog.selected_streams(None).unwrap();
    let orders = selected.iter().find(|s| s.stream == "orders").unwrap();
    assert_eq!(orders.tap_stream_id, "shop-orders");
    assert_eq!(orders.namespace.as_deref(), Some("shop"));
    assert_eq!(orders.key_properties, ["id"]);
    assert_eq!(orders.replication_method, ReplicationMethod::FullTable);
    assert_eq!(
        orders.columns.len(),
        catalog.entry("shop-orders").unwrap().columns().count()
    );
    assert!(orders.columns.contains(&"total".to_owned()));
    let view = selected
        .iter()
        .find(|s| s.stream == "order_totals")
        .unwrap();
    assert!(view.is_view);
    assert!(view.key_properties.is_empty());
    // The schema the SCHEMA message carries has exactly the selected columns.
    let properties = view.schema["properties"].as_object().unwrap();
    assert_eq!(
        properties.keys().collect::<Vec<_>>(),
        view.columns.iter().collect::<Vec<_>>()
    );
}

#[test]
fn singer_io_tap_postgres_catalog_selects_by_config_patterns() {
    let mut catalog = Catalog::load(&fixture(CATALOGS[1])).unwrap();
    assert!(
        catalog.selected_streams(None).unwrap().is_empty(),
        "nothing is selected by default"
    );
    let patterns: Vec<SelectPattern> = ["public.customers", "!public.customers.email"]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    catalog.apply_select_patterns(&patterns).unwrap();
    let selected = catalog.selected_streams(None).unwrap();
    assert_eq!(selected.len(), 1);
    let customers = &selected[0];
    assert_eq!(customers.tap_stream_id, "shop-public-customers");
    assert_eq!(customers.namespace.as_deref(), Some("public"));
    assert!(customers.columns.contains(&"id".to_owned()));
    assert!(customers.columns.contains(&"name".to_owned()));
    assert!(!customers.columns.contains(&"email".to_owned()));
    assert_eq!(customers.replication_method, ReplicationMethod::FullTable);
    // INCREMENTAL by default needs a replication key the catalog does not name.
    let err = catalog
        .selected_streams(Some(ReplicationMethod::Incremental))
        .unwrap_err();
    assert!(err.to_string().contains("shop-public-customers"), "{err}");
}

#[test]
fn meltano_sdk_catalog_selection_resolves() {
    let catalog = Catalog::load(&fixture(CATALOGS[2])).unwrap();
    let selected = catalog.selected_streams(None).unwrap();
    let customers = selected
        .iter()
        .find(|s| s.tap_stream_id == "public-customers")
        .unwrap();
    assert_eq!(customers.replication_method, ReplicationMethod::Incremental);
    assert_eq!(customers.replication_key.as_deref(), Some("updated_at"));
    assert_eq!(customers.key_properties, ["id"]);
    assert_eq!(customers.table_name, "customers");
    let summary = selected
        .iter()
        .find(|s| s.tap_stream_id == "public-customer_summary")
        .unwrap();
    assert_eq!(summary.replication_method, ReplicationMethod::FullTable);
    assert!(summary.is_view);
}

#[test]
fn tap_output_reads_and_writes_back_unchanged() {
    for name in MESSAGES {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        let messages: Vec<Message> = MessageReader::new(text.as_bytes())
            .map(|m| m.unwrap_or_else(|err| panic!("{name}: {err}")).1)
            .collect();
        let originals: Vec<Value> = text
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            // Only BATCH is of a type we do not read; it is skipped, not failed.
            .filter(|value| value["type"] != "BATCH")
            .collect();
        assert_eq!(messages.len(), originals.len(), "{name}");

        let mut writer = MessageWriter::new(Vec::new());
        for message in &messages {
            writer.write(message).unwrap();
        }
        let written = String::from_utf8(writer.into_inner()).unwrap();
        for (line, original) in written.lines().zip(&originals) {
            let rewritten: Value = serde_json::from_str(line).unwrap();
            // Fields we do not model (none today) would differ here.
            assert_eq!(&rewritten, original, "{name}");
        }
    }
}

#[test]
fn decimals_survive_digit_for_digit() {
    let text = std::fs::read_to_string(fixture(MESSAGES[0])).unwrap();
    assert!(text.contains("12345678901234567890.123456789"));
    let mut writer = MessageWriter::new(Vec::new());
    for message in MessageReader::new(text.as_bytes()) {
        writer.write(&message.unwrap().1).unwrap();
    }
    let written = String::from_utf8(writer.into_inner()).unwrap();
    assert!(
        written.contains(":12345678901234567890.123456789"),
        "{written}"
    );
}

#[test]
fn every_state_keeps_unknown_keys() {
    let mut states = 0;
    for name in MESSAGES {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        for message in MessageReader::new(text.as_bytes()) {
            let Message::State(state) = message.unwrap().1 else {
                continue;
            };
            states += 1;
            let parsed = State::from_value(state.value.clone()).unwrap();
            assert_eq!(
                serde_json::to_value(&parsed).unwrap(),
                normalised(&state.value),
                "{name}"
            );
        }
    }
    assert!(states >= 6, "the fixtures hold {states} states");
}

/// Our STATE always carries `currently_syncing` (null when idle) and `bookmarks`, as singer-io
/// taps do; the SDK omits `currently_syncing`. Everything else must be identical.
fn normalised(value: &Value) -> Value {
    let mut value = value.clone();
    let object = value.as_object_mut().unwrap();
    object.entry("currently_syncing").or_insert(Value::Null);
    object
        .entry("bookmarks")
        .or_insert(Value::Object(Default::default()));
    value
}

#[test]
fn typed_bookmarks_read_from_each_tool() {
    let text = std::fs::read_to_string(fixture(MESSAGES[1])).unwrap();
    let last_state = MessageReader::new(text.as_bytes())
        .filter_map(|m| match m.unwrap().1 {
            Message::State(state) => Some(state.value),
            _ => None,
        })
        .last()
        .unwrap();
    let state = State::from_value(last_state).unwrap();
    let customers = state.bookmark("shop-public-customers").unwrap();
    assert_eq!(customers.lsn, Some(24_023_128));
    assert_eq!(
        customers.last_replication_method.as_deref(),
        Some("LOG_BASED")
    );
    assert_eq!(customers.other["xmin"], Value::Null);

    let text = std::fs::read_to_string(fixture(MESSAGES[0])).unwrap();
    let first_state = MessageReader::new(text.as_bytes())
        .find_map(|m| match m.unwrap().1 {
            Message::State(state) => Some(state.value),
            _ => None,
        })
        .unwrap();
    let state = State::from_value(first_state).unwrap();
    let position = state
        .bookmark("shop-customers")
        .unwrap()
        .log_position()
        .unwrap();
    assert_eq!(position.to_string(), "mysql-bin.000042:1534");
}
