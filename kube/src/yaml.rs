//! YAML documents read into JSON values, for server-side apply's
//! `application/apply-patch+yaml` bodies.
//!
//! A YAML document can be far larger than its text: an alias (`*a`) repeats its anchor's whole
//! node, and aliases can nest. The parser (serde_yaml_ng) bounds alias expansion only to a
//! multiple of the document's events, which still allows a quadratic blow-up, so the value is
//! built here against a byte budget and abandoned as soon as it exceeds it.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Reads one YAML document (JSON is YAML) into a JSON value of at most `bytes_max` bytes, as
/// JSON would spell it roughly: each scalar counts its text and each container two bytes.
/// Map keys must be scalars; numbers must be finite and fit 64 bits.
pub(crate) fn to_json(document: &[u8], bytes_max: usize) -> Result<Value, String> {
    let budget = Cell::new(bytes_max);
    let deserializer = serde_yaml_ng::Deserializer::from_slice(document);
    let value = Bounded { budget: &budget }
        .deserialize(deserializer)
        .map_err(|error| error.to_string())?;
    assert!(budget.get() <= bytes_max, "the budget only shrinks");
    Ok(value)
}

/// A JSON value being built, charged to a shared budget.
#[derive(Clone, Copy)]
struct Bounded<'b> {
    budget: &'b Cell<usize>,
}

impl Bounded<'_> {
    fn charge<E: de::Error>(self, bytes: usize) -> Result<(), E> {
        let left = self.budget.get();
        if bytes > left {
            return Err(E::custom(
                "the document expands beyond the request size limit (YAML aliases?)",
            ));
        }
        self.budget.set(left - bytes);
        Ok(())
    }
}

impl<'de> DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// JSON bytes of the scalars that have no text of their own: `false`, `null`, a 64-bit number.
const SCALAR_BYTES: usize = 20;

impl<'de> Visitor<'de> for Bounded<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value that JSON can hold")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        self.charge(SCALAR_BYTES)?;
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        self.charge(SCALAR_BYTES)?;
        Ok(Value::Number(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        self.charge(SCALAR_BYTES)?;
        Ok(Value::Number(value.into()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        self.charge(SCALAR_BYTES)?;
        Number::from_f64(value)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite cannot be JSON"))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        self.charge(value.len().saturating_add(2))?;
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        self.charge(value.len().saturating_add(2))?;
        Ok(Value::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.charge(SCALAR_BYTES)?;
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.charge(2)?;
        let mut items = Vec::new();
        // Each element charges the budget, which ends the loop once spent.
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.charge(2)?;
        let mut fields = Map::new();
        // Each key and value charges the budget, which ends the loop once spent.
        while let Some(key) = map.next_key_seed(Key(self))? {
            let value = map.next_value_seed(self)?;
            fields.insert(key, value);
        }
        Ok(Value::Object(fields))
    }
}

/// A map key: any scalar, read as its text (YAML allows `1: a`; JSON keys are strings).
struct Key<'b>(Bounded<'b>);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = String;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar map key")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<String, E> {
        self.0.charge(value.len().saturating_add(3))?;
        Ok(value.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_and_json_read_alike() {
        let yaml = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels: {x: 'y'}\ndata:\n  n: \"1\"\nbinaryData: null\nlist: [1, 2.5, true]\n1: one\n";
        let value = to_json(yaml, 1 << 20).unwrap();
        assert_eq!(
            value,
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "a", "labels": {"x": "y"}}, "data": {"n": "1"},
                "binaryData": null, "list": [1, 2.5, true], "1": "one"})
        );
        let json_text = serde_json::to_vec(&value).unwrap();
        assert_eq!(to_json(&json_text, 1 << 20), Ok(value));
    }

    #[test]
    fn alias_bombs_stop_at_the_budget() {
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for level in 0..8 {
            let previous = (b'a' + level) as char;
            let next = (b'a' + level + 1) as char;
            bomb.push_str(&format!("{next}: &{next} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"));
        }
        let error = to_json(bomb.as_bytes(), 1 << 20).unwrap_err();
        assert!(
            error.contains("expands beyond") || error.contains("repetition limit"),
            "{error}"
        );
    }

    #[test]
    fn what_json_cannot_hold_is_refused() {
        for document in [
            &b"a: .nan\n"[..],
            b"? [1, 2]\n: x\n",
            b"a: 1\n---\nb: 2\n",
            b"a: [\n",
        ] {
            assert!(
                to_json(document, 1 << 20).is_err(),
                "{}",
                String::from_utf8_lossy(document)
            );
        }
    }
}
