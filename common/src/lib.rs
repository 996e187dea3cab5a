//! The Singer model shared by `tap-postgres`, `tap-mysql` and `target-postgres`.
//!
//! A tap prints one JSON [`Message`] per line on stdout: a `SCHEMA` describes a stream, `RECORD`s
//! carry its rows, `STATE` carries the bookmarks a later run resumes from, and `ACTIVATE_VERSION`
//! tells the target that a full-table copy is complete. What to read is chosen in a [`Catalog`]
//! (discovered by the tap, then edited by the user or by config [`SelectPattern`]s); where to resume
//! is kept in [`State`]. The target reads the same messages on stdin.
//!
//! Numbers are kept exactly as written: `serde_json` runs with `arbitrary_precision`, so a
//! `numeric(40,20)` value passes through taps, files and the target digit for digit.

pub mod catalog;
pub mod cli;
pub mod config;
pub mod json_schema;
pub mod json_text;
pub mod logging;
pub mod message;
pub mod metrics;
#[cfg(feature = "mysql")]
pub mod mysql;
pub mod output;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod progress;
pub mod retry;
pub mod spelling;
pub mod state;
pub mod sync;
pub mod tap;
pub mod transport;

pub use catalog::{
    Catalog, CatalogEntry, Metadata, ReplicationMethod, SelectPattern, StreamSelection,
};
pub use cli::{About, AboutFormat, Setting, TapArgs, TapCommand};
pub use config::{ConnectionConfig, Secret, SshTunnel, TapConfig};
pub use message::{Message, MessageReader};
pub use output::MessageWriter;
pub use state::{Bookmark, State};
