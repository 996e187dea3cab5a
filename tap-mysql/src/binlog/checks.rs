//! What a server must offer before the binlog can be read, checked up front so that a missing
//! setting or grant stops the run with the statement that fixes it, before any stream is read.
//!
//! `log_bin` on, `binlog_format = ROW` (a statement log has no row values) and
//! `binlog_row_image = FULL` (a minimal image lacks the columns an update did not change), read
//! from the global variables that new sessions take; and the grants: REPLICATION SLAVE to read
//! the log, REPLICATION CLIENT (MariaDB 10.5+: BINLOG MONITOR) to read its position.

use mysql::Conn;
use mysql::prelude::Queryable;

use super::BinlogError;
use super::position::{Flavor, query};
use crate::Error;

/// Checks the settings, then the grants.
pub fn check_server(conn: &mut Conn, flavor: Flavor) -> Result<(), Error> {
    let (log_bin, format, image): (Option<String>, Option<String>, Option<String>) = conn
        .query_first("select @@global.log_bin, @@global.binlog_format, @@global.binlog_row_image")
        .map_err(query("reading the binlog settings"))?
        .unwrap_or_default();
    if !matches!(log_bin.as_deref(), Some("1" | "ON")) {
        return Err(BinlogError::LogBinOff.into());
    }
    wanted("binlog_format", format, "ROW")?;
    wanted("binlog_row_image", image, "FULL")?;
    check_grants(conn, flavor)
}

fn wanted(setting: &'static str, value: Option<String>, wanted: &'static str) -> Result<(), Error> {
    let value = value.unwrap_or_default();
    if value.eq_ignore_ascii_case(wanted) {
        Ok(())
    } else {
        Err(BinlogError::Setting {
            setting,
            value,
            wanted,
        }
        .into())
    }
}

/// The grants of the current user (roles included as far as `SHOW GRANTS` lists them).
fn check_grants(conn: &mut Conn, flavor: Flavor) -> Result<(), Error> {
    let grants: Vec<String> = conn.query("show grants").map_err(query("show grants"))?;
    let user: Option<String> = conn
        .query_first("select current_user()")
        .map_err(query("reading the current user"))?;
    let missing = missing_grants(&grants, flavor);
    if missing.is_empty() {
        return Ok(());
    }
    let user = user.unwrap_or_default();
    let account = match user.split_once('@') {
        Some((name, host)) => format!("'{name}'@'{host}'"),
        None => format!("'{user}'"),
    };
    Err(BinlogError::MissingGrant {
        grant: format!("grant {} on *.* to {account}", missing.join(", ")),
        missing: missing.join(" and "),
        user,
    }
    .into())
}

/// The privileges of the two a LOG_BASED run needs that no grant on `*.*` gives. A grant to a
/// role that `SHOW GRANTS` does not expand cannot be seen: then nothing is reported missing here,
/// and a refusal of the server later names the privilege.
fn missing_grants(grants: &[String], flavor: Flavor) -> Vec<&'static str> {
    let global: Vec<String> = grants
        .iter()
        .map(|grant| grant.to_ascii_uppercase())
        .filter(|grant| grant.contains(" ON *.* TO "))
        .collect();
    let has = |privilege: &str| {
        global
            .iter()
            .any(|grant| grant.contains("ALL PRIVILEGES") || grant.contains(privilege))
    };
    let mut missing = Vec::new();
    if !has("REPLICATION SLAVE") && !has("REPLICATION REPLICA") {
        missing.push("replication slave");
    }
    let monitor = match flavor {
        // MariaDB 10.5 renamed REPLICATION CLIENT to BINLOG MONITOR (and shows it so); SUPER
        // still reads the position.
        Flavor::MariaDb => has("BINLOG MONITOR") || has("REPLICATION CLIENT") || has("SUPER"),
        Flavor::Mysql => has("REPLICATION CLIENT") || has("SUPER"),
    };
    if !monitor {
        missing.push(match flavor {
            Flavor::MariaDb => "binlog monitor",
            Flavor::Mysql => "replication client",
        });
    }
    // `GRANT role TO user` (no `ON`): the role's privileges are not listed.
    let has_roles = grants.iter().any(|grant| {
        let grant = grant.to_ascii_uppercase();
        grant.starts_with("GRANT ") && !grant.contains(" ON ")
    });
    if has_roles { Vec::new() } else { missing }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|line| (*line).to_owned()).collect()
    }

    #[test]
    fn grants_on_every_database_are_what_counts() {
        let all = grants(&["GRANT ALL PRIVILEGES ON *.* TO `harness`@`%` WITH GRANT OPTION"]);
        assert!(missing_grants(&all, Flavor::MariaDb).is_empty());
        let plain = grants(&[
            "GRANT USAGE ON *.* TO `reader`@`%`",
            "GRANT SELECT ON `shop`.* TO `reader`@`%`",
        ]);
        assert_eq!(
            missing_grants(&plain, Flavor::MariaDb),
            ["replication slave", "binlog monitor"]
        );
        assert_eq!(
            missing_grants(&plain, Flavor::Mysql),
            ["replication slave", "replication client"]
        );
        let replica = grants(&["GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `r`@`%`"]);
        assert!(missing_grants(&replica, Flavor::MariaDb).is_empty());
        let mysql = grants(&["GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `r`@`%`"]);
        assert!(missing_grants(&mysql, Flavor::Mysql).is_empty());
        let half = grants(&["GRANT REPLICATION CLIENT ON *.* TO `r`@`%`"]);
        assert_eq!(missing_grants(&half, Flavor::Mysql), ["replication slave"]);
        let role = grants(&[
            "GRANT USAGE ON *.* TO `r`@`%`",
            "GRANT `replicator` TO `r`@`%`",
        ]);
        assert!(missing_grants(&role, Flavor::MariaDb).is_empty());
    }
}
