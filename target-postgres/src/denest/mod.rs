//! De-nesting: a stream's SCHEMA → the tables that hold it (`schema`), and a record → the rows
//! of each (`record`).
//!
//! ```text
//! {"id": 1, "customer": {"name": "Ada"}, "items": [{"sku": "A", "discounts": [{"pct": 5}]}], "tags": ["x"]}
//!   orders                     id, customer__name
//!   orders__items              _sdc_source_key_id, _sdc_level_0_id, sku
//!   orders__items__discounts   _sdc_source_key_id, _sdc_level_0_id, _sdc_level_1_id, pct
//!   orders__tags               _sdc_source_key_id, _sdc_level_0_id, value
//! ```
//!
//! Objects flatten into `__`-joined columns of the table they are in; arrays of declared structure
//! become child tables. The structure is the one the SCHEMA declares (`properties`, `items`), not
//! what records happen to hold: a property without declared structure (a source `json` column) is
//! one `jsonb` column, stored exactly as it came. With `nesting: "jsonb"` objects and arrays stay
//! `jsonb` columns.

pub mod record;
pub mod schema;

pub use schema::{Field, StreamShape, TableShape};
