//! target-postgres's input path on arbitrary bytes: it may refuse them, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    // Either mode may refuse the input; neither may panic.
    let _refused = target_postgres::offline::read_offline(input, false);
    let _refused = target_postgres::offline::read_offline(input, true);
});
