//! Writing JSON text by hand: the taps encode database text straight into a RECORD's bytes, with
//! no `Value` in between, through these few pieces.

/// Appends `text` as a JSON string.
pub fn write_string(text: &str, out: &mut Vec<u8>) {
    // Writing to a Vec cannot fail.
    let _infallible = serde_json::to_writer(&mut *out, text);
}

/// `"name":`, the start of an object member, for encoders that write the same keys every row.
pub fn object_key(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(name.len() + 3);
    write_string(name, &mut key);
    key.push(b':');
    key
}

/// Whether a database's number text is also a JSON number (a sign, digits, a point, an exponent):
/// a stray value must never turn a RECORD into something that is not JSON.
pub fn is_number(text: &str) -> bool {
    text.bytes()
        .next()
        .is_some_and(|b| b == b'-' || b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'))
}

/// Appends JSON text that a database stored as written. A raw line break in valid JSON can only be
/// whitespace between tokens (strings escape theirs), so it becomes a space: one RECORD, one line.
pub fn write_on_one_line(json: &[u8], out: &mut Vec<u8>) {
    out.extend(json.iter().map(|&byte| match byte {
        b'\n' | b'\r' => b' ',
        other => other,
    }));
}

/// `2026-11-21` and `10:00:00.5` (a UTC wall-clock time) → `2026-11-21T10:00:00.500000Z`, the form
/// every timestamp leaves our taps in. `None` when either part has another shape.
pub fn utc_timestamp(date: &str, time: &str) -> Option<String> {
    let (whole, fraction) = time.split_once('.').unwrap_or((time, ""));
    let digits = |text: &str| text.bytes().all(|b| b.is_ascii_digit());
    let well_formed = date.len() == 10
        && whole.len() == 8
        && fraction.len() <= 6
        && digits(fraction)
        && date.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        })
        && whole.bytes().enumerate().all(|(i, b)| {
            if i == 2 || i == 5 {
                b == b':'
            } else {
                b.is_ascii_digit()
            }
        });
    // Built by hand: this runs for every timestamp of every row, and `format!` costs more.
    well_formed.then(|| {
        let mut text = String::with_capacity(27);
        text.push_str(date);
        text.push('T');
        text.push_str(whole);
        text.push('.');
        text.push_str(fraction);
        text.extend(std::iter::repeat_n('0', 6 - fraction.len()));
        text.push('Z');
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_numbers_and_json() {
        let mut out = Vec::new();
        write_string("a\"b\n🦀", &mut out);
        assert_eq!(out, "\"a\\\"b\\n🦀\"".as_bytes());
        assert_eq!(object_key("na\"me"), br#""na\"me":"#);
        assert!(is_number("-1.5e+10") && is_number("0") && is_number("18446744073709551615"));
        assert!(!is_number("") && !is_number("NaN") && !is_number("1,5") && !is_number("+1"));
        let mut out = Vec::new();
        write_on_one_line(b"{\"a\":\r\n 1}", &mut out);
        assert_eq!(out, b"{\"a\":   1}");
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            utc_timestamp("2026-11-21", "10:00:00.5").as_deref(),
            Some("2026-11-21T10:00:00.500000Z")
        );
        assert_eq!(
            utc_timestamp("2026-11-21", "10:00:00").as_deref(),
            Some("2026-11-21T10:00:00.000000Z")
        );
        assert_eq!(utc_timestamp("12026-11-21", "10:00:00"), None);
        assert_eq!(utc_timestamp("2026-11-21", "10:00:00.1234567"), None);
        assert_eq!(utc_timestamp("2026-11-21", "10:00"), None);
    }
}
