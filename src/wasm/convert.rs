//! Conversions at the JS boundary, in one place.
//!
//! Every value that comes from JS is read here into Rust values *before* a ranker is borrowed,
//! and JS is reached only through imports that catch exceptions: a throwing getter, a Proxy trap
//! or a revoked Proxy becomes an [`Error`] naming where it happened, and Rust frames always
//! return normally (no borrow stays held, nothing leaks). The reader ([`Reader`], a serde
//! `Deserializer` over a `JsValue`) checks types against what the contract types ask for and
//! reports the path: `shelves[2].items[7].serverScore: expected a number, got the string "0.5"`.
//!
//! Rules, the same for every contract type:
//! - a property that is `undefined` is absent (as JSON has it); `null` is `None`;
//! - strings must be well-formed UTF-16: a lone surrogate is refused (it cannot be held by a
//!   Rust `String`, and replacing it would merge distinct ids); a string longer than
//!   [`MAX_STRING_UNITS`] is refused before it is copied into linear memory;
//! - numbers are JS numbers (NaN and ±Infinity are kept, for validation to name); whole numbers
//!   must be whole, in range and safe integers; BigInt, Symbol, functions and Dates are refused;
//! - arrays are arrays (or typed arrays, for numbers); holes of sparse arrays are refused;
//! - page and event objects may carry unknown properties (ignored, never read); options may
//!   not (a misspelt option is an error, as in Rust and the CLI).
//!
//! Results go back as JSON text parsed by `JSON.parse`, which creates plain data properties and
//! so never runs a setter a script may have put on `Object.prototype`; a prepared page's result
//! goes back packed ([`PackedResult`]), its items as numbers that the package turns back into
//! objects with object literals and `Array.from`, which define their properties too.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Display;

use serde::de::{self, Deserialize, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::error::{cap, Error, ECHO_CHARS};
use crate::options::RerankOptions;
use crate::result::{json_reads, RerankResult};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = get)]
    fn get_key(target: &JsValue, key: &JsValue) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = get)]
    fn get_index(target: &JsValue, index: u32) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(catch, js_namespace = Reflect, js_name = has)]
    fn has_index(target: &JsValue, index: u32) -> Result<bool, JsValue>;
    #[wasm_bindgen(catch, js_namespace = Array, js_name = isArray)]
    fn is_array_js(value: &JsValue) -> Result<bool, JsValue>;
    #[wasm_bindgen(catch, js_namespace = Object, js_name = keys)]
    fn own_keys(value: &JsValue) -> Result<js_sys::Array, JsValue>;
    #[wasm_bindgen(catch, js_namespace = ArrayBuffer, js_name = isView)]
    fn is_view(value: &JsValue) -> Result<bool, JsValue>;

    /// `Array.prototype.every.call(array, Number.isFinite)`: true when every element (holes
    /// aside) is a finite number, one call for a whole embedding.
    #[wasm_bindgen(catch, js_namespace = ["Array", "prototype", "every"], js_name = call)]
    fn every(array: &JsValue, predicate: &JsValue) -> Result<bool, JsValue>;
    #[wasm_bindgen(thread_local_v2, js_namespace = Number, js_name = isFinite)]
    static IS_FINITE: JsValue;

    #[wasm_bindgen(js_name = Float64Array)]
    type F64s;
    /// `new Float64Array(typedArray)`: reads the elements from the array's buffer (no getters);
    /// throws for a BigInt64Array.
    #[wasm_bindgen(catch, constructor, js_class = "Float64Array")]
    fn new(source: &JsValue) -> Result<F64s, JsValue>;

    #[wasm_bindgen(js_name = String)]
    type JsText;
    /// `String.prototype.isWellFormed` (ES2024); an older engine throws (no such method).
    #[wasm_bindgen(catch, method, js_name = isWellFormed)]
    fn is_well_formed(this: &JsText) -> Result<bool, JsValue>;
}

// === Errors ===

/// A JS `Error` whose `code` is [`Error::code`] and whose message is the error's text.
pub fn js_error(err: Error) -> JsValue {
    let e = js_sys::Error::new(&err.to_string());
    // `Reflect.set` catches: a setter a script put on `Error.prototype` cannot escape here.
    let _ = js_sys::Reflect::set(&e, &"code".into(), &err.code().into());
    e.into()
}

/// A conversion failure: where (outermost last while it bubbles up) and what.
#[derive(Debug)]
pub struct DeError {
    path: Vec<Segment>,
    message: String,
}

#[derive(Debug)]
enum Segment {
    Field(&'static str),
    Key(String),
    Index(u32),
}

impl DeError {
    fn new(message: impl Into<String>) -> Self {
        DeError { path: Vec::new(), message: message.into() }
    }

    fn at(mut self, segment: Segment) -> Self {
        self.path.push(segment);
        self
    }

    /// `shelves[2].items[7].serverScore: expected …` (no prefix at the top level).
    pub fn render(&self) -> String {
        let mut path = String::new();
        for s in self.path.iter().rev() {
            match s {
                Segment::Field(f) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(f);
                }
                Segment::Key(k) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&cap(k));
                }
                Segment::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        if path.is_empty() {
            self.message.clone()
        } else {
            format!("{path}: {}", self.message)
        }
    }
}

impl Display for DeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: Display>(msg: T) -> Self {
        DeError::new(msg.to_string())
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::new(format!("expected {exp}, got {}", unexpected(&unexp)))
    }

    fn invalid_value(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        DeError::new(format!("expected {exp}, got {}", unexpected(&unexp)))
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(format!("unknown variant `{}`, expected one of {}", cap(variant), one_of(expected)))
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        DeError::new(format!("unknown field `{}`, expected one of {}", cap(field), one_of(expected)))
    }
}

fn one_of(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

fn unexpected(u: &de::Unexpected<'_>) -> String {
    match *u {
        de::Unexpected::Bool(b) => format!("{b}"),
        de::Unexpected::Unsigned(v) => format!("the number {v}"),
        de::Unexpected::Signed(v) => format!("the number {v}"),
        de::Unexpected::Float(v) => format!("the number {}", number(v)),
        de::Unexpected::Str(s) => format!("the string {}", quote(s)),
        de::Unexpected::Unit => "null".into(),
        de::Unexpected::Seq => "an array".into(),
        de::Unexpected::Map => "an object".into(),
        ref other => other.to_string(),
    }
}

/// A number as JS writes it (`NaN`, `Infinity`, `-1`, `0.5`).
fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        format!("{v}")
    }
}

/// A string as echoed in a message: quoted, capped to a prefix and its length.
fn quote(s: &str) -> String {
    match cap(s) {
        Cow::Borrowed(s) => format!("{s:?}"),
        Cow::Owned(capped) => {
            let (head, tail) = capped.rsplit_once('…').unwrap_or((&capped, ""));
            format!("{head:?}…{tail}")
        }
    }
}

/// What a JS value is, for "expected …, got …" messages.
pub fn describe(v: &JsValue) -> String {
    describe_slot(v, false)
}

fn describe_slot(v: &JsValue, hole: bool) -> String {
    if hole {
        return "an empty slot (the array is sparse)".into();
    }
    if v.is_undefined() {
        return "undefined".into();
    }
    if v.is_null() {
        return "null".into();
    }
    if let Some(b) = v.as_bool() {
        return format!("{b}");
    }
    if let Some(n) = v.as_f64() {
        return format!("the number {}", number(n));
    }
    if v.is_string() {
        return format!("the string {}", short_string(v));
    }
    if v.is_bigint() {
        return "a BigInt".into();
    }
    if v.is_symbol() {
        return "a Symbol".into();
    }
    if v.is_function() {
        return "a function".into();
    }
    // `instanceof` checks of wasm-bindgen catch (a Proxy's getPrototypeOf trap may throw).
    if is_array_js(v).unwrap_or(false) {
        return "an array".into();
    }
    if v.is_instance_of::<js_sys::Date>() {
        return "a Date".into();
    }
    if is_view(v).unwrap_or(false) {
        return "a typed array".into();
    }
    "an object".into()
}

/// A JS string quoted for a message; a long one is cut in JS first, so that only its prefix is
/// copied into linear memory.
fn short_string(v: &JsValue) -> String {
    let js: &js_sys::JsString = v.unchecked_ref();
    let units = js.length();
    if units as usize <= ECHO_CHARS {
        return quote(&v.as_string().unwrap_or_default());
    }
    let head = js.slice(0, ECHO_CHARS as u32 / 2).as_string().unwrap_or_default();
    format!("{head:?}… ({units} UTF-16 units)")
}

/// What an exception thrown by a getter or a trap says (read with catching imports too).
fn threw(e: &JsValue) -> DeError {
    let message = get_key(e, &"message".into()).ok().filter(JsValue::is_string);
    DeError::new(match message {
        Some(m) => format!("reading it threw an exception: {}", short_string(&m)),
        None => format!("reading it threw {}", describe(e)),
    })
}

// === Reading ===

/// How objects are read.
#[derive(Clone, Copy)]
struct Mode {
    /// Enumerate own keys and hand unknown ones to the type (which refuses them when it denies
    /// unknown fields); otherwise only the fields the type names are read.
    unknown_fields: bool,
}

/// Reads a JS value into a contract type; the error names the path.
pub fn read<T: DeserializeOwned>(value: &JsValue) -> Result<T, DeError> {
    T::deserialize(Reader { value: value.clone(), hole: false, mode: Mode { unknown_fields: false } })
}

/// Reads a page, an event or events: [`Error::Json`] naming `what` and the path.
/// [`read`] that also offers a value's other own keys to the type, so that one declaring
/// `deny_unknown_fields` refuses them (typos in configuration objects).
pub fn read_checked<T: DeserializeOwned>(value: &JsValue) -> Result<T, DeError> {
    T::deserialize(Reader { value: value.clone(), hole: false, mode: Mode { unknown_fields: true } })
}

pub fn from_js<T: DeserializeOwned>(value: &JsValue, what: &'static str) -> Result<T, Error> {
    read(value).map_err(|e| Error::Json { what, message: e.render() })
}

/// Rerank options (`undefined` or `null`: the defaults); unknown options are refused.
pub fn options_from_js(value: &JsValue) -> Result<RerankOptions, Error> {
    if value.is_undefined() || value.is_null() {
        return Ok(RerankOptions::default());
    }
    RerankOptions::deserialize(Reader { value: value.clone(), hole: false, mode: Mode { unknown_fields: true } })
        .map_err(|e| Error::Json { what: "options", message: e.render() })
}

/// An optional string argument (`undefined` or `null`: `None`); `name` is its name in the error.
pub fn optional_string(value: &JsValue, name: &str) -> Result<Option<String>, String> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    string(value).map(Some).map_err(|e| format!("{name}: {}", e.render()))
}

/// A text argument of any length (JSON text), checked like every string.
pub fn text_arg(value: &JsValue, name: &str) -> Result<String, String> {
    string_of_at_most(value, u32::MAX).map_err(|e| format!("{name}: {}", e.render()))
}

/// A string argument.
pub fn string_arg(value: &JsValue, name: &str) -> Result<String, String> {
    string(value).map_err(|e| format!("{name}: {}", e.render()))
}

/// Whether a JS value is an array (false for a revoked Proxy, which throws).
pub fn is_array(value: &JsValue) -> bool {
    is_array_js(value).unwrap_or(false)
}

/// A `Uint8Array` argument copied into wasm memory.
pub fn bytes_arg(value: &JsValue) -> Result<Vec<u8>, Error> {
    match value.dyn_ref::<js_sys::Uint8Array>() {
        Some(bytes) => Ok(bytes.to_vec()),
        None => Err(Error::InvalidModel(format!("model bytes: expected a Uint8Array, got {}", describe(value)))),
    }
}

/// A JS string as a Rust `String`, refusing lone surrogates (which the conversion would replace
/// by U+FFFD, merging distinct ids).
fn string(value: &JsValue) -> Result<String, DeError> {
    string_of_at_most(value, MAX_STRING_UNITS)
}

fn string_of_at_most(value: &JsValue, max_units: u32) -> Result<String, DeError> {
    if !value.is_string() {
        return Err(DeError::new(format!("expected a string, got {}", describe(value))));
    }
    // Refused before it is copied into linear memory (which never shrinks).
    let units = value.unchecked_ref::<js_sys::JsString>().length();
    if units > max_units {
        return Err(DeError::new(format!(
            "a string of {units} UTF-16 code units, at most {MAX_STRING_UNITS} are read"
        )));
    }
    let Some(s) = value.as_string() else {
        return Err(DeError::new(format!("expected a string, got {}", describe(value))));
    };
    // The conversion writes U+FFFD for a lone surrogate: only then is the JS string looked at.
    if s.contains('\u{FFFD}') {
        let text: &JsText = value.unchecked_ref();
        let well_formed = match text.is_well_formed() {
            Ok(ok) => ok,
            Err(_) => value.unchecked_ref::<js_sys::JsString>().is_valid_utf16(),
        };
        if !well_formed {
            return Err(lone_surrogate(value.unchecked_ref(), &s));
        }
    }
    Ok(s)
}

#[cold]
fn lone_surrogate(js: &js_sys::JsString, lossy: &str) -> DeError {
    let units = js.length().min(1 << 16);
    let mut at = None;
    let mut i = 0;
    while i < units {
        let u = js.char_code_at(i) as u32;
        let next = if i + 1 < js.length() { js.char_code_at(i + 1) as u32 } else { 0 };
        if (0xD800..0xDC00).contains(&u) && (0xDC00..0xE000).contains(&next) {
            i += 2;
            continue;
        }
        if (0xD800..0xE000).contains(&u) {
            at = Some((i, u));
            break;
        }
        i += 1;
    }
    let which = match at {
        Some((i, u)) => format!(" (U+{u:04X} at index {i})"),
        None => String::new(),
    };
    DeError::new(format!(
        "the string {} has a lone UTF-16 surrogate{which}; strings must be well-formed Unicode \
         (ids that differ only there would otherwise be merged)",
        quote(lossy)
    ))
}

/// `f` with the JS string of a field name, created once per name. No borrow of the table is
/// held while `f` runs: `f` reads a property, whose getter may call back into the module.
fn with_key<R>(name: &'static str, f: impl FnOnce(&JsValue) -> R) -> R {
    thread_local! {
        // The names are the contract's field names: a bounded set, so the strings are kept.
        static KEYS: RefCell<HashMap<(usize, usize), &'static JsValue>> = RefCell::new(HashMap::new());
    }
    let id = (name.as_ptr() as usize, name.len());
    let key = KEYS.with(|keys| {
        let found = keys.borrow().get(&id).copied();
        found.unwrap_or_else(|| {
            let key: &'static JsValue = Box::leak(Box::new(JsValue::from_str(name)));
            keys.borrow_mut().insert(id, key);
            key
        })
    });
    f(key)
}

/// Longest string read, in UTF-16 code units (ids are at most 512 bytes; nothing in the
/// contract needs more).
pub const MAX_STRING_UNITS: u32 = 1 << 16;

/// Longest array read (a Proxy's `length` trap can claim anything).
const MAX_ARRAY: u32 = u32::MAX;
/// Most elements reserved up front.
const MAX_RESERVE: usize = 4_096;

/// A serde `Deserializer` over one JS value (see the module docs).
struct Reader {
    value: JsValue,
    /// The value is a hole of a sparse array (it reads as `undefined`).
    hole: bool,
    mode: Mode,
}

impl Reader {
    fn child(&self, value: JsValue) -> Reader {
        Reader { value, hole: false, mode: self.mode }
    }

    fn expected(&self, what: &str) -> DeError {
        DeError::new(format!("expected {what}, got {}", describe_slot(&self.value, self.hole)))
    }

    fn whole(&self, min: f64, what: &str) -> Result<f64, DeError> {
        const SAFE: f64 = 9_007_199_254_740_991.0;
        match self.value.as_f64() {
            Some(v) if v.fract() == 0.0 && v >= min && v <= SAFE => Ok(v),
            _ => Err(self.expected(what)),
        }
    }

    /// The value as an array to iterate: a JS array, or the numbers of a typed array.
    fn elements(&self) -> Result<Option<Elements>, DeError> {
        match is_array_js(&self.value) {
            Ok(true) => {
                let len = with_key("length", |k| get_key(&self.value, k))
                    .map_err(|e| threw(&e).at(Segment::Field("length")))?;
                let len = match len.as_f64() {
                    Some(n) if n.fract() == 0.0 && n >= 0.0 && n <= MAX_ARRAY as f64 => n as u32,
                    _ => return Err(DeError::new(format!("the array's length is {}", describe(&len)))),
                };
                // Numbers (embeddings) in two calls when every element is a finite number: the
                // copy then runs no code of the array's; otherwise (objects, strings, NaN, holes)
                // element by element, which names the one at fault.
                let finite = IS_FINITE.with(|f| every(&self.value, f)).map_err(|e| threw(&e))?;
                if finite {
                    let values = F64s::new(&self.value).map_err(|e| threw(&e))?;
                    let values = values.unchecked_into::<js_sys::Float64Array>().to_vec();
                    // A hole reads as NaN: then element by element.
                    if values.len() == len as usize && !values.iter().any(|v| v.is_nan()) {
                        return Ok(Some(Elements::Numbers { values: values.into_iter(), next: 0 }));
                    }
                }
                Ok(Some(Elements::Js { len, next: 0 }))
            }
            Ok(false) if is_view(&self.value).unwrap_or(false) => match F64s::new(&self.value) {
                Ok(values) => {
                    let values = values.unchecked_into::<js_sys::Float64Array>().to_vec();
                    Ok(Some(Elements::Numbers { values: values.into_iter(), next: 0 }))
                }
                Err(_) => Err(self.expected("an array of numbers (or a Float32Array or Float64Array)")),
            },
            Ok(false) => Ok(None),
            Err(e) => Err(threw(&e)),
        }
    }
}

enum Elements {
    Js { len: u32, next: u32 },
    Numbers { values: std::vec::IntoIter<f64>, next: u32 },
}

struct SeqAccess<'a> {
    reader: &'a Reader,
    elements: Elements,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        match &mut self.elements {
            Elements::Js { len, next } => {
                if *next >= *len {
                    return Ok(None);
                }
                let i = *next;
                *next += 1;
                let value = get_index(&self.reader.value, i).map_err(|e| threw(&e).at(Segment::Index(i)))?;
                let hole = value.is_undefined() && !has_index(&self.reader.value, i).unwrap_or(true);
                let mut child = self.reader.child(value);
                child.hole = hole;
                seed.deserialize(child).map(Some).map_err(|e| e.at(Segment::Index(i)))
            }
            Elements::Numbers { values, next } => match values.next() {
                None => Ok(None),
                Some(v) => {
                    let i = *next;
                    *next += 1;
                    seed.deserialize(IntoDeserializer::<DeError>::into_deserializer(v))
                        .map(Some)
                        .map_err(|e| e.at(Segment::Index(i)))
                }
            },
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(match &self.elements {
            Elements::Js { len, next } => (*len - *next) as usize,
            Elements::Numbers { values, .. } => values.len(),
        })
        .map(|n| n.min(MAX_RESERVE))
    }
}

/// A struct: the fields the type names, then (in `unknown_fields` mode) other own keys.
struct StructAccess<'a> {
    reader: &'a Reader,
    fields: std::slice::Iter<'static, &'static str>,
    all_fields: &'static [&'static str],
    unknown: Option<(js_sys::Array, u32)>,
    value: Option<(JsValue, Segment)>,
}

impl<'de> de::MapAccess<'de> for StructAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        for &field in self.fields.by_ref() {
            let value =
                with_key(field, |k| get_key(&self.reader.value, k)).map_err(|e| threw(&e).at(Segment::Field(field)))?;
            if value.is_undefined() {
                continue;
            }
            self.value = Some((value, Segment::Field(field)));
            return seed.deserialize(de::value::BorrowedStrDeserializer::new(field)).map(Some);
        }
        if !self.reader.mode.unknown_fields {
            return Ok(None);
        }
        if self.unknown.is_none() {
            let keys = own_keys(&self.reader.value).map_err(|e| threw(&e))?;
            self.unknown = Some((keys, 0));
        }
        let (keys, next) = self.unknown.as_mut().expect("set above");
        while *next < keys.length() {
            let name = keys.get(*next).as_string().unwrap_or_default();
            *next += 1;
            if self.all_fields.contains(&name.as_str()) {
                continue;
            }
            // The type refuses it (deny_unknown_fields) or ignores it without reading it.
            self.value = Some((JsValue::UNDEFINED, Segment::Key(name.clone())));
            return seed.deserialize(de::value::StringDeserializer::new(name)).map(Some);
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (value, segment) = self.value.take().ok_or_else(|| DeError::new("a value without a key"))?;
        seed.deserialize(self.reader.child(value)).map_err(|e| e.at(segment))
    }
}

/// A map (an object's own enumerable keys).
struct MapAccess<'a> {
    reader: &'a Reader,
    keys: js_sys::Array,
    next: u32,
    value: Option<(JsValue, String)>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'_> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        if self.next >= self.keys.length() {
            return Ok(None);
        }
        let k = self.keys.get(self.next);
        self.next += 1;
        let name = string(&k)?;
        let value = get_key(&self.reader.value, &k).map_err(|e| threw(&e).at(Segment::Key(name.clone())))?;
        self.value = Some((value, name.clone()));
        seed.deserialize(de::value::StringDeserializer::new(name)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let (value, name) = self.value.take().ok_or_else(|| DeError::new("a value without a key"))?;
        seed.deserialize(self.reader.child(value)).map_err(|e| e.at(Segment::Key(name)))
    }
}

impl<'de> de::Deserializer<'de> for Reader {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let v = &self.value;
        if v.is_undefined() || v.is_null() {
            visitor.visit_unit()
        } else if let Some(b) = v.as_bool() {
            visitor.visit_bool(b)
        } else if let Some(n) = v.as_f64() {
            if n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0 {
                if n >= 0.0 {
                    visitor.visit_u64(n as u64)
                } else {
                    visitor.visit_i64(n as i64)
                }
            } else {
                visitor.visit_f64(n)
            }
        } else if v.is_string() {
            visitor.visit_string(string(v)?)
        } else if let Some(elements) = self.elements()? {
            visitor.visit_seq(SeqAccess { reader: &self, elements })
        } else if v.is_object() {
            self.deserialize_map(visitor)
        } else {
            Err(self.expected("a string, a number, a boolean, an array or an object"))
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value.as_bool() {
            Some(b) => visitor.visit_bool(b),
            None => Err(self.expected("true or false")),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value.as_f64() {
            Some(n) => visitor.visit_f64(n),
            None => Err(self.expected("a number")),
        }
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let v = self.whole(-9_007_199_254_740_991.0, "a whole number")?;
        visitor.visit_i64(v as i64)
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let v = self.whole(0.0, "a whole number ≥ 0")?;
        visitor.visit_u64(v as u64)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let s = string(&self.value)?;
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => Err(self.expected("a single character")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_string(string(&self.value)?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_string(string(&self.value)?)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if (self.value.is_undefined() && !self.hole) || self.value.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if self.value.is_undefined() || self.value.is_null() {
            visitor.visit_unit()
        } else {
            Err(self.expected("null"))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _name: &'static str, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.elements()? {
            Some(elements) => visitor.visit_seq(SeqAccess { reader: &self, elements }),
            None => Err(self.expected("an array")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        if !self.value.is_object() || is_array(&self.value) {
            return Err(self.expected("an object"));
        }
        let keys = own_keys(&self.value).map_err(|e| threw(&e))?;
        visitor.visit_map(MapAccess { reader: &self, keys, next: 0, value: None })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if !self.value.is_object() || is_array(&self.value) {
            return Err(self.expected("an object"));
        }
        visitor.visit_map(StructAccess {
            reader: &self,
            fields: fields.iter(),
            all_fields: fields,
            unknown: None,
            value: None,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if !self.value.is_string() {
            let names = variants.iter().map(|v| format!("{v:?}")).collect::<Vec<_>>().join(", ");
            return Err(self.expected(&format!("one of {names}")));
        }
        visitor.visit_enum(de::value::StringDeserializer::new(string(&self.value)?))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_string(visitor)
    }

    /// Unknown fields are skipped without being read (no getter of theirs runs).
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        visitor.visit_unit()
    }
}

// === Writing ===

/// A rerank result for the package's `rerank(prepared)` (js/ranker.js `unpackResult`): the
/// items as numbers, which the package turns back into objects with the prepared page's ids.
/// The same result as [`to_js`] gives, for about a tenth of the cost: at 200 items, the JSON
/// text of every item (~13 KB) took ~40 µs to write and ~60 µs for `JSON.parse`, a twentieth of
/// the whole rerank.
#[wasm_bindgen]
pub struct PackedResult {
    head: String,
    counts: Vec<u32>,
    ranks: Vec<u32>,
    scores: Vec<f64>,
}

#[wasm_bindgen]
impl PackedResult {
    /// The result as JSON text with every shelf's `items` empty.
    #[wasm_bindgen(getter)]
    pub fn head(&self) -> String {
        self.head.clone()
    }

    /// Per shelf of the result, in its order, how many items it holds; empty when the head holds
    /// the whole result.
    #[wasm_bindgen(getter)]
    pub fn counts(&self) -> js_sys::Uint32Array {
        js_sys::Uint32Array::from(self.counts.as_slice())
    }

    /// Per item, shelf after shelf in their new order: its `serverRank` (its index in the page's
    /// shelf); its `newRank` is its place in the shelf.
    #[wasm_bindgen(getter)]
    pub fn ranks(&self) -> js_sys::Uint32Array {
        js_sys::Uint32Array::from(self.ranks.as_slice())
    }

    /// Per item, its score as `JSON.parse` would read it from [`to_js`]'s text, NaN for `null`.
    #[wasm_bindgen(getter)]
    pub fn scores(&self) -> js_sys::Float64Array {
        js_sys::Float64Array::from(self.scores.as_slice())
    }
}

/// [`PackedResult`] of a result. A score whose text the fast path below cannot read (|score|
/// below ~1e-13) leaves the whole result in the head, items and all, with no counts.
pub fn packed(mut result: RerankResult) -> Result<PackedResult, JsValue> {
    let n = result.shelves.iter().map(|s| s.items.len()).sum();
    let mut scores = Vec::with_capacity(n);
    for item in result.shelves.iter().flat_map(|s| &s.items) {
        match item.score.map_or(Some(f64::NAN), json_reads) {
            Some(score) => scores.push(score),
            None => {
                let head = json_text(&result)?;
                return Ok(PackedResult { head, counts: Vec::new(), ranks: Vec::new(), scores: Vec::new() });
            }
        }
    }
    let (mut counts, mut ranks) = (Vec::with_capacity(result.shelves.len()), Vec::with_capacity(n));
    for shelf in &mut result.shelves {
        counts.push(shelf.items.len() as u32);
        ranks.extend(std::mem::take(&mut shelf.items).iter().map(|item| item.server_rank as u32));
    }
    Ok(PackedResult { head: json_text(&result)?, counts, ranks, scores })
}

fn json_text<T: Serialize>(value: &T) -> Result<String, JsValue> {
    serde_json::to_string(value).map_err(|e| js_error(Error::Internal(format!("serializing the result: {e}"))))
}

/// Writes a value as plain JS objects (`null` for `None`), through JSON text and `JSON.parse`.
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    let text = json_text(value)?;
    js_sys::JSON::parse(&text).map_err(|_| js_error(Error::Internal("parsing the result's JSON".into())))
}
