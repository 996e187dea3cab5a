//! The columns the target fills itself on every table (Singer's `_sdc_*` metadata), listed once.
//!
//! A source property of one of these names is not given a column of its own: the table already
//! has it. `_sdc_deleted_at` is the one a tap sends too, to say a row was deleted; the target
//! reads it from the record and writes it to the same column.

use crate::column_type::{ColumnType, Family};

/// One of the system columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemColumn {
    ExtractedAt,
    ReceivedAt,
    BatchedAt,
    DeletedAt,
    Sequence,
    TableVersion,
}

/// The property a tap sets on a deleted row.
pub const DELETED_AT: &str = SystemColumn::DeletedAt.name();

impl SystemColumn {
    /// In the order a new table's columns are created.
    pub const ALL: [Self; 6] = [
        Self::ExtractedAt,
        Self::ReceivedAt,
        Self::BatchedAt,
        Self::DeletedAt,
        Self::Sequence,
        Self::TableVersion,
    ];

    /// The column's name, the same in every table.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ExtractedAt => "_sdc_extracted_at",
            Self::ReceivedAt => "_sdc_received_at",
            Self::BatchedAt => "_sdc_batched_at",
            Self::DeletedAt => common::sync::DELETED_AT,
            Self::Sequence => "_sdc_sequence",
            Self::TableVersion => "_sdc_table_version",
        }
    }

    /// Whether `name` is one of the system columns.
    pub fn is_system(name: &str) -> bool {
        Self::ALL.iter().any(|system| system.name() == name)
    }

    /// `bigint` for the sequence and the table version, `timestamptz` for the times.
    pub fn column_type(self) -> ColumnType {
        match self {
            Self::Sequence | Self::TableVersion => ColumnType::general(Family::BigInt),
            _ => ColumnType::general(Family::Timestamp),
        }
    }

    /// The columns PostgreSQL fills itself, with the time of the transaction that loads the row:
    /// when the batch is loaded. Parsing a timestamp per row and column is the costliest part of
    /// COPY, and these would be the same for thousands of rows.
    pub fn filled_by_database(self) -> bool {
        matches!(self, Self::ReceivedAt | Self::BatchedAt)
    }

    /// Timestamps of the load itself are optional; what deletes, versions and ordering rely on
    /// is always there.
    pub fn included(self, add_metadata_columns: bool) -> bool {
        add_metadata_columns
            || matches!(self, Self::DeletedAt | Self::Sequence | Self::TableVersion)
    }
}
