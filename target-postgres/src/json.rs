//! JSON borrowed from the input line, read only as far as loading needs.
//!
//! A record's properties are split into name and raw text in one pass over the line; a value is
//! looked at only when a column needs it: numbers stay the text the tap wrote (every digit kept),
//! strings are unescaped only when they hold an escape, and objects and arrays are split further
//! only when de-nesting goes into them; a `jsonb` column gets them as written. Building a
//! `serde_json::Value` per record (a map, a string per property) costs several times more.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

/// One JSON value inside the line, unparsed.
#[derive(Debug, Clone, Copy)]
pub struct Json<'a>(&'a RawValue);

/// What a JSON value is, from its first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    /// The kind of a parsed value.
    pub fn of(value: &Value) -> Self {
        match value {
            Value::Null => Self::Null,
            Value::Bool(_) => Self::Bool,
            Value::Number(_) => Self::Number,
            Value::String(_) => Self::String,
            Value::Array(_) => Self::Array,
            Value::Object(_) => Self::Object,
        }
    }

    /// The kind as a sentence names it: `a string`, `null`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Null => "null",
            Self::Bool => "a boolean",
            Self::Number => "a number",
            Self::String => "a string",
            Self::Array => "an array",
            Self::Object => "an object",
        }
    }
}

/// What a value is, for messages, which never show what it holds (a record's values may be
/// personal data): its kind, and the size of a string, array or object.
pub fn describe(kind: Kind, size: Option<usize>) -> String {
    let unit = match kind {
        Kind::String => "character",
        Kind::Array => "item",
        Kind::Object => "propert",
        Kind::Null | Kind::Bool | Kind::Number => return kind.name().to_owned(),
    };
    let Some(size) = size else {
        return kind.name().to_owned();
    };
    let plural = match (size, kind) {
        (1, Kind::Object) => "y",
        (1, _) => "",
        (_, Kind::Object) => "ies",
        _ => "s",
    };
    format!("{} of {size} {unit}{plural}", kind.name())
}

/// [`describe`] for a parsed value.
pub fn describe_value(value: &Value) -> String {
    let size = match value {
        Value::String(text) => Some(text.chars().count()),
        Value::Array(items) => Some(items.len()),
        Value::Object(object) => Some(object.len()),
        _ => None,
    };
    describe(Kind::of(value), size)
}

impl<'a> Json<'a> {
    /// What the value is, never what it holds: see [`describe`].
    pub fn describe(self) -> String {
        let size = match self.kind() {
            Kind::String => self.as_str().map(|text| text.chars().count()),
            Kind::Array => self.as_array().map(|items| items.len()),
            Kind::Object => self.as_object().map(|object| object.properties.len()),
            _ => None,
        };
        describe(self.kind(), size)
    }

    /// The value as the tap wrote it.
    pub fn raw(self) -> &'a str {
        self.0.get()
    }

    pub fn kind(self) -> Kind {
        match self.raw().as_bytes().first() {
            Some(b'n') => Kind::Null,
            Some(b't' | b'f') => Kind::Bool,
            Some(b'"') => Kind::String,
            Some(b'[') => Kind::Array,
            Some(b'{') => Kind::Object,
            _ => Kind::Number,
        }
    }

    pub fn is_null(self) -> bool {
        self.kind() == Kind::Null
    }

    pub fn as_bool(self) -> Option<bool> {
        match self.raw() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }

    /// A number's text, exactly as written.
    pub fn as_number(self) -> Option<&'a str> {
        (self.kind() == Kind::Number).then(|| self.raw())
    }

    /// A string's text, unescaped; borrowed when it holds no escape.
    pub fn as_str(self) -> Option<Cow<'a, str>> {
        let raw = self.raw();
        let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
        if !inner.contains('\\') {
            return Some(Cow::Borrowed(inner));
        }
        serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
    }

    /// An object's properties, in order (`None` for other values).
    pub fn as_object(self) -> Option<Object<'a>> {
        if self.kind() != Kind::Object {
            return None;
        }
        serde_json::from_str(self.raw()).ok()
    }

    /// An array's elements (`None` for other values).
    pub fn as_array(self) -> Option<Vec<Json<'a>>> {
        if self.kind() != Kind::Array {
            return None;
        }
        let elements: Vec<&'a RawValue> = serde_json::from_str(self.raw()).ok()?;
        Some(elements.into_iter().map(Json).collect())
    }

    /// A property of an object value.
    pub fn get(self, name: &str) -> Option<Json<'a>> {
        self.as_object()?.get(name)
    }

    /// The value as a `serde_json::Value`, for the general validator and for errors. Fails on
    /// what the borrowed reading let through but a `Value` cannot hold: a lone surrogate escape
    /// (`"\ud800"`), nesting deeper than serde_json's limit.
    pub fn to_value(self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(self.raw())
    }

    /// Whether a string anywhere inside holds a NUL character (which PostgreSQL cannot store).
    pub fn contains_nul(self) -> bool {
        // In JSON text a NUL can only be written `\u0000`; a doubled backslash before `u0000`
        // is text, so a hit is confirmed on the parsed value.
        self.raw().contains("\\u0000")
            && self
                .to_value()
                .is_ok_and(|value| value_contains_nul(&value))
    }
}

fn value_contains_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(value_contains_nul),
        Value::Object(object) => object
            .iter()
            .any(|(key, value)| key.contains('\0') || value_contains_nul(value)),
        _ => false,
    }
}

impl<'a> From<&'a RawValue> for Json<'a> {
    fn from(raw: &'a RawValue) -> Self {
        Self(raw)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'a RawValue>::deserialize(deserializer).map(Json)
    }
}

/// An object's properties: names (unescaped) and raw values, in the order written.
#[derive(Debug, Clone, Default)]
pub struct Object<'a> {
    pub properties: Vec<(Cow<'a, str>, Json<'a>)>,
    /// The names are known to be distinct: a lookup may stop at the first match.
    distinct: Cell<bool>,
    /// Where the last lookup found its name: properties are mostly looked up in the order they
    /// are written, so the next one is usually just after it.
    cursor: Cell<usize>,
}

impl<'a> Object<'a> {
    /// The value of a property; the last one when a name repeats, as for `jsonb`.
    pub fn get(&self, name: &str) -> Option<Json<'a>> {
        if !self.distinct.get() {
            return self
                .properties
                .iter()
                .rev()
                .find(|(key, _)| key == name)
                .map(|(_, value)| *value);
        }
        let start = self.cursor.get().min(self.properties.len());
        let (before, after) = self.properties.split_at(start);
        let found = after
            .iter()
            .position(|(key, _)| key == name)
            .map(|i| start + i)
            .or_else(|| before.iter().position(|(key, _)| key == name))?;
        self.cursor.set(found);
        Some(self.properties[found].1)
    }

    /// Says the names are distinct (checked by the caller), so lookups can stop at a match.
    pub fn set_distinct(&self, distinct: bool) {
        self.distinct.set(distinct);
    }

    /// Whether no name repeats.
    pub fn has_distinct_names(&self) -> bool {
        let names = &self.properties;
        names
            .iter()
            .enumerate()
            .all(|(i, (name, _))| names[i + 1..].iter().all(|(other, _)| other != name))
    }

    /// The value at `path` below this object: `["customer", "name"]`.
    pub fn at(&self, path: &[String]) -> Option<Json<'a>> {
        let (first, rest) = path.split_first()?;
        let mut value = self.get(first)?;
        for name in rest {
            value = value.get(name)?;
        }
        Some(value)
    }

    /// The object as compact JSON text.
    pub fn to_json(&self) -> String {
        let mut text = String::from("{");
        for (index, (key, value)) in self.properties.iter().enumerate() {
            if index > 0 {
                text.push(',');
            }
            text.push_str(&serde_json::to_string(key).expect("a string serialises"));
            text.push(':');
            text.push_str(value.raw());
        }
        text.push('}');
        text
    }

    /// The object as a `serde_json::Value` (see [`Json::to_value`]).
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        self.properties
            .iter()
            .map(|(key, value)| Ok((key.to_string(), value.to_value()?)))
            .collect::<Result<_, _>>()
            .map(Value::Object)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Object<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Object<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut properties = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(Text(key)) = map.next_key()? {
                    properties.push((key, map.next_value()?));
                }
                Ok(Object {
                    properties,
                    ..Object::default()
                })
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// A JSON string, borrowed from the line unless it holds an escape.
#[derive(Debug)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }
            fn visit_str<E>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }
            fn visit_string<E>(self, text: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_as_written() {
        let text = r#"{"n": 1.10, "big": 123456789012345678901234567890, "s": "a\tb", "plain": "x",
            "o": {"k": [1, {"z": null}]}, "t": true, "nul": "\u0000", "not_nul": "\\u0000",
            "dup": 1, "dup": 2}"#;
        let object: Object = serde_json::from_str(text).unwrap();
        assert_eq!(object.get("n").unwrap().as_number(), Some("1.10"));
        assert_eq!(
            object.get("big").unwrap().as_number(),
            Some("123456789012345678901234567890")
        );
        assert_eq!(object.get("s").unwrap().as_str().unwrap(), "a\tb");
        assert!(matches!(
            object.get("plain").unwrap().as_str(),
            Some(Cow::Borrowed("x"))
        ));
        assert_eq!(object.get("t").unwrap().as_bool(), Some(true));
        assert_eq!(object.get("o").unwrap().raw(), r#"{"k": [1, {"z": null}]}"#);
        let elements = object
            .get("o")
            .unwrap()
            .get("k")
            .unwrap()
            .as_array()
            .unwrap();
        assert_eq!(elements.len(), 2);
        assert!(elements[1].get("z").unwrap().is_null());
        assert!(object.get("nul").unwrap().contains_nul());
        assert!(!object.get("not_nul").unwrap().contains_nul());
        assert_eq!(object.get("dup").unwrap().raw(), "2");
        assert!(!object.has_distinct_names());
        let distinct: Object = serde_json::from_str(r#"{"a": 1, "b": 2, "c": 3}"#).unwrap();
        assert!(distinct.has_distinct_names());
        distinct.set_distinct(true);
        for name in ["b", "c", "a", "a", "c", "x"] {
            let expected = distinct.properties.iter().find(|(k, _)| k == name);
            assert_eq!(
                distinct.get(name).map(Json::raw),
                expected.map(|(_, v)| v.raw())
            );
        }
        assert_eq!(
            object.at(&["o".into(), "k".into()]).unwrap().kind(),
            Kind::Array
        );
        let round: Value = serde_json::from_str(&object.to_json()).unwrap();
        assert_eq!(round, object.to_value().unwrap());
    }

    #[test]
    fn descriptions_name_the_kind_and_size_never_the_value() {
        let object: Object = serde_json::from_str(
            r#"{"s": "secret", "one": "ä", "n": 12.5, "a": [1, 2], "o": {"k": "secret"},
                "e": {}, "b": true, "z": null}"#,
        )
        .unwrap();
        let described = |name: &str| {
            let value = object.get(name).unwrap();
            let text = value.describe();
            assert_eq!(text, describe_value(&value.to_value().unwrap()), "{name}");
            text
        };
        assert_eq!(described("s"), "a string of 6 characters");
        assert_eq!(described("one"), "a string of 1 character");
        assert_eq!(described("n"), "a number");
        assert_eq!(described("a"), "an array of 2 items");
        assert_eq!(described("o"), "an object of 1 property");
        assert_eq!(described("e"), "an object of 0 properties");
        assert_eq!(described("b"), "a boolean");
        assert_eq!(described("z"), "null");
    }
}
