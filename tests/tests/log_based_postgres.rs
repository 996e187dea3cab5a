//! LOG_BASED from PostgreSQL: a snapshot, then the changes the slot holds (pgoutput), loaded by
//! target-postgres; the warehouse compared with the source value for value after every run.

use serde_json::{Value, json};
use tests::warehouse::{SCHEMA, emitted_states, query_rows};
use tests::{PgDatabase, PipelineOutput, TapRun, TargetRun};

/// A source database, a warehouse, and the state the target printed last.
struct Cdc {
    source: PgDatabase,
    warehouse: PgDatabase,
    tap: TapRun,
    target: TargetRun,
    state: Option<Value>,
}

impl Cdc {
    /// `sql` run at the source; `tables` (of schema public) selected LOG_BASED.
    fn new(sql: &str, tables: &[&str], target: Value) -> Self {
        let source = PgDatabase::with_sql(sql);
        let select: Vec<Value> = tables
            .iter()
            .map(|table| json!({"table": format!("public.{table}"), "replication_method": "LOG_BASED"}))
            .collect();
        let tap = TapRun::postgres(&source, json!({"select": select}));
        let warehouse = PgDatabase::new();
        let target = TargetRun::new(&warehouse, target);
        Self {
            source,
            warehouse,
            tap,
            target,
            state: None,
        }
    }

    /// One `tap | target` run from the last state; panics unless both succeed.
    fn run(&mut self) -> PipelineOutput {
        let output = self.tap.run_into(&self.target, self.state.as_ref());
        output.assert_success();
        eprintln!("--- tap stderr\n{}", output.tap_stderr);
        if let Some(state) = emitted_states(&output.target).pop() {
            self.state = Some(state);
        }
        output
    }

    /// `columns` of `table`'s rows at the source, by `id`.
    fn source_rows(&self, table: &str, columns: &str) -> Vec<Vec<String>> {
        query_rows(
            &mut self.source.client(),
            &format!("select {columns} from public.{table} order by id"),
        )
    }

    /// The same of the warehouse's live (not deleted) rows.
    fn warehouse_rows(&self, table: &str, columns: &str) -> Vec<Vec<String>> {
        query_rows(
            &mut self.warehouse.client(),
            &format!(
                "select {columns} from {SCHEMA}.{table} where _sdc_deleted_at is null order by id"
            ),
        )
    }

    fn assert_same(&self, table: &str, columns: &str) {
        assert_eq!(
            self.warehouse_rows(table, columns),
            self.source_rows(table, columns),
            "table {table}: warehouse and source differ"
        );
    }

    fn lsn(&self, stream: &str) -> u64 {
        self.state.as_ref().expect("a state")["bookmarks"][stream]["lsn"]
            .as_u64()
            .unwrap_or_else(|| panic!("no lsn for {stream}: {:?}", self.state))
    }
}

const SHOP: &str = "create table items (id integer primary key, name text, price numeric(10,2)); \
                    create table notes (id bigint primary key, body text); \
                    insert into items values (1, 'apple', 1.50), (2, 'pear', 2.25), (3, 'fig', 9.99); \
                    insert into notes values (10, 'first');";

#[test]
fn a_snapshot_then_changes_then_nothing() {
    let mut cdc = Cdc::new(SHOP, &["items", "notes"], json!({}));
    cdc.run();
    cdc.assert_same("items", "id, name, price");
    cdc.assert_same("notes", "id, body");
    let after_snapshot = cdc.lsn("public-items");
    assert_eq!(
        cdc.lsn("public-notes"),
        after_snapshot,
        "one slot, one position"
    );

    cdc.source.execute(
        "insert into items values (4, 'kiwi', 0.75); \
         update items set price = 1.75 where id = 1; \
         delete from items where id = 2; \
         begin; insert into notes values (11, 'second'); update notes set body = 'first, edited' \
         where id = 10; insert into items values (5, 'plum', 3.00); commit;",
    );
    cdc.run();
    cdc.assert_same("items", "id, name, price");
    cdc.assert_same("notes", "id, body");
    let deleted = query_rows(
        &mut cdc.warehouse.client(),
        &format!("select id, name, _sdc_deleted_at is not null from {SCHEMA}.items where id = 2"),
    );
    assert_eq!(
        deleted,
        [["2", "pear", "t"]],
        "a delete is marked, values kept"
    );
    let after_changes = cdc.lsn("public-items");
    assert!(after_changes > after_snapshot);

    // Nothing changed: the run ends at once, sends no row, and the position holds.
    cdc.run();
    assert!(cdc.lsn("public-items") >= after_changes);
    cdc.assert_same("items", "id, name, price");
}
