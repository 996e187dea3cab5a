//! Connecting to MySQL or MariaDB and setting up a session whose text output is exact.
//!
//! The tap sets its own session: UTC (`TIMESTAMP` values then read as UTC instants whatever the
//! server's zone), an empty `sql_mode` (legacy zero dates compare instead of failing), utf8mb4, and
//! long network timeouts (a slow target must not make the server drop an unbuffered read).

/// Settings every session of the tap runs with.
pub const SESSION_SETUP: [&str; 4] = [
    "set names utf8mb4",
    "set time_zone = '+00:00'",
    "set sql_mode = ''",
    "set net_write_timeout = 3600, net_read_timeout = 3600",
];
