//! The Heka message and its fields, as declared by Heka's `message/message.proto`.
//!
//! The structs carry `prost` derives so that the wire format is prost's encoding of
//! exactly Heka's schema (proto2, field numbers, `packed` repeated numerics, `required`
//! uuid/timestamp/name). Optional headers are `Option`s so that presence survives a
//! round trip byte for byte (Heka's Go code distinguishes "unset" from "empty"); the
//! accessor methods give Heka's read semantics (unset string = "", unset severity = 7).

/// `Field.ValueType` from `message.proto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum ValueType {
    String = 0,
    Bytes = 1,
    Integer = 2,
    Double = 3,
    Bool = 4,
}

/// `Header.HmacHashFunction` from `message.proto`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum HmacHashFunction {
    Md5 = 0,
    Sha1 = 1,
}

/// One named field: a type, a representation hint and an array of values.
///
/// Only the value array matching `value_type` is meaningful (Heka's rule); the others
/// are kept empty by every constructor here.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Field {
    #[prost(string, required, tag = "1")]
    pub name: String,
    #[prost(enumeration = "ValueType", optional, tag = "2", default = "String")]
    pub value_type: Option<i32>,
    #[prost(string, optional, tag = "3")]
    pub representation: Option<String>,
    /// Heka's `value_string`: proto2 `string` on the wire, but held as bytes because
    /// Heka passed any bytes through (a Latin-1 log line stays Latin-1). Same encoding.
    #[prost(bytes = "vec", repeated, tag = "4")]
    pub value_string: Vec<Vec<u8>>,
    #[prost(bytes = "vec", repeated, tag = "5")]
    pub value_bytes: Vec<Vec<u8>>,
    #[prost(int64, repeated, tag = "6")]
    pub value_integer: Vec<i64>,
    #[prost(double, repeated, tag = "7")]
    pub value_double: Vec<f64>,
    #[prost(bool, repeated, tag = "8")]
    pub value_bool: Vec<bool>,
}

/// A Heka message. Field order on the wire is tag order, as Heka's gogoproto marshaller.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Message {
    /// 16 raw bytes (a type-4 UUID).
    #[prost(bytes = "vec", required, tag = "1")]
    pub uuid: Vec<u8>,
    /// Nanoseconds since the Unix epoch.
    #[prost(int64, required, tag = "2")]
    pub timestamp: i64,
    #[prost(string, optional, tag = "3")]
    pub r#type: Option<String>,
    #[prost(string, optional, tag = "4")]
    pub logger: Option<String>,
    #[prost(int32, optional, tag = "5", default = "7")]
    pub severity: Option<i32>,
    /// proto2 `string` on the wire, held as bytes: Heka never validated UTF-8, and a
    /// log line is whatever bytes the file held (same encoding as `string`).
    #[prost(bytes = "vec", optional, tag = "6")]
    pub payload: Option<Vec<u8>>,
    #[prost(string, optional, tag = "7")]
    pub env_version: Option<String>,
    #[prost(int32, optional, tag = "8")]
    pub pid: Option<i32>,
    #[prost(string, optional, tag = "9")]
    pub hostname: Option<String>,
    #[prost(message, repeated, tag = "10")]
    pub fields: Vec<Field>,
}

/// The stream-framing header (`message.proto`'s `Header`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Header {
    #[prost(uint32, required, tag = "1")]
    pub message_length: u32,
    #[prost(enumeration = "HmacHashFunction", optional, tag = "3", default = "Md5")]
    pub hmac_hash_function: Option<i32>,
    #[prost(string, optional, tag = "4")]
    pub hmac_signer: Option<String>,
    #[prost(uint32, optional, tag = "5")]
    pub hmac_key_version: Option<u32>,
    #[prost(bytes = "vec", optional, tag = "6")]
    pub hmac: Option<Vec<u8>>,
}

/// A borrowed view of one value of a field, typed by the field's `value_type`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldValue<'a> {
    /// A `string` value: usually UTF-8, but bytes as the sender wrote them.
    String(&'a [u8]),
    Bytes(&'a [u8]),
    Integer(i64),
    Double(f64),
    Bool(bool),
}

/// An owned value used to build fields.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A `string` value, held as bytes (see [`Field::value_string`]).
    String(Vec<u8>),
    Bytes(Vec<u8>),
    Integer(i64),
    Double(f64),
    Bool(bool),
}

fn str_or_empty(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}

// prost's derive already generates the read accessors with Heka's semantics for
// every optional header and field attribute: `logger()`, `payload()`, `env_version()`,
// `hostname()`, `pid()` (0 when unset), `severity()` (7 when unset, the proto
// default), `Field::representation()` and `Field::value_type()`. Only `type` needs a
// hand-written one, because prost names its accessor `r#type`.

impl Message {
    /// The `Type` header ("" when unset).
    pub fn type_(&self) -> &str {
        str_or_empty(&self.r#type)
    }

    /// Writes the 36-character lowercase `8-4-4-4-12` form of the Uuid into `out`
    /// without allocating; returns `None` when the Uuid is not 16 bytes (Heka renders
    /// those as "").
    pub fn uuid_str<'b>(&self, out: &'b mut [u8; 36]) -> Option<&'b str> {
        if self.uuid.len() != 16 {
            return None;
        }
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut o = 0;
        for (i, b) in self.uuid.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out[o] = b'-';
                o += 1;
            }
            out[o] = HEX[(b >> 4) as usize];
            out[o + 1] = HEX[(b & 0xf) as usize];
            o += 2;
        }
        std::str::from_utf8(&out[..]).ok()
    }

    /// The `fi`-th field (zero-based) named `name`, as Heka's `Fields[name][fi]`.
    pub fn field(&self, name: &str, fi: usize) -> Option<&Field> {
        self.fields.iter().filter(|f| f.name == name).nth(fi)
    }

    /// `Fields[name][fi][ai]`: one value, or `None` when the field or index is absent.
    pub fn field_value(&self, name: &str, fi: usize, ai: usize) -> Option<FieldValue<'_>> {
        self.field(name, fi)?.value(ai)
    }

    /// Appends a field holding one value. Several fields may share a name.
    pub fn add_field(&mut self, name: impl Into<String>, value: Value, representation: &str) {
        self.fields.push(Field::new(name, value, representation));
    }
}

impl Field {
    /// A field with a single value.
    pub fn new(name: impl Into<String>, value: Value, representation: &str) -> Field {
        let mut f = Field {
            name: name.into(),
            value_type: Some(value.value_type() as i32),
            representation: Some(representation.to_owned()),
            ..Default::default()
        };
        f.push(value);
        f
    }

    /// The field's declared type (unknown enum values read as `String`, as in Go).
    pub fn kind(&self) -> ValueType {
        ValueType::try_from(self.value_type.unwrap_or(0)).unwrap_or(ValueType::String)
    }

    /// Number of values in the array matching the field's type.
    pub fn len(&self) -> usize {
        match self.kind() {
            ValueType::String => self.value_string.len(),
            ValueType::Bytes => self.value_bytes.len(),
            ValueType::Integer => self.value_integer.len(),
            ValueType::Double => self.value_double.len(),
            ValueType::Bool => self.value_bool.len(),
        }
    }

    /// True when the field holds no value of its type.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `ai`-th value of the array matching the field's type.
    pub fn value(&self, ai: usize) -> Option<FieldValue<'_>> {
        Some(match self.kind() {
            ValueType::String => FieldValue::String(self.value_string.get(ai)?),
            ValueType::Bytes => FieldValue::Bytes(self.value_bytes.get(ai)?),
            ValueType::Integer => FieldValue::Integer(*self.value_integer.get(ai)?),
            ValueType::Double => FieldValue::Double(*self.value_double.get(ai)?),
            ValueType::Bool => FieldValue::Bool(*self.value_bool.get(ai)?),
        })
    }

    /// Appends a value; it goes to the array of the value's own type, so callers keep
    /// the value type consistent with the field's.
    pub fn push(&mut self, value: Value) {
        match value {
            Value::String(s) => self.value_string.push(s),
            Value::Bytes(b) => self.value_bytes.push(b),
            Value::Integer(i) => self.value_integer.push(i),
            Value::Double(d) => self.value_double.push(d),
            Value::Bool(b) => self.value_bool.push(b),
        }
    }

    /// Sets the `ai`-th value of the value's own type's array, appending when `ai` is
    /// one past its end (the sandbox APIs' `write_message` with an array index).
    /// `Err(len)` when `ai` is further out: nothing is changed.
    pub fn set(&mut self, ai: usize, value: Value) -> Result<(), usize> {
        fn put<T>(v: &mut Vec<T>, ai: usize, x: T) -> Result<(), usize> {
            match ai.cmp(&v.len()) {
                std::cmp::Ordering::Less => v[ai] = x,
                std::cmp::Ordering::Equal => v.push(x),
                std::cmp::Ordering::Greater => return Err(v.len()),
            }
            Ok(())
        }
        match value {
            Value::String(s) => put(&mut self.value_string, ai, s),
            Value::Bytes(b) => put(&mut self.value_bytes, ai, b),
            Value::Integer(i) => put(&mut self.value_integer, ai, i),
            Value::Double(d) => put(&mut self.value_double, ai, d),
            Value::Bool(b) => put(&mut self.value_bool, ai, b),
        }
    }

    /// Removes the `ai`-th value of the field's type, if there is one.
    pub fn remove(&mut self, ai: usize) {
        fn take<T>(v: &mut Vec<T>, ai: usize) {
            if ai < v.len() {
                v.remove(ai);
            }
        }
        match self.kind() {
            ValueType::String => take(&mut self.value_string, ai),
            ValueType::Bytes => take(&mut self.value_bytes, ai),
            ValueType::Integer => take(&mut self.value_integer, ai),
            ValueType::Double => take(&mut self.value_double, ai),
            ValueType::Bool => take(&mut self.value_bool, ai),
        }
    }
}

impl Value {
    /// The Heka value type this value is stored as.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::String(_) => ValueType::String,
            Value::Bytes(_) => ValueType::Bytes,
            Value::Integer(_) => ValueType::Integer,
            Value::Double(_) => ValueType::Double,
            Value::Bool(_) => ValueType::Bool,
        }
    }
}

impl FieldValue<'_> {
    /// An owned copy of this value.
    pub fn to_owned_value(&self) -> Value {
        match *self {
            FieldValue::String(s) => Value::String(s.to_owned()),
            FieldValue::Bytes(b) => Value::Bytes(b.to_vec()),
            FieldValue::Integer(i) => Value::Integer(i),
            FieldValue::Double(d) => Value::Double(d),
            FieldValue::Bool(b) => Value::Bool(b),
        }
    }
}
