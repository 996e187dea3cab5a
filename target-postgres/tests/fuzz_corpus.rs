//! The fuzz corpus (`fuzz/corpus/target_input`: seeds, reproducers of past defects, and what
//! `just fuzz` kept) replayed through the target's input path on every `cargo test`: no input may
//! panic, and the inputs that hold a known defect stop with the error that names it.

use std::path::PathBuf;

use target_postgres::offline::read_offline;

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/target_input");
    let mut inputs: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a corpus entry").path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("a corpus file"))
        })
        .collect();
    inputs.sort();
    inputs
}

fn error_of(input: &[u8], reject_invalid: bool) -> Option<String> {
    read_offline(input, reject_invalid)
        .err()
        .map(|error| common::cli::error_chain(&error))
}

#[test]
fn every_corpus_input_is_read_or_refused_without_a_panic() {
    let inputs = corpus();
    assert!(inputs.len() >= 8, "the seeds are there: {}", inputs.len());
    for (name, input) in &inputs {
        for reject_invalid in [false, true] {
            let outcome = std::panic::catch_unwind(|| error_of(input, reject_invalid));
            assert!(
                outcome.is_ok(),
                "{name} (reject: {reject_invalid}) panicked"
            );
        }
    }
}

#[test]
fn the_seeds_end_as_a_load_would() {
    let inputs = corpus();
    let input = |name: &str| &inputs.iter().find(|(n, _)| n == name).unwrap().1;
    assert_eq!(error_of(input("valid_stream"), false), None);
    let expectations = [
        ("bad_values", "line 2: stream orders: property name"),
        ("lone_surrogate", "line 2"),
        ("too_many_columns", "1600"),
        (
            "record_before_schema",
            "line 1: RECORD for stream orders before any SCHEMA",
        ),
        ("malformed", "line 2: malformed JSON"),
        ("nul_byte", "NUL"),
    ];
    for (name, wanted) in expectations {
        let error = error_of(input(name), false).unwrap_or_else(|| panic!("{name} was accepted"));
        assert!(error.contains(wanted), "{name}: {error}");
    }
    // Rejected, not fatal: bad values go to _sdc_rejected and the load goes on.
    assert_eq!(error_of(input("bad_values"), true), None);
}
