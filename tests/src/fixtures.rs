//! Source tables shared by several test files.

/// A PostgreSQL table with one column per type family (`kinds`), empty.
pub const PG_KINDS_TABLE: &str = r#"
    create type mood as enum ('sad', 'happy');
    create table kinds (
        id integer primary key,
        small smallint, big bigint, exact numeric(12,2), wide numeric, dbl double precision,
        flt real, flag boolean, label text, code varchar(10), initials char(3), uid uuid,
        born date, alarm time, seen timestamp, seen_tz timestamptz, span interval,
        blob bytea, doc jsonb, raw_json json, ints integer[], words text[], feeling mood,
        addr inet, price money
    );
"#;

/// Rows for [`PG_KINDS_TABLE`]: edge values of every column, and a row of NULLs.
pub const PG_KINDS_ROWS: &str = r#"
    insert into kinds values
      (1, -32768, -9223372036854775808, 1234567890.12, 123456789012345678901234567890.123456789,
       0.1, 3.14159, true, 'tab	and
newline \ backslash "quote"', 'short', 'ab', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
       '2026-02-28', '23:59:59.999999', '2026-11-21 10:00:00.123456', '2026-11-21 10:00:00+02',
       '1 year 2 mons 3 days 04:05:06', '\xdeadbeef00', '{"a": {"b": [1, 2.50, null]}, "u": "ü"}',
       '{"k":  1}', '{1,NULL,3}', '{"a b","c,d","e\"f"}', 'happy', '192.168.0.1/24', 12.34),
      (2, 32767, 9223372036854775807, -0.01, 0, -1.5e300, -0, false, '', 'ten chars!', 'xyz',
       '00000000-0000-0000-0000-000000000000', '1900-01-01', '00:00:00', '1970-01-01 00:00:00',
       '1999-12-31 23:59:59.5-08', '-1 days', '\x', '[]', '"text"', '{}', '{}', 'sad',
       '::1', -0.5),
      (3, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
       null, null, null, null, null, null, null, null, null, null)
"#;
