//! Records that cannot be loaded, with `invalid_records: "reject"`: kept in the `_sdc_rejected`
//! table with the stream, the input line, the reason and the record as it came.
//!
//! Rejects are buffered as COPY rows like any stream's and loaded with the next flush, so a STATE
//! after a rejected record waits until the reject is stored too.

use crate::batch::{TableBuffer, Versions};
use crate::copy_format::CopyFormat;
use crate::encode::write_text;
use crate::json::Object;
use crate::load::{Load, TableLoad};
use crate::naming::qualified;

/// Where records that cannot be loaded go with `invalid_records: "reject"`.
pub const REJECTED_TABLE: &str = "_sdc_rejected";

const REJECTED_COLUMNS: [&str; 5] = ["stream", "line", "reason", "record", "rejected_at"];

/// The DDL of the rejects table.
pub fn rejected_table_ddl(schema: &str) -> String {
    format!(
        "create table if not exists {} (stream text not null, line bigint, \
         reason text not null, record text, rejected_at timestamp with time zone not null)",
        qualified(schema, REJECTED_TABLE)
    )
}

/// Rejected records waiting to be stored.
#[derive(Debug, Default)]
pub struct Rejects {
    buffer: TableBuffer,
    first_line: Option<u64>,
    count: u64,
}

impl Rejects {
    /// Buffers the record of `line`, rejected for `reason` at `property`.
    pub fn add(
        &mut self,
        line: u64,
        stream: &str,
        record: &Object<'_>,
        property: &str,
        reason: &str,
        rejected_at: &str,
    ) {
        let buffer = &mut self.buffer;
        buffer.begin_row(line);
        // PostgreSQL text cannot hold NUL, and a reason often is about one.
        let reason = format!("{property}: {reason}").replace('\0', "\\0");
        let fields = [
            stream.replace('\0', "\\0"),
            line.to_string(),
            reason,
            record.to_json(),
            rejected_at.to_owned(),
        ];
        for (index, field) in fields.iter().enumerate() {
            if index > 0 {
                buffer.data.push(b'\t');
            }
            write_text(&mut buffer.data, field).expect("NUL bytes were replaced");
        }
        buffer.data.push(b'\n');
        buffer.end_row();
        self.first_line.get_or_insert(line);
        self.count += 1;
    }

    /// The input line of the oldest buffered reject.
    pub fn first_line(&self) -> Option<u64> {
        self.first_line
    }

    /// The buffered rejects as a batch for the loader, if there are any.
    pub fn take(&mut self) -> Option<Load> {
        if self.count == 0 {
            return None;
        }
        let rejects = std::mem::take(self);
        Some(Load {
            stream: REJECTED_TABLE.into(),
            tables: vec![TableLoad {
                table: REJECTED_TABLE.into(),
                columns: REJECTED_COLUMNS.map(str::to_owned).to_vec(),
                filled_by_database: Vec::new(),
                primary_key: Vec::new(),
                root_link: Vec::new(),
                compared: Vec::new(),
                format: CopyFormat::Text,
                created_now: false,
                buffer: rejects.buffer,
            }],
            absent: None,
            has_key: false,
            has_deletes: false,
            repeats_a_key: false,
            versions: Versions::default(),
            state: None,
        })
    }
}
