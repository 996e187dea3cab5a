//! What differs between the PostgreSQL majors the tap reads (12 to 18), decided in one place.
//!
//! The server's `server_version_num` is read once, when the tap connects; every query or
//! statement whose form depends on the major asks [`ServerVersion`] rather than comparing
//! version numbers itself. Catalog queries use only what every supported major has
//! (`pg_attribute.attgenerated` and `attidentity` exist from 12), and the replication stream
//! speaks pgoutput protocol version 1, which 12 to 18 all serve.

use postgres::Client;

use crate::Error;

/// The oldest major the tap supports.
pub const OLDEST_MAJOR: i32 = 12;

/// The source server's version, and what the tap may use on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerVersion {
    /// `server_version_num`: `150004` for 15.4.
    num: i32,
}

impl ServerVersion {
    /// Reads the version of the server `client` is connected to.
    pub fn read(client: &mut Client) -> Result<Self, Error> {
        let num: i32 = client
            .query_one("select current_setting('server_version_num')::integer", &[])
            .map_err(Error::query("reading the server version"))?
            .get(0);
        let version = Self::from_num(num);
        if version.major() < OLDEST_MAJOR {
            tracing::warn!(
                major = version.major(),
                oldest = OLDEST_MAJOR,
                "the server is older than the oldest PostgreSQL the tap is tested with"
            );
        }
        Ok(version)
    }

    /// The version whose `server_version_num` is `num`.
    pub const fn from_num(num: i32) -> Self {
        Self { num }
    }

    /// The major version: 12, 13, …
    pub const fn major(self) -> i32 {
        self.num / 10_000
    }

    /// Whether a partitioned table can be in a publication (13+).
    pub const fn publishes_partitioned_tables(self) -> bool {
        self.major() >= 13
    }

    /// Whether the log carries stored generated columns (18+, with the publication option
    /// below); before 18, pgoutput leaves them out of every change.
    pub const fn logs_generated_columns(self) -> bool {
        self.major() >= 18
    }

    /// The kinds of generated column (`pg_attribute.attgenerated`) the log carries: stored
    /// (`s`) from 18; virtual ones (`v`, 18+) never.
    pub fn logged_generated_kinds(self) -> &'static [&'static str] {
        if self.logs_generated_columns() {
            &["s"]
        } else {
            &[]
        }
    }

    /// The `with (…)` options of the publication the tap creates, when the server has any of
    /// them: `publish_via_partition_root` (13+), so a partitioned table's changes arrive under
    /// its own name rather than its partitions'; `publish_generated_columns = stored` (18+), so
    /// the log carries generated columns' values as FULL_TABLE does.
    pub fn publication_options(self) -> Option<String> {
        let mut options = Vec::new();
        if self.publishes_partitioned_tables() {
            options.push("publish_via_partition_root = true");
        }
        if self.logs_generated_columns() {
            options.push("publish_generated_columns = stored");
        }
        (!options.is_empty()).then(|| format!(" with ({})", options.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publication_options_follow_the_major() {
        assert_eq!(ServerVersion::from_num(120_022).publication_options(), None);
        assert_eq!(
            ServerVersion::from_num(130_023)
                .publication_options()
                .as_deref(),
            Some(" with (publish_via_partition_root = true)")
        );
        assert_eq!(
            ServerVersion::from_num(180_004)
                .publication_options()
                .as_deref(),
            Some(" with (publish_via_partition_root = true, publish_generated_columns = stored)")
        );
        assert_eq!(ServerVersion::from_num(170_010).major(), 17);
    }
}
