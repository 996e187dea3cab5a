//! Connecting to the warehouse and setting up the session the loader relies on.

use common::config::ConnectionConfig;
use postgres::Client;

use crate::Error;

/// Every session runs in UTC (a timestamp without a zone is UTC) with ISO dates.
const SESSION_SETUP: &str = "\
    set timezone = 'UTC'; \
    set datestyle = 'ISO, YMD'; \
    set standard_conforming_strings = on; \
    set client_encoding = 'UTF8'; \
    set client_min_messages = warning";

/// Opens a session on the configured warehouse database.
pub fn connect(config: &ConnectionConfig) -> Result<Client, Error> {
    Ok(common::postgres::connect(
        config,
        crate::NAME,
        SESSION_SETUP,
    )?)
}
