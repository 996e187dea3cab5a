//! Ownership and permission checks: the Stitch destination contract.
//!
//! The target's user needs `CREATE` on the database and nothing else: it creates the schema and
//! every table itself, and owns them, because it alters and comments them. A schema or table that
//! exists but belongs to a role the user is not a member of would make a load fail half way, so
//! the run stops before loading anything and says, for each such object, who owns it and the SQL
//! an admin runs to fix it. `--check` runs the same checks and prints the result.

use std::fmt;

use postgres::Client;

use crate::Error;
use crate::naming::{qualified, quote};

/// What the checks found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub user: String,
    pub database: String,
    pub server_version: String,
    pub schema: String,
    pub schema_exists: bool,
    pub tables: usize,
    pub problems: Vec<Problem>,
}

/// One object the target cannot use, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub object: String,
    pub issue: String,
    pub fix: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}; fix: {}", self.object, self.issue, self.fix)
    }
}

/// Runs the checks for loading into `schema`.
pub fn check_permissions(client: &mut Client, schema: &str) -> Result<CheckReport, Error> {
    let query = |what: &str| {
        let what = what.to_owned();
        move |source: postgres::Error| Error::Database {
            what,
            source: source.into(),
        }
    };
    let row = client
        .query_one(
            "select current_user::text, current_database()::text, current_setting('server_version'),
                    has_database_privilege(current_database(), 'CREATE'),
                    (select pg_get_userbyid(nspowner)::text from pg_namespace where nspname = $1),
                    (select pg_has_role(current_user, nspowner, 'USAGE')
                       from pg_namespace where nspname = $1)",
            &[&schema],
        )
        .map_err(query("permission check"))?;
    let user: String = row.get(0);
    let database: String = row.get(1);
    let can_create_schema: bool = row.get(3);
    let schema_owner: Option<String> = row.get(4);
    let owns_schema: Option<bool> = row.get(5);
    let mut problems = Vec::new();
    match (&schema_owner, owns_schema) {
        (None, _) if !can_create_schema => problems.push(Problem {
            object: format!("database {}", quote(&database)),
            issue: format!(
                "does not let {} create the schema {}",
                quote(&user),
                quote(schema)
            ),
            fix: format!(
                "grant create on database {} to {};",
                quote(&database),
                quote(&user)
            ),
        }),
        (Some(owner), Some(false)) => problems.push(Problem {
            object: format!("schema {}", quote(schema)),
            issue: format!(
                "is owned by {}, not by {} (or a role it belongs to)",
                quote(owner),
                quote(&user)
            ),
            fix: format!("alter schema {} owner to {};", quote(schema), quote(&user)),
        }),
        _ => {}
    }
    let tables = client
        .query(
            "select c.relname::text, pg_get_userbyid(c.relowner)::text,
                    pg_has_role(current_user, c.relowner, 'USAGE')
               from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname = $1 and c.relkind in ('r', 'p')
              order by 1",
            &[&schema],
        )
        .map_err(query("table ownership check"))?;
    for table in &tables {
        let (name, owner, owned): (String, String, bool) =
            (table.get(0), table.get(1), table.get(2));
        if !owned {
            problems.push(Problem {
                object: format!("table {}", qualified(schema, &name)),
                issue: format!("is owned by {}, not by {}", quote(&owner), quote(&user)),
                fix: format!(
                    "alter table {} owner to {};",
                    qualified(schema, &name),
                    quote(&user)
                ),
            });
        }
    }
    Ok(CheckReport {
        user,
        database,
        server_version: row.get(2),
        schema: schema.to_owned(),
        schema_exists: schema_owner.is_some(),
        tables: tables.len(),
        problems,
    })
}

impl CheckReport {
    /// The `--check` answer, one fact or problem per line.
    pub fn write(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        writeln!(
            out,
            "connected to database {} as {} (PostgreSQL {})",
            quote(&self.database),
            quote(&self.user),
            self.server_version
        )?;
        if self.schema_exists {
            writeln!(
                out,
                "schema {} exists with {} table(s)",
                quote(&self.schema),
                self.tables
            )?;
        } else {
            writeln!(
                out,
                "schema {} does not exist yet: it will be created",
                quote(&self.schema)
            )?;
        }
        if self.problems.is_empty() {
            writeln!(out, "ok: ready to load")
        } else {
            for problem in &self.problems {
                writeln!(out, "problem: {problem}")?;
            }
            writeln!(out, "failed: {} problem(s)", self.problems.len())
        }
    }
}
