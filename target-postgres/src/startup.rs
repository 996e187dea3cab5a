//! Before the first message: connect, check ownership and permissions, create the schema and the
//! target's own tables, read the schema's tables, and start the loader thread.
//!
//! ```text
//!  startup ─▶ Target (main thread) ──Command──▶ LoaderThread (owns the connection)
//!                                  bounded channel
//! ```

use crossbeam_channel::bounded;
use tracing::info;

use crate::Error;
use crate::check::check_permissions;
use crate::config::{InvalidRecords, TargetConfig};
use crate::connection::connect;
use crate::load::{Loader, LoaderConfig, LoaderThread, retry_creation_race, state_table_ddl};
use crate::naming::{canonical_name, quote};
use crate::reject::{REJECTED_TABLE, rejected_table_ddl};
use crate::target::Target;
use crate::warehouse::read_warehouse;

/// Commands in flight between the threads: enough to overlap parsing with loading, few enough to
/// bound memory to a few batches.
const CHANNEL_CAPACITY: usize = 2;

/// Prepares the warehouse and starts the loader: the target, ready for the first message, and the
/// thread it sends its work to.
pub fn start(config: TargetConfig) -> Result<(Target, LoaderThread), Error> {
    let schema = config.schema();
    let mut client = connect(&config.connection)?;
    let report = check_permissions(&mut client, &schema)?;
    if !report.problems.is_empty() {
        return Err(Error::Permissions {
            schema,
            problems: report.problems,
        });
    }
    let state_table = config.state_table.as_deref().map(canonical_name);
    // `create schema if not exists` needs CREATE on the database even when the schema exists,
    // and a user owning (or a member of the owner of) an existing schema may lack it.
    let mut setup = Vec::new();
    if !report.schema_exists {
        setup.push(format!("create schema if not exists {}", quote(&schema)));
    }
    if config.invalid_records == InvalidRecords::Reject {
        setup.push(rejected_table_ddl(&schema));
    }
    if let Some(table) = &state_table {
        setup.push(state_table_ddl(&schema, table));
    }
    retry_creation_race(&schema, || client.batch_execute(&setup.join(";\n"))).map_err(
        |source| Error::Database {
            what: format!("creating schema {}", quote(&schema)),
            source: source.into(),
        },
    )?;
    let reserved = [Some(REJECTED_TABLE.to_owned()), state_table.clone()]
        .into_iter()
        .flatten()
        .collect();
    let warehouse =
        read_warehouse(&mut client, &schema, reserved).map_err(|source| Error::Database {
            what: "reading the warehouse tables".into(),
            source: source.into(),
        })?;
    info!(
        warehouse = %config.connection,
        schema,
        tables = warehouse.tables.len(),
        "connected"
    );
    let loader_config = LoaderConfig {
        schema,
        hard_delete: config.hard_delete,
        state_table,
        connection: config.connection.clone(),
        max_retries: config.max_retries,
    };
    let (sender, receiver) = bounded(CHANNEL_CAPACITY);
    let target = Target::new(config, warehouse, sender);
    let loader = Loader::new(client, loader_config, target.buffer_pool()).spawn(receiver)?;
    Ok((target, loader))
}
