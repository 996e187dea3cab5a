//! Riding out transient failures: how long to wait before trying again, and whether an error's
//! causes say the connection was lost (rather than that something is wrong).

use std::error::Error;
use std::io;
use std::time::Duration;

use tracing::{debug, warn};

use crate::cli::error_chain;

/// The longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// The pause before retry number `attempt` (1, 2, …): 1 s, 2 s, 4 s, … up to 30 s.
pub fn pause(attempt: u32) -> Duration {
    Duration::from_secs(1 << attempt.saturating_sub(1).min(5)).min(MAX_PAUSE)
}

/// Runs `attempt` on `context` until it succeeds, fails for good (`retryable` says no), or has
/// failed `max_retries` times; before each new attempt, a growing [`pause`] and `reconnect`.
/// Each retry is logged with `message`, the attempt and the error's causes. The one retry loop of
/// the taps and the target: what an attempt resumes from is the caller's business.
pub fn with_retries<C, T, E: Error + 'static>(
    context: &mut C,
    max_retries: u32,
    message: &str,
    retryable: impl Fn(&E) -> bool,
    mut attempt: impl FnMut(&mut C) -> Result<T, E>,
    mut reconnect: impl FnMut(&mut C) -> Result<(), E>,
) -> Result<T, E> {
    let mut failures = 0;
    loop {
        match attempt(context) {
            Err(error) if failures < max_retries && retryable(&error) => {
                failures += 1;
                let pause = pause(failures);
                warn!(
                    attempt = failures,
                    max_retries,
                    pause_seconds = pause.as_secs(),
                    cause = %error_chain(&error),
                    "{message}"
                );
                std::thread::sleep(pause);
                if let Err(error) = reconnect(context) {
                    // The next attempt fails on the lost session and counts as a retry.
                    debug!(cause = %error_chain(&error), "reconnect failed");
                }
            }
            other => return other,
        }
    }
}

/// Whether `error` or any of its causes satisfies `transient`.
pub fn any_cause(
    error: &(dyn Error + 'static),
    transient: impl Fn(&(dyn Error + 'static)) -> bool,
) -> bool {
    let mut next = Some(error);
    while let Some(cause) = next {
        if transient(cause) {
            return true;
        }
        next = cause.source();
    }
    false
}

/// An I/O error of a connection that was refused, reset, closed or timed out: a server
/// restarting or failing over.
pub fn is_lost_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_and_are_bounded() {
        let pauses: Vec<u64> = (1..=8).map(|attempt| pause(attempt).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] io::Error);

    #[test]
    fn causes_are_searched_to_the_root() {
        let lost = |cause: &(dyn Error + 'static)| {
            cause
                .downcast_ref::<io::Error>()
                .is_some_and(is_lost_connection)
        };
        assert!(any_cause(
            &Outer(io::ErrorKind::ConnectionReset.into()),
            lost
        ));
        assert!(!any_cause(
            &Outer(io::ErrorKind::PermissionDenied.into()),
            lost
        ));
    }
}
