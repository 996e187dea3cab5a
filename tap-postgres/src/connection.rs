//! Connecting to PostgreSQL and setting up a session whose text output is exact and stable.
//!
//! The session runs in UTC with ISO dates, ISO 8601 intervals, hex bytea and the shortest exact
//! float digits, so the text PostgreSQL sends (by queries and by `COPY … TO STDOUT`) can be turned
//! into JSON without depending on the server's or the user's settings.

/// Settings every session of the tap runs with.
pub const SESSION_SETUP: &str = "\
    set timezone = 'UTC'; \
    set datestyle = 'ISO, YMD'; \
    set intervalstyle = 'iso_8601'; \
    set extra_float_digits = 3; \
    set bytea_output = 'hex'; \
    set standard_conforming_strings = on; \
    set client_encoding = 'UTF8'; \
    set client_min_messages = warning";
