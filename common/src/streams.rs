//! The loop every tap runs over its selected streams.
//!
//! The interrupted stream (`currently_syncing` in the incoming state) goes first; each stream is
//! announced in STATE before its first message, timed as a `sync_duration` METRIC, and the run
//! ends with a STATE whose `currently_syncing` is null. What a stream does is the tap's business.

use std::io::{self, Write};

use tracing::{info, warn};

use crate::catalog::{Catalog, CatalogError, ReplicationMethod, StreamSelection};
use crate::metrics::Timer;
use crate::{MessageWriter, State};

/// Syncs every selected stream with `sync_stream`, which returns the rows it sent.
pub fn sync_selected<W, E>(
    catalog: &Catalog,
    default_method: Option<ReplicationMethod>,
    state: &mut State,
    out: &mut MessageWriter<W>,
    mut sync_stream: impl FnMut(&StreamSelection, &mut State, &mut MessageWriter<W>) -> Result<u64, E>,
) -> Result<(), E>
where
    W: Write,
    E: From<io::Error> + From<CatalogError>,
{
    let mut selections = catalog.selected_streams(default_method)?;
    if selections.is_empty() {
        warn!("no stream is selected: nothing to sync");
    }
    warn_of_foreign_bookmarks(catalog, state);
    if let Some(current) = &state.currently_syncing
        && let Some(position) = selections.iter().position(|s| &s.tap_stream_id == current)
    {
        let interrupted = selections.remove(position);
        selections.insert(0, interrupted);
    }
    for selection in &selections {
        let resume = state.bookmark(&selection.tap_stream_id).map_or_else(
            || "no bookmark: full sync".to_owned(),
            |bookmark| {
                bookmark.resume_point(
                    selection.replication_method,
                    selection.replication_key.as_deref(),
                )
            },
        );
        info!(stream = %selection.stream, method = %selection.replication_method, "{resume}");
        state.currently_syncing = Some(selection.tap_stream_id.clone());
        out.write_state(state)?;
        let timer = Timer::start("sync_duration", &[("endpoint", &selection.stream)]);
        let result = sync_stream(selection, state, out);
        let seconds = timer.elapsed().as_secs_f64();
        timer.finish(result.is_ok()).emit();
        let rows = result?;
        info!(
            stream = %selection.stream,
            method = %selection.replication_method,
            rows,
            seconds = (seconds * 100.0).round() / 100.0,
            rows_per_second = (rows as f64 / seconds.max(1e-3)).round() as u64,
            "stream synced"
        );
    }
    state.currently_syncing = None;
    out.write_state(state)?;
    out.flush()?;
    Ok(())
}

/// Bookmarks of streams the catalog does not have are kept untouched, but said once: a state from
/// another tap or database would otherwise be carried along silently.
fn warn_of_foreign_bookmarks(catalog: &Catalog, state: &State) {
    let foreign: Vec<&str> = state
        .bookmarks
        .keys()
        .filter(|id| {
            !catalog
                .streams
                .iter()
                .any(|entry| &entry.tap_stream_id == *id)
        })
        .map(String::as_str)
        .collect();
    if !foreign.is_empty() {
        warn!(
            streams = %foreign.join(", "),
            "the state has bookmarks for streams that are not in the catalog (a state of another \
             tap or database?): kept unchanged"
        );
    }
}
