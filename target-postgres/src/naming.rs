//! Warehouse names: canonical identifiers, the 63-byte limit, collisions, and quoting.
//!
//! A source name becomes an identifier users can type unquoted: lower case, every character outside
//! `[a-z0-9_]` replaced by `_`, a leading digit prefixed with `_`. PostgreSQL cuts identifiers at
//! 63 bytes, so a longer name is cut shorter and ends with a hash of the whole source name: two
//! long names that share a prefix stay apart. Names that still collide (`Name` and `name`) get
//! `__2`, `__3`, … in the order they are first seen; the table comment records the choice so
//! later runs keep it. SQL is always built with [`quote`], never by pasting names.

/// PostgreSQL's `NAMEDATALEN - 1`.
pub const MAX_IDENTIFIER_BYTES: usize = 63;

/// Hex digits of the hash that ends a cut name.
const HASH_DIGITS: usize = 8;

/// The canonical identifier for a source name.
pub fn canonical_name(source: &str) -> String {
    let mut name: String = source
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert(0, '_');
    }
    if name.len() > MAX_IDENTIFIER_BYTES {
        let hash = format!("_{:0width$x}", fnv1a(source), width = HASH_DIGITS);
        name.truncate(MAX_IDENTIFIER_BYTES - hash.len());
        name.push_str(&hash);
    }
    name
}

/// `base` followed by `suffix`, with `base` cut so the whole fits in 63 bytes. Canonical names are
/// ASCII, so any cut is on a character boundary.
pub fn with_suffix(base: &str, suffix: &str) -> String {
    let keep = base.len().min(MAX_IDENTIFIER_BYTES - suffix.len());
    format!("{}{suffix}", &base[..keep])
}

/// `wanted`, or the first of `wanted__2`, `wanted__3`, … that `taken` does not hold.
pub fn unique_name(wanted: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(wanted) {
        return wanted.to_owned();
    }
    (2..)
        .map(|n| with_suffix(wanted, &format!("__{n}")))
        .find(|candidate| !taken(candidate))
        .expect("an unbounded sequence of candidates has a free one")
}

/// `"name"`, with embedded quotes doubled.
pub fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"a", "b"`.
pub fn quoted_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| quote(n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `"schema"."table"`.
pub fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", quote(schema), quote(table))
}

/// `'text'`, with embedded quotes doubled (the session runs with standard conforming strings).
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// 32-bit FNV-1a: tiny, stable across versions and platforms, which is all a name hash needs.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_names() {
        assert_eq!(canonical_name("Stitch RDS"), "stitch_rds");
        assert_eq!(canonical_name("Full Name"), "full_name");
        assert_eq!(canonical_name("customer.email"), "customer_email");
        assert_eq!(canonical_name("Größe"), "gr__e");
        assert_eq!(canonical_name("2fa"), "_2fa");
        assert_eq!(canonical_name("select"), "select");
        assert_eq!(canonical_name(""), "_");
        assert_eq!(canonical_name("_sdc_deleted_at"), "_sdc_deleted_at");
    }

    #[test]
    fn long_names_are_cut_with_a_hash() {
        let a = "a".repeat(100);
        let b = format!("{}b", "a".repeat(99));
        let (name_a, name_b) = (canonical_name(&a), canonical_name(&b));
        assert_eq!(name_a.len(), MAX_IDENTIFIER_BYTES);
        assert_eq!(name_b.len(), MAX_IDENTIFIER_BYTES);
        assert_ne!(name_a, name_b);
        assert_eq!(name_a, canonical_name(&a), "deterministic");
        assert!(name_a.starts_with(&"a".repeat(54)));
        // Exactly 63 bytes is left alone.
        assert_eq!(canonical_name(&"x".repeat(63)), "x".repeat(63));
    }

    #[test]
    fn collisions_and_suffixes() {
        let taken = ["name", "name__2"];
        assert_eq!(unique_name("name", |n| taken.contains(&n)), "name__3");
        assert_eq!(unique_name("other", |n| taken.contains(&n)), "other");
        let long = "c".repeat(63);
        assert_eq!(with_suffix(&long, "__st").len(), MAX_IDENTIFIER_BYTES);
        assert!(with_suffix(&long, "__st").ends_with("__st"));
    }

    #[test]
    fn quoting() {
        assert_eq!(quote(r#"we"ird"#), r#""we""ird""#);
        assert_eq!(qualified("s", "select"), r#""s"."select""#);
        assert_eq!(literal("O'Brien"), "'O''Brien'");
    }
}
