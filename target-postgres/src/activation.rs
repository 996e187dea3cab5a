//! When an ACTIVATE_VERSION may sweep a stream's older table versions.
//!
//! Only once nothing of its version can follow. One that arrives before any record of its version
//! (taps send one at the start of a full-table sync) would mark every row deleted while the table
//! is being re-sent, so it only announces the version; the one repeated after the records (or
//! after none: an empty table) sweeps.

use crate::batch::Versions;

/// Per stream: the table versions of this run's records, and the last ACTIVATE_VERSION seen.
#[derive(Debug, Default)]
pub struct Activation {
    /// The versions of the records sent to the loader so far.
    pub record_versions: Versions,
    announced: Option<u64>,
}

impl Activation {
    /// Whether an ACTIVATE_VERSION of `version` arriving now may sweep, and notes it.
    pub fn may_sweep(&mut self, version: u64) -> bool {
        let records_of_version = self
            .record_versions
            .lowest
            .zip(self.record_versions.highest)
            .is_some_and(|(lowest, highest)| (lowest..=highest).contains(&version));
        let repeated = self.announced == Some(version);
        self.announced = Some(version);
        records_of_version || repeated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activate_version_sweeps_only_when_nothing_of_its_version_follows() {
        // A full-table sync: announced, records, repeated.
        let mut sync = Activation::default();
        assert!(!sync.may_sweep(7), "the announcement before the records");
        sync.record_versions.add(Some(7));
        assert!(sync.may_sweep(7), "the repeat after the records");
        // An empty table: announced, then repeated with nothing between.
        let mut empty = Activation::default();
        assert!(!empty.may_sweep(8));
        assert!(empty.may_sweep(8));
        // Records of an older version do not make a new version's announcement final.
        let mut next = Activation::default();
        next.record_versions.add(Some(7));
        assert!(!next.may_sweep(9));
        // A lone ACTIVATE_VERSION after records of its version (taps that send one at the end).
        let mut end_only = Activation::default();
        end_only.record_versions.add(Some(10));
        assert!(end_only.may_sweep(10));
    }
}
