//! Transient failures: what a reconnect and a replay of the same transaction can ride out.
//!
//! A warehouse that restarts, fails over, or is briefly full of connections loses the loader's
//! session (or refuses it) without anything being wrong with the data. Those failures are retried
//! with a growing pause, up to `max_retries` times; a permission, a constraint or bad input is not
//! transient and stops the load at once, as before.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use postgres::error::SqlState;

use crate::server_error::ServerError;

/// SQLSTATEs after which the same transaction, on a new session, may well succeed.
const TRANSIENT_STATES: [SqlState; 7] = [
    SqlState::ADMIN_SHUTDOWN,
    SqlState::CRASH_SHUTDOWN,
    SqlState::CANNOT_CONNECT_NOW,
    SqlState::T_R_SERIALIZATION_FAILURE,
    SqlState::T_R_DEADLOCK_DETECTED,
    SqlState::TOO_MANY_CONNECTIONS,
    SqlState::CONNECTION_FAILURE,
];

/// The longest pause between two attempts.
const MAX_PAUSE: Duration = Duration::from_secs(30);

/// Whether `error` (or a cause of it) is a lost or refused connection, a server shutting down,
/// or a transaction conflict: worth a new session and another try.
pub fn is_transient(error: &(dyn StdError + 'static)) -> bool {
    let mut causes = Vec::new();
    let mut next = Some(error);
    while let Some(cause) = next {
        causes.push(cause);
        next = cause.source();
    }
    causes.into_iter().any(|cause| {
        if let Some(server) = cause.downcast_ref::<ServerError>() {
            return server.is_closed() || server.code().is_some_and(is_transient_state);
        }
        if let Some(postgres) = cause.downcast_ref::<postgres::Error>() {
            return postgres.is_closed() || postgres.code().is_some_and(is_transient_state);
        }
        if let Some(connect) = cause.downcast_ref::<common::postgres::ConnectError>() {
            return matches!(connect, common::postgres::ConnectError::Timeout { .. });
        }
        cause.downcast_ref::<io::Error>().is_some_and(|io| {
            matches!(
                io.kind(),
                io::ErrorKind::ConnectionRefused
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::TimedOut
            )
        })
    })
}

fn is_transient_state(code: &SqlState) -> bool {
    TRANSIENT_STATES.contains(code) || code.code().starts_with("08")
}

/// The pause before retry number `attempt` (1, 2, …): 1 s, 2 s, 4 s, … up to [`MAX_PAUSE`].
pub fn pause(attempt: u32) -> Duration {
    Duration::from_secs(1 << attempt.saturating_sub(1).min(5)).min(MAX_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_connections_are_transient_and_other_failures_are_not() {
        let reset = io::Error::from(io::ErrorKind::ConnectionReset);
        assert!(is_transient(&reset));
        let wrapped = crate::Error::CopySend {
            stream: "s".into(),
            table: "t".into(),
            source: io::Error::from(io::ErrorKind::BrokenPipe),
        };
        assert!(is_transient(&wrapped));
        assert!(!is_transient(&io::Error::from(
            io::ErrorKind::PermissionDenied
        )));
        assert!(!is_transient(&crate::Error::LoaderLost));
        assert!(is_transient_state(&SqlState::ADMIN_SHUTDOWN));
        assert!(is_transient_state(&SqlState::CONNECTION_EXCEPTION));
        assert!(!is_transient_state(&SqlState::UNIQUE_VIOLATION));
        assert!(!is_transient_state(&SqlState::INSUFFICIENT_PRIVILEGE));
    }

    #[test]
    fn pauses_grow_and_are_bounded() {
        let pauses: Vec<u64> = (1..=8).map(|attempt| pause(attempt).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
