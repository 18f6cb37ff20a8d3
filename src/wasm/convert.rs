//! Conversions at the JS boundary, in one place.

use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::Error;

/// A JS `Error` whose `code` is [`Error::code`] and whose message is the error's text.
pub fn js_error(err: Error) -> JsValue {
    let e = js_sys::Error::new(&err.to_string());
    // Setting a property on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&e, &"code".into(), &err.code().into());
    e.into()
}

/// Reads a JS value into a contract type; `what` names it in the error.
pub fn from_js<T: DeserializeOwned>(value: JsValue, what: &'static str) -> Result<T, JsValue> {
    serde_wasm_bindgen::from_value(value).map_err(|e| js_error(Error::Json { what, message: e.to_string() }))
}

/// Writes a value as plain JS objects (`null` for `None`, objects for maps).
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsValue> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(Error::Forward(format!("serializing the result: {e}"))))
}

/// Whether a JS value is an array.
pub fn is_array(value: &JsValue) -> bool {
    value.is_instance_of::<js_sys::Array>() || js_sys::Array::is_array(value)
}
