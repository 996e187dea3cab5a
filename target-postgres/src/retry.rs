//! Transient failures: what a reconnect and a replay of the same transaction can ride out.
//!
//! A warehouse that restarts, fails over, or is briefly full of connections loses the loader's
//! session (or refuses it) without anything being wrong with the data. Those failures are retried
//! with a growing pause, up to `max_retries` times; a permission, a constraint or bad input is not
//! transient and stops the load at once, as before.

use std::error::Error as StdError;

use crate::server_error::ServerError;

/// Whether `error` (or a cause of it) is a lost or refused connection, a server shutting down,
/// or a transaction conflict: worth a new session and another try.
pub fn is_transient(error: &(dyn StdError + 'static)) -> bool {
    common::retry::any_cause(error, |cause| {
        cause
            .downcast_ref::<ServerError>()
            .is_some_and(ServerError::is_transient)
            || common::postgres::is_transient_cause(cause)
    })
}

#[cfg(test)]
mod tests {
    use std::io;

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
    }
}
