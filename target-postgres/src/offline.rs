//! The target's input path without a warehouse: every line read, parsed, validated, de-nested
//! and encoded into batches as a load would, the batches then dropped. What the fuzz target
//! (`just fuzz`) and its corpus replay (`cargo test`) run: no input may panic, hang or take
//! memory without bound.

use common::config::ConfigFile;
use crossbeam_channel::bounded;
use serde_json::json;

use crate::Error;
use crate::config::TargetConfig;
use crate::input::read_input;
use crate::reject::REJECTED_TABLE;
use crate::target::Target;
use crate::warehouse::Warehouse;

/// The longest line read offline: small, so hostile lengths are met quickly.
const MAX_LINE_BYTES: u64 = 1 << 20;

/// Reads `input` as the target would, with `invalid_records` `fail` or `reject`; the error is
/// the one a load would stop with.
pub fn read_offline(input: &[u8], reject_invalid: bool) -> Result<(), Error> {
    let config = TargetConfig::from_json(json!({
        "host": "localhost", "user": "loader", "dbname": "warehouse",
        "default_target_schema": "offline", "batch_size_rows": 64,
        "invalid_records": if reject_invalid { "reject" } else { "fail" },
    }))
    .expect("the offline config is valid");
    let warehouse = Warehouse::new(&config.schema(), vec![REJECTED_TABLE.into()]);
    let (sender, commands) = bounded(2);
    std::thread::scope(|scope| {
        // Stands in for the loader: takes each command and drops it.
        scope.spawn(move || commands.iter().for_each(drop));
        let mut target = Target::new(config, warehouse, sender);
        let read = read_input(input, MAX_LINE_BYTES, &mut target);
        let finished = target.finish();
        read.and(finished)
    })
}
