//! The loader thread: the only owner of the warehouse connection.
//!
//! ```text
//!  stdin ─▶ main thread: parse, validate, de-nest, encode COPY rows ──Command──▶ loader thread:
//!           (per-stream buffers)                          bounded channel    COPY, merge, commit,
//!                                                                            then print STATE
//! ```
//!
//! Commands run in the order they were sent, each in its own transaction, so a STATE sent after a
//! batch is printed only once that batch is committed. A batch goes straight into its tables with
//! COPY when nothing in them can conflict (a table this run created, or one that was empty);
//! otherwise it is copied into a staging table and merged: an upsert on the key that keeps the
//! newest row per key (`_sdc_sequence`), then the child rows of every upserted parent are
//! replaced; a batch with records that lack properties adds the steps `partial` describes, so
//! that an absent property is left unchanged. Staging tables are unlogged tables in the target's
//! own schema, created and dropped inside the merge's transaction: no other session ever sees
//! them, and loading needs no right beyond the schema the target owns (hardened databases revoke
//! `TEMP` from `PUBLIC`). If a straight COPY meets an existing key after all, the transaction is
//! rolled back and the batch merged instead.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{self, BufWriter, Stdout, Write};
use std::thread::JoinHandle;
use std::time::Instant;

use common::MessageWriter;
use common::config::ConnectionConfig;
use crossbeam_channel::Receiver;
use postgres::error::SqlState;
use postgres::{Client, Transaction};
use serde_json::Value;
use tracing::{debug, info};

use crate::Error;
use crate::batch::{BufferPool, TableBuffer, Versions};
use crate::copy_format::CopyFormat;
use crate::naming::{qualified, quote, quoted_list};
use crate::partial::{Absent, AbsentProperty, absent_columns};
use crate::retry;

/// What the loader is asked to do.
#[derive(Debug)]
pub enum Command {
    /// DDL bringing a stream's tables to its latest SCHEMA, in one transaction.
    Execute {
        stream: String,
        statements: Vec<String>,
    },
    Load(Load),
    ActivateVersion(ActivateVersion),
    /// A STATE whose data is all committed already.
    EmitState(Value),
}

/// One batch of one stream: every table's rows, loaded in one transaction.
#[derive(Debug)]
pub struct Load {
    pub stream: String,
    /// The root table first.
    pub tables: Vec<TableLoad>,
    /// The records that lack some of the stream's properties, if any (see `partial`).
    pub absent: Option<Absent>,
    pub has_key: bool,
    pub has_deletes: bool,
    /// Some key may come twice in the batch (see `batch::StreamBatch::repeats_a_key`).
    pub repeats_a_key: bool,
    pub versions: Versions,
    /// Printed (and stored in the state table) once this batch is committed.
    pub state: Option<Value>,
}

/// The rows for one table.
#[derive(Debug)]
pub struct TableLoad {
    pub table: String,
    pub columns: Vec<String>,
    /// Columns PostgreSQL fills with their default (the load's time), not in `columns`.
    pub filled_by_database: Vec<String>,
    pub primary_key: Vec<String>,
    /// Columns linking a row to its root record (see `layout::TableLayout::root_link`).
    pub root_link: Vec<String>,
    /// The columns that tell whether an existing row changed, and whether each is compared as
    /// text (see `layout::TableLayout::compared_columns`).
    pub compared: Vec<(String, bool)>,
    pub format: CopyFormat,
    pub created_now: bool,
    pub buffer: TableBuffer,
}

/// Rows of versions older than `version` are deleted or marked deleted.
#[derive(Debug)]
pub struct ActivateVersion {
    pub stream: String,
    /// The root table first.
    pub tables: Vec<String>,
    pub version: u64,
    /// The root table was created by this run: it holds only rows this run loaded.
    pub created_now: bool,
}

/// What the loader needs from the config.
#[derive(Debug, Clone)]
pub struct LoaderConfig {
    pub schema: String,
    pub hard_delete: bool,
    pub state_table: Option<String>,
    /// To open a new session after a transient failure.
    pub connection: ConnectionConfig,
    /// How many times a command is replayed after transient failures.
    pub max_retries: u32,
}

/// Rows loaded per table, for the run's summary.
pub type LoadSummary = BTreeMap<String, u64>;

/// The loader: a connection, the config, and what it has learnt about the tables.
pub struct Loader {
    client: Client,
    config: LoaderConfig,
    /// Stdout, not locked: the writer moves to the loader thread.
    out: MessageWriter<BufWriter<Stdout>>,
    /// Root tables a batch may be copied into directly.
    direct: HashMap<String, bool>,
    /// This session's backend, in staging table names, so concurrent loaders never collide.
    session: Option<i32>,
    summary: LoadSummary,
    /// Where loaded buffers go back to the main thread.
    pool: BufferPool,
    /// Table versions loaded into each root table by this run.
    loaded_versions: HashMap<String, Versions>,
}

impl fmt::Debug for Loader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Loader")
            .field("config", &self.config)
            .field("direct", &self.direct)
            .finish_non_exhaustive()
    }
}

impl Loader {
    pub fn new(client: Client, config: LoaderConfig, pool: BufferPool) -> Self {
        Self {
            client,
            config,
            out: MessageWriter::new(BufWriter::with_capacity(64 * 1024, io::stdout())),
            direct: HashMap::new(),
            session: None,
            summary: LoadSummary::new(),
            pool,
            loaded_versions: HashMap::new(),
        }
    }

    /// Runs the loader on a thread of its own, taking `commands` until their sender hangs up.
    pub fn spawn(self, commands: Receiver<Command>) -> Result<LoaderThread, Error> {
        std::thread::Builder::new()
            .name("loader".into())
            .spawn(move || self.run(commands))
            .map(LoaderThread)
            .map_err(Error::LoaderSpawn)
    }

    /// Runs commands until the sender hangs up; stops at the first failure that is not transient
    /// or that outlasts the retries.
    fn run(mut self, commands: Receiver<Command>) -> Result<LoadSummary, Error> {
        for command in commands {
            self.apply_with_retries(&command)?;
            self.done(command)?;
        }
        self.out.flush()?;
        Ok(self.summary)
    }

    /// Applies `command` in the warehouse; after a transient failure (its transaction rolled
    /// back), opens a new session and applies it again, with a growing pause between attempts.
    /// Every command is one transaction that can be replayed: DDL with `if not exists`, a batch
    /// that is merged by key (or copied into a table known to hold none of its keys), an
    /// activation, a state row.
    fn apply_with_retries(&mut self, command: &Command) -> Result<(), Error> {
        let max_retries = self.config.max_retries;
        common::retry::with_retries(
            self,
            max_retries,
            "transient failure of the warehouse: reconnecting, then the same transaction again",
            |error| retry::is_transient(error) && may_replay(command, error),
            |loader| loader.apply(command),
            Self::reconnect,
        )
    }

    /// A new session in place of one that was lost.
    fn reconnect(&mut self) -> Result<(), Error> {
        self.client = crate::connection::connect(&self.config.connection)?;
        // Staging tables are named after the session.
        self.session = None;
        info!("reconnected to the warehouse");
        Ok(())
    }

    /// The warehouse part of a command: one transaction.
    fn apply(&mut self, command: &Command) -> Result<(), Error> {
        match command {
            Command::Execute { stream, statements } => self.execute(stream, statements),
            Command::Load(load) => self.load(load),
            Command::ActivateVersion(activate) => self.activate_version(activate),
            Command::EmitState(state) => match self.config.state_table.is_some() {
                true => {
                    let mut transaction = self.client.transaction().map_err(db("begin"))?;
                    save_state(&mut transaction, &self.config, state)?;
                    transaction
                        .commit()
                        .map_err(db("commit of the state table"))
                }
                false => Ok(()),
            },
        }
    }

    /// What follows a command's commit: the summary, the STATE it releases, its buffers back to
    /// the pool.
    fn done(&mut self, command: Command) -> Result<(), Error> {
        match command {
            Command::Load(load) => {
                let root = &load.tables[0];
                for table in &load.tables {
                    *self.summary.entry(table.table.clone()).or_default() += table.buffer.rows;
                }
                self.loaded_versions
                    .entry(root.table.clone())
                    .or_default()
                    .merge(load.versions);
                if let Some(state) = &load.state {
                    self.out.write_bare_state(state)?;
                }
                for table in load.tables {
                    self.pool.put(table.buffer);
                }
            }
            Command::EmitState(state) => self.out.write_bare_state(&state)?,
            Command::Execute { .. } | Command::ActivateVersion(_) => {}
        }
        Ok(())
    }

    fn execute(&mut self, stream: &str, statements: &[String]) -> Result<(), Error> {
        retry_creation_race(stream, || {
            let mut transaction = self.client.transaction()?;
            for statement in statements {
                debug!(stream, statement, "ddl");
                transaction.batch_execute(statement)?;
            }
            transaction.commit()
        })
        .map_err(|source| Error::Ddl {
            stream: stream.to_owned(),
            source: source.into(),
        })
    }

    fn load(&mut self, load: &Load) -> Result<(), Error> {
        let started = Instant::now();
        let root = &load.tables[0];
        let direct = !load.has_key || (!load.has_deletes && self.may_copy_directly(root)?);
        let mode = if direct {
            match self.load_directly(load) {
                Err(error) if load.has_key && error.is_unique_violation() => {
                    debug!(stream = load.stream, "existing keys met: merging instead");
                    self.direct.insert(root.table.clone(), false);
                    self.merge(load)?;
                    "merge"
                }
                result => {
                    result?;
                    "copy"
                }
            }
        } else {
            self.merge(load)?;
            "merge"
        };
        debug!(
            stream = load.stream,
            rows = root.buffer.rows,
            mode,
            format = ?root.format,
            ms = started.elapsed().as_millis() as u64,
            "batch committed"
        );
        Ok(())
    }

    /// Whether a root table can take rows without a merge: created by this run, or empty.
    fn may_copy_directly(&mut self, root: &TableLoad) -> Result<bool, Error> {
        if let Some(&direct) = self.direct.get(&root.table) {
            return Ok(direct);
        }
        let direct = root.created_now || {
            let sql = format!(
                "select not exists (select from {})",
                qualified(&self.config.schema, &root.table)
            );
            self.client
                .query_one(&sql, &[])
                .map_err(db("checking whether a table is empty"))?
                .get(0)
        };
        self.direct.insert(root.table.clone(), direct);
        Ok(direct)
    }

    fn load_directly(&mut self, load: &Load) -> Result<(), Error> {
        let mut transaction = self.client.transaction().map_err(db("begin"))?;
        for table in &load.tables {
            let target = qualified(&self.config.schema, &table.table);
            copy_rows(&mut transaction, &load.stream, &target, table.into())?;
        }
        if let Some(state) = &load.state {
            save_state(&mut transaction, &self.config, state)?;
        }
        transaction.commit().map_err(db("commit"))
    }

    /// Merges a batch; one whose keys looked distinct to the target but are equal to PostgreSQL
    /// (`1.0` and `1` in a `numeric` key) is merged again keeping the newest row of each key.
    fn merge(&mut self, load: &Load) -> Result<(), Error> {
        let keep_newest = load.repeats_a_key || load.absent.is_some();
        match self.load_merging(load, keep_newest) {
            Err(error) if !keep_newest && error.is_repeated_key() => {
                debug!(
                    stream = load.stream,
                    "a key came twice: keeping the newest of each"
                );
                self.load_merging(load, true)
            }
            result => result,
        }
    }

    fn load_merging(&mut self, load: &Load, keep_newest: bool) -> Result<(), Error> {
        let schema = self.config.schema.clone();
        let session = match self.session {
            Some(session) => session,
            None => {
                let row = self
                    .client
                    .query_one("select pg_backend_pid()", &[])
                    .map_err(db("reading the session's id"))?;
                *self.session.insert(row.get(0))
            }
        };
        let mut staging: Vec<String> = (0..load.tables.len())
            .map(|index| staging_table(&schema, session, &index.to_string()))
            .collect();
        let mut transaction = self.client.transaction().map_err(db("begin"))?;
        let create_staging = |transaction: &mut Transaction<'_>, sql: String| {
            transaction
                .batch_execute(&sql)
                .map_err(|source| Error::Database {
                    what: format!("stream {}: creating a staging table", load.stream),
                    source: source.into(),
                })
        };
        for (table, staging) in load.tables.iter().zip(&staging) {
            let sql = format!(
                "create unlogged table {staging} (like {target} including defaults)",
                target = qualified(&schema, &table.table),
            );
            create_staging(&mut transaction, sql)?;
            copy_rows(&mut transaction, &load.stream, staging, table.into())?;
        }
        if let Some(absent) = &load.absent {
            // Last: `merge_statements` finds it there.
            let table = staging_table(&schema, session, "absent");
            let sql =
                format!("create unlogged table {table} (_sdc_sequence bigint, absent integer[])");
            create_staging(&mut transaction, sql)?;
            let rows = Rows {
                table: "(absent properties)",
                columns: &absent_columns(),
                format: CopyFormat::Text,
                buffer: &absent.rows,
            };
            copy_rows(&mut transaction, &load.stream, &table, rows)?;
            staging.push(table);
        }
        let merging = |what: &str| {
            let what = format!("merging stream {} ({what})", load.stream);
            move |source: postgres::Error| Error::Database {
                what,
                source: source.into(),
            }
        };
        let statements = merge_statements(
            &schema,
            load,
            &staging,
            self.config.hard_delete,
            keep_newest,
        )
        .into_iter()
        .chain(staging.iter().map(|table| format!("drop table {table}")));
        for statement in statements {
            debug!(stream = load.stream, statement, "merge");
            transaction
                .batch_execute(&statement)
                .map_err(merging(&statement))?;
        }
        if let Some(state) = &load.state {
            save_state(&mut transaction, &self.config, state)?;
        }
        transaction.commit().map_err(db("commit"))
    }

    fn activate_version(&mut self, activate: &ActivateVersion) -> Result<(), Error> {
        let only_this_version = activate.created_now
            && activate.tables.first().is_none_or(|root| {
                self.loaded_versions
                    .get(root)
                    .is_none_or(|versions| versions.only(activate.version))
            });
        if only_this_version {
            // Nothing older can be there: spare the scan of every row.
            debug!(
                stream = activate.stream,
                version = activate.version,
                "a table of this run holding only this version: nothing to remove"
            );
            return Ok(());
        }
        let mut transaction = self.client.transaction().map_err(db("begin"))?;
        let mut removed = 0;
        for table in &activate.tables {
            let target = qualified(&self.config.schema, table);
            let version = activate.version as i64;
            let sql = if self.config.hard_delete {
                format!("delete from {target} where _sdc_table_version < $1")
            } else {
                format!(
                    "update {target} set _sdc_deleted_at = now() \
                     where _sdc_table_version < $1 and _sdc_deleted_at is null"
                )
            };
            removed += transaction
                .execute(&sql, &[&version])
                .map_err(db("removing rows of older versions"))?;
        }
        transaction.commit().map_err(db("commit"))?;
        let what = if self.config.hard_delete {
            "rows of older versions deleted"
        } else {
            "rows of older versions marked deleted (_sdc_deleted_at)"
        };
        info!(
            stream = activate.stream,
            version = activate.version,
            rows = removed,
            "{what}"
        );
        Ok(())
    }
}

/// The loader's thread.
#[derive(Debug)]
pub struct LoaderThread(JoinHandle<Result<LoadSummary, Error>>);

impl LoaderThread {
    /// Waits until the loader has done everything it was sent (the sender must be gone) and
    /// returns what it loaded, or why it stopped.
    pub fn wait(self) -> Result<LoadSummary, Error> {
        self.0.join().unwrap_or(Err(Error::LoaderLost))
    }
}

/// Runs DDL (written with `if not exists`) again when another session created the same schema,
/// table or column at the same moment: PostgreSQL's `if not exists` is not race-free (both
/// sessions pass the check, one fails on the catalog's unique index), and orchestrators do start
/// jobs together. The retry sees the other's committed work and skips it.
pub fn retry_creation_race<T>(
    what: &str,
    mut ddl: impl FnMut() -> Result<T, postgres::Error>,
) -> Result<T, postgres::Error> {
    const RACES: [SqlState; 5] = [
        SqlState::UNIQUE_VIOLATION,
        SqlState::DUPLICATE_SCHEMA,
        SqlState::DUPLICATE_TABLE,
        SqlState::DUPLICATE_OBJECT,
        SqlState::DUPLICATE_COLUMN,
    ];
    let mut attempt = 0;
    loop {
        match ddl() {
            Err(err) if attempt < 3 && err.code().is_some_and(|code| RACES.contains(code)) => {
                attempt += 1;
                debug!(
                    what,
                    attempt, "another session created the same objects: again"
                );
                std::thread::sleep(std::time::Duration::from_millis(50 * attempt));
            }
            other => return other,
        }
    }
}

/// A staging table of one session: `index` of a batch's tables, or `absent`.
fn staging_table(schema: &str, session: i32, index: &str) -> String {
    qualified(schema, &format!("_sdc_staging_{session}_{index}"))
}

/// The statements that merge a staged batch (`staging`: one table per table of the batch, then
/// the `absent` rows of a batch with partial records) into its tables. `keep_newest`: the batch
/// may hold a key more than once, and its newest record (`_sdc_sequence`) wins; without it,
/// every staged row goes in as it is (no sort).
fn merge_statements(
    schema: &str,
    load: &Load,
    staging: &[String],
    hard_delete: bool,
    keep_newest: bool,
) -> Vec<String> {
    let root = &load.tables[0];
    let target = qualified(schema, &root.table);
    let staging_of_children = &staging[1..load.tables.len()];
    let partial = load.absent.as_ref().map(|absent| Partial {
        absent,
        staging: &staging[load.tables.len()],
    });
    let staging = &staging[0];
    let keys = quoted_list(&root.primary_key);
    let columns = quoted_list(&root.columns);
    let mut statements: Vec<String> = partial
        .iter()
        .flat_map(|partial| partial.folds(root, staging, staging_of_children))
        .collect();
    let updates: Vec<String> = root
        .columns
        .iter()
        .chain(&root.filled_by_database)
        .filter(|c| !root.primary_key.contains(c))
        .map(|c| match partial.as_ref().and_then(|p| p.lacking_column(c)) {
            // Absent means unchanged: the existing row's value (see `partial`).
            Some(lacking) => format!(
                "{0} = case when excluded._sdc_sequence in {lacking} then t.{0} else excluded.{0} end",
                quote(c)
            ),
            None => format!("{0} = excluded.{0}", quote(c)),
        })
        .collect();
    let rows = if keep_newest {
        format!(
            "select distinct on ({keys}) {columns} from {staging} order by {keys}, _sdc_sequence desc"
        )
    } else {
        format!("select {columns} from {staging}")
    };
    statements.push(format!(
        "insert into {target} as t ({columns}) {rows} on conflict ({keys}) do update set {}{}",
        updates.join(", "),
        unless_unchanged(root, partial.is_some() || load.tables.len() > 1)
    ));
    if hard_delete && load.has_deletes {
        statements.push(format!(
            "delete from {target} t using (select distinct {keys} from {staging}) s \
             where {} and t._sdc_deleted_at is not null",
            join_condition("t", &root.primary_key, "s", &root.primary_key)
        ));
    }
    for (position, (child, child_staging)) in
        load.tables[1..].iter().zip(staging_of_children).enumerate()
    {
        let child_target = qualified(schema, &child.table);
        let child_columns = quoted_list(&child.columns);
        let link = join_condition("c", &child.root_link, "s", &root.primary_key);
        // A key whose records all lack the child's property keeps its child rows.
        let parents = match partial.as_ref().and_then(|p| p.lacking_table(position + 1)) {
            Some(lacking) => format!(
                "(select distinct {} from {staging} s left join {lacking} l \
                 on l._sdc_sequence = s._sdc_sequence where l._sdc_sequence is null)",
                prefixed("s", &root.primary_key)
            ),
            None => format!("(select distinct {keys} from {staging})"),
        };
        statements.push(format!(
            "delete from {child_target} c using {parents} s where {link}"
        ));
        // Only the rows of the record that won its key (and was not hard-deleted).
        let winner = join_condition("c", &child.root_link, "t", &root.primary_key);
        statements.push(format!(
            "insert into {child_target} ({child_columns}) select {} from {child_staging} c \
             where exists (select from {target} t where {winner} and t._sdc_sequence = c._sdc_sequence)",
            prefixed("c", &child.columns)
        ));
    }
    statements
}

/// ` where (t.a, …) is distinct from (excluded.a, …)`: a row whose values the warehouse holds
/// already is left as it is, not written again (a re-sync of unchanged rows writes nothing).
/// Not for a stream with child tables (their rows are replaced, and the new ones find their
/// parent by its `_sdc_sequence`) nor for a batch with partial records: there, every row is
/// written.
fn unless_unchanged(root: &TableLoad, every_row_written: bool) -> String {
    if every_row_written || root.compared.is_empty() {
        return String::new();
    }
    let side = |table: &str| {
        root.compared
            .iter()
            .map(|(column, as_text)| {
                let cast = if *as_text { "::text" } else { "" };
                format!("{table}.{}{cast}", quote(column))
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    // `row(…)`: a single column is a row too.
    format!(
        " where row({}) is distinct from row({})",
        side("t"),
        side("excluded")
    )
}

/// The SQL of a batch with partial records (see `partial`).
struct Partial<'a> {
    absent: &'a Absent,
    /// The staging table of the `absent` rows.
    staging: &'a str,
}

impl Partial<'_> {
    /// `(select …)`: the `_sdc_sequence` of every record of the batch that lacks `property`. Used
    /// as `in (select …)`, PostgreSQL hashes it once (an uncorrelated subquery).
    fn lacking(&self, property: &AbsentProperty) -> String {
        format!(
            "(select a._sdc_sequence from {} a where {} = any(a.absent))",
            self.staging, property.index
        )
    }

    /// [`Self::lacking`] the property that fills root column `column`, if some record lacks it.
    fn lacking_column(&self, column: &str) -> Option<String> {
        let property = self
            .absent
            .properties
            .iter()
            .find(|p| p.columns.iter().any(|c| c == column))?;
        Some(self.lacking(property))
    }

    /// [`Self::lacking`] the property that fills the batch's `table`-th table, if some record
    /// lacks it.
    fn lacking_table(&self, table: usize) -> Option<String> {
        let property = self
            .absent
            .properties
            .iter()
            .find(|p| p.tables.contains(&table))?;
        Some(self.lacking(property))
    }

    /// Per property some record lacks: where the newest record of a key lacks it and an older one
    /// of the batch has it, the newest takes that one's values and child rows (which then carry
    /// the newest's `_sdc_sequence`) and no longer lacks it, as if both had been applied in order.
    fn folds(
        &self,
        root: &TableLoad,
        staging: &str,
        staging_of_children: &[String],
    ) -> Vec<String> {
        let keys = prefixed("s", &root.primary_key);
        self.absent
            .properties
            .iter()
            .map(|property| {
                let lacking = self.lacking(property);
                let mut steps = vec![
                    format!(
                        "m as (select max(s._sdc_sequence) as last, \
                         max(s._sdc_sequence) filter (where l._sdc_sequence is null) as src \
                         from {staging} s left join {lacking} l on l._sdc_sequence = s._sdc_sequence \
                         group by {keys})"
                    ),
                    "f as (select last, src from m where src < last)".to_owned(),
                ];
                if !property.columns.is_empty() {
                    let copied: Vec<String> = property
                        .columns
                        .iter()
                        .map(|c| format!("{0} = p.{0}", quote(c)))
                        .collect();
                    steps.push(format!(
                        "w as (update {staging} w set {} from f, {staging} p \
                         where w._sdc_sequence = f.last and p._sdc_sequence = f.src)",
                        copied.join(", ")
                    ));
                }
                for &table in &property.tables {
                    steps.push(format!(
                        "c{table} as (update {} c set _sdc_sequence = f.last from f \
                         where c._sdc_sequence = f.src)",
                        staging_of_children[table - 1]
                    ));
                }
                format!(
                    "with {} update {} a set absent = array_remove(a.absent, {}) from f \
                     where a._sdc_sequence = f.last",
                    steps.join(", "),
                    self.staging,
                    property.index
                )
            })
            .collect()
    }
}

/// `a."x", a."y", …`.
fn prefixed(table: &str, columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| format!("{table}.{}", quote(c)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `a."x" = b."y" and …`, pairing the two column lists.
fn join_condition(
    left: &str,
    left_columns: &[String],
    right: &str,
    right_columns: &[String],
) -> String {
    left_columns
        .iter()
        .zip(right_columns)
        .map(|(l, r)| format!("{left}.{} = {right}.{}", quote(l), quote(r)))
        .collect::<Vec<_>>()
        .join(" and ")
}

/// How much of a batch is handed to the COPY writer at a time.
const COPY_CHUNK_BYTES: usize = 1 << 16;

/// Buffered COPY rows for one table.
#[derive(Debug, Clone, Copy)]
struct Rows<'a> {
    /// For errors.
    table: &'a str,
    columns: &'a [String],
    format: CopyFormat,
    buffer: &'a TableBuffer,
}

impl<'a> From<&'a TableLoad> for Rows<'a> {
    fn from(table: &'a TableLoad) -> Self {
        Self {
            table: &table.table,
            columns: &table.columns,
            format: table.format,
            buffer: &table.buffer,
        }
    }
}

/// COPYs one table's buffered rows into `target`. A refused row is named by its input line.
fn copy_rows(
    transaction: &mut Transaction<'_>,
    stream: &str,
    target: &str,
    table: Rows<'_>,
) -> Result<(), Error> {
    if table.buffer.rows == 0 {
        return Ok(());
    }
    let sql = format!(
        "copy {target} ({}) from stdin{}",
        quoted_list(table.columns),
        table.format.options()
    );
    let copy_error = |source: postgres::Error| {
        // Only the server's own answer is about a row; a lost connection is not.
        if source.as_db_error().is_none() {
            return Error::Database {
                what: format!("stream {stream}: copying rows into table {}", table.table),
                source: source.into(),
            };
        }
        let line = source
            .as_db_error()
            .and_then(|db| db.where_())
            .and_then(copy_line)
            .and_then(|row| table.buffer.lines.get(row.checked_sub(1)?))
            .copied();
        Error::Copy {
            stream: stream.to_owned(),
            table: table.table.to_owned(),
            line,
            source: source.into(),
        }
    };
    let mut writer = transaction.copy_in(&sql).map_err(copy_error)?;
    // In pieces: the writer copies what it is given into its own buffer before sending it.
    let written = writer
        .write_all(table.format.header())
        .and_then(|()| {
            table
                .buffer
                .data
                .chunks(COPY_CHUNK_BYTES)
                .try_for_each(|chunk| writer.write_all(chunk))
        })
        .and_then(|()| writer.write_all(table.format.trailer()));
    let finished = writer.finish().map_err(copy_error)?;
    written.map_err(|source| Error::CopySend {
        stream: stream.to_owned(),
        table: table.table.to_owned(),
        source,
    })?;
    debug_assert_eq!(finished, table.buffer.rows);
    Ok(())
}

/// The row number in a COPY error's context: `COPY orders, line 3, column id: "x"`.
fn copy_line(context: &str) -> Option<usize> {
    let rest = &context[context.find(", line ")? + 7..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Stores `state` in the state table, in the caller's transaction.
fn save_state(
    transaction: &mut Transaction<'_>,
    config: &LoaderConfig,
    state: &Value,
) -> Result<(), Error> {
    let Some(table) = &config.state_table else {
        return Ok(());
    };
    let sql = format!(
        "insert into {} (id, value, updated_at) values ('state', $1::text::jsonb, now()) \
         on conflict (id) do update set value = excluded.value, updated_at = excluded.updated_at",
        qualified(&config.schema, table)
    );
    transaction
        .execute(&sql, &[&state.to_string()])
        .map_err(db("saving the state"))?;
    Ok(())
}

/// The DDL of the state table.
pub fn state_table_ddl(schema: &str, table: &str) -> String {
    format!(
        "create table if not exists {} (id text primary key, value jsonb not null, \
         updated_at timestamp with time zone not null)",
        qualified(schema, table)
    )
}

fn db(what: &'static str) -> impl Fn(postgres::Error) -> Error {
    move |source| Error::Database {
        what: what.into(),
        source: source.into(),
    }
}

/// Whether a failed `command` may be applied again. A batch copied into a table without a key
/// whose COMMIT got no answer may have been committed: loading it again would double its rows,
/// so that one is not replayed.
fn may_replay(command: &Command, error: &Error) -> bool {
    let lost_commit = matches!(error, Error::Database { what, .. } if what == "commit");
    !matches!(command, Command::Load(load) if !load.has_key && lost_commit)
}

impl Error {
    /// A COPY that met an existing key.
    fn is_unique_violation(&self) -> bool {
        matches!(self, Error::Copy { source, .. } if source.code() == Some(&SqlState::UNIQUE_VIOLATION))
    }

    /// An upsert that met one key twice ("ON CONFLICT DO UPDATE command cannot affect row a
    /// second time").
    fn is_repeated_key(&self) -> bool {
        matches!(self, Error::Database { source, .. } if source.code() == Some(&SqlState::CARDINALITY_VIOLATION))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_error_context() {
        assert_eq!(copy_line("COPY orders, line 3, column id: \"x\""), Some(3));
        assert_eq!(copy_line("COPY orders, line 12"), Some(12));
        assert_eq!(copy_line("SQL statement"), None);
    }

    #[test]
    fn merge_sql() {
        let table = |name: &str, columns: &[&str], key: &[&str], link: &[&str]| TableLoad {
            table: name.into(),
            columns: columns.iter().map(|c| c.to_string()).collect(),
            filled_by_database: Vec::new(),
            primary_key: key.iter().map(|c| c.to_string()).collect(),
            root_link: link.iter().map(|c| c.to_string()).collect(),
            compared: vec![("name".into(), false)],
            format: CopyFormat::Text,
            created_now: false,
            buffer: TableBuffer::default(),
        };
        let load = Load {
            stream: "orders".into(),
            tables: vec![
                table("orders", &["id", "name", "_sdc_sequence"], &["id"], &["id"]),
                table(
                    "orders__items",
                    &[
                        "_sdc_source_key_id",
                        "_sdc_level_0_id",
                        "sku",
                        "_sdc_sequence",
                    ],
                    &["_sdc_source_key_id", "_sdc_level_0_id"],
                    &["_sdc_source_key_id"],
                ),
            ],
            absent: None,
            has_key: true,
            has_deletes: true,
            repeats_a_key: true,
            versions: Versions::default(),
            state: None,
        };
        let staging = [
            "\"s\".\"_sdc_staging_7_0\"".to_owned(),
            "\"s\".\"_sdc_staging_7_1\"".to_owned(),
        ];
        let statements = merge_statements("s", &load, &staging, true, true);
        assert_eq!(
            statements[0],
            r#"insert into "s"."orders" as t ("id", "name", "_sdc_sequence") select distinct on ("id") "id", "name", "_sdc_sequence" from "s"."_sdc_staging_7_0" order by "id", _sdc_sequence desc on conflict ("id") do update set "name" = excluded."name", "_sdc_sequence" = excluded."_sdc_sequence""#
        );
        // Without child tables, a row whose values the warehouse holds is not written again.
        let mut root_only = Load {
            tables: vec![table(
                "orders",
                &["id", "name", "_sdc_sequence"],
                &["id"],
                &["id"],
            )],
            ..load
        };
        root_only.tables[0].compared = vec![("name".into(), false), ("amount".into(), true)];
        let upsert = &merge_statements("s", &root_only, &staging, false, false)[0];
        assert!(upsert.starts_with(
            r#"insert into "s"."orders" as t ("id", "name", "_sdc_sequence") select "id", "name", "_sdc_sequence" from "s"."_sdc_staging_7_0" on conflict"#
        ));
        assert!(upsert.ends_with(
            r#"do update set "name" = excluded."name", "_sdc_sequence" = excluded."_sdc_sequence" where row(t."name", t."amount"::text) is distinct from row(excluded."name", excluded."amount"::text)"#
        ));
        let load = Load {
            tables: vec![
                table("orders", &["id", "name", "_sdc_sequence"], &["id"], &["id"]),
                table(
                    "orders__items",
                    &[
                        "_sdc_source_key_id",
                        "_sdc_level_0_id",
                        "sku",
                        "_sdc_sequence",
                    ],
                    &["_sdc_source_key_id", "_sdc_level_0_id"],
                    &["_sdc_source_key_id"],
                ),
            ],
            ..root_only
        };
        assert!(statements[1].starts_with(r#"delete from "s"."orders" t using"#));
        assert_eq!(
            statements[2],
            r#"delete from "s"."orders__items" c using (select distinct "id" from "s"."_sdc_staging_7_0") s where c."_sdc_source_key_id" = s."id""#
        );
        assert!(statements[3].ends_with(
            r#"where exists (select from "s"."orders" t where c."_sdc_source_key_id" = t."id" and t._sdc_sequence = c._sdc_sequence)"#
        ));

        // Some records lack `name` (property 0), some `items` (property 1).
        let load = Load {
            absent: Some(Absent {
                rows: TableBuffer::default(),
                properties: vec![
                    AbsentProperty {
                        index: 0,
                        columns: vec!["name".into()],
                        tables: Vec::new(),
                    },
                    AbsentProperty {
                        index: 1,
                        columns: Vec::new(),
                        tables: vec![1],
                    },
                ],
            }),
            ..load
        };
        let staging = [
            staging[0].clone(),
            staging[1].clone(),
            "\"s\".\"_sdc_staging_7_absent\"".to_owned(),
        ];
        let statements = merge_statements("s", &load, &staging, false, true);
        let lacking = |index: u32| {
            format!(
                r#"(select a._sdc_sequence from "s"."_sdc_staging_7_absent" a where {index} = any(a.absent))"#
            )
        };
        assert_eq!(
            statements[0],
            format!(
                r#"with m as (select max(s._sdc_sequence) as last, max(s._sdc_sequence) filter (where l._sdc_sequence is null) as src from "s"."_sdc_staging_7_0" s left join {} l on l._sdc_sequence = s._sdc_sequence group by s."id"), f as (select last, src from m where src < last), w as (update "s"."_sdc_staging_7_0" w set "name" = p."name" from f, "s"."_sdc_staging_7_0" p where w._sdc_sequence = f.last and p._sdc_sequence = f.src) update "s"."_sdc_staging_7_absent" a set absent = array_remove(a.absent, 0) from f where a._sdc_sequence = f.last"#,
                lacking(0)
            )
        );
        assert!(statements[1].contains(
            r#"c1 as (update "s"."_sdc_staging_7_1" c set _sdc_sequence = f.last from f where c._sdc_sequence = f.src) update "s"."_sdc_staging_7_absent" a set absent = array_remove(a.absent, 1)"#
        ));
        assert_eq!(
            statements[2],
            format!(
                r#"insert into "s"."orders" as t ("id", "name", "_sdc_sequence") select distinct on ("id") "id", "name", "_sdc_sequence" from "s"."_sdc_staging_7_0" order by "id", _sdc_sequence desc on conflict ("id") do update set "name" = case when excluded._sdc_sequence in {} then t."name" else excluded."name" end, "_sdc_sequence" = excluded."_sdc_sequence""#,
                lacking(0)
            )
        );
        assert_eq!(
            statements[3],
            format!(
                r#"delete from "s"."orders__items" c using (select distinct s."id" from "s"."_sdc_staging_7_0" s left join {} l on l._sdc_sequence = s._sdc_sequence where l._sdc_sequence is null) s where c."_sdc_source_key_id" = s."id""#,
                lacking(1)
            )
        );
        assert_eq!(statements.len(), 5);
    }
}
