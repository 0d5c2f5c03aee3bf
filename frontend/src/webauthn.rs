//! Passkeys in the browser: the server's ceremony options (JSON, binary fields in base64url)
//! go to `navigator.credentials.create()` / `.get()` as the buffers those want, and the
//! credential comes back as the JSON the server reads (what `PublicKeyCredential.toJSON()`
//! gives, built by hand so that browsers without `toJSON` work too).

use js_sys::{Array, ArrayBuffer, Object, Reflect, Uint8Array, JSON};
use serde_json::Value;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::logic::{base64url_decode, base64url_encode};

/// Whether passkeys work here: the browser has WebAuthn and this page is on the origin the
/// server's passkeys are bound to (`passkeyOrigin` of `GET /api/v1/auth/providers`).
pub fn usable(passkey_origin: Option<&str>) -> bool {
    let here = web_sys::window().and_then(|w| w.location().origin().ok());
    supported() && passkey_origin.is_some() && here.as_deref() == passkey_origin
}

/// Whether this browser has WebAuthn at all.
pub fn supported() -> bool {
    web_sys::window()
        .is_some_and(|w| Reflect::has(&w, &"PublicKeyCredential".into()).unwrap_or(false))
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

fn set(obj: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &key.into(), value);
}

/// Replaces the base64url text at `obj[key]` with its bytes.
fn to_buffer(obj: &JsValue, key: &str) -> Result<(), String> {
    let text = get(obj, key)
        .as_string()
        .ok_or("the server's options lack a field")?;
    let bytes = base64url_decode(&text).ok_or("the server's options are not base64url")?;
    set(obj, key, &Uint8Array::from(bytes.as_slice()).into());
    Ok(())
}

fn credential_ids(public_key: &JsValue, list: &str) -> Result<(), String> {
    let items = get(public_key, list);
    if let Some(items) = items.dyn_ref::<Array>() {
        for item in items.iter() {
            to_buffer(&item, "id")?;
        }
    }
    Ok(())
}

/// An `ArrayBuffer` (or view) field as base64url; None when absent.
fn encoded(obj: &JsValue, key: &str) -> Option<String> {
    let v = get(obj, key);
    if v.is_null() || v.is_undefined() {
        return None;
    }
    let bytes = if let Some(buf) = v.dyn_ref::<ArrayBuffer>() {
        Uint8Array::new(buf).to_vec()
    } else {
        Uint8Array::new(&v).to_vec()
    };
    Some(base64url_encode(&bytes))
}

fn parse(options: &Value) -> Result<JsValue, String> {
    JSON::parse(&options.to_string()).map_err(|_| "the server's options are not JSON".to_string())
}

/// Why the browser said no, in words for the page.
fn refused(e: JsValue) -> String {
    let name = get(&e, "name").as_string().unwrap_or_default();
    match name.as_str() {
        "NotAllowedError" | "AbortError" => {
            "The passkey request was cancelled or timed out.".into()
        }
        "InvalidStateError" => "This device already holds a passkey for this account.".into(),
        "SecurityError" => "Passkeys do not work on this address.".into(),
        _ => "Your browser could not use a passkey here.".into(),
    }
}

fn credentials() -> Result<web_sys::CredentialsContainer, String> {
    web_sys::window()
        .map(|w| w.navigator().credentials())
        .ok_or_else(|| "no browser window".to_string())
}

/// The common part of both answers.
fn credential_json(cred: &JsValue, response: Object) -> Result<Value, String> {
    let out = Object::new();
    set(&out, "id", &get(cred, "id"));
    set(&out, "type", &get(cred, "type"));
    let raw = encoded(cred, "rawId").ok_or("the credential has no id")?;
    set(&out, "rawId", &raw.into());
    set(&out, "response", &response);
    let extensions = match Reflect::get(cred, &"getClientExtensionResults".into()) {
        Ok(f) if f.is_function() => f
            .unchecked_into::<js_sys::Function>()
            .call0(cred)
            .unwrap_or_else(|_| Object::new().into()),
        _ => Object::new().into(),
    };
    set(&out, "clientExtensionResults", &extensions);
    let text: String = JSON::stringify(&out)
        .map_err(|_| "the credential is not JSON")?
        .into();
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

/// Makes a new passkey with `navigator.credentials.create()`.
pub async fn create(options: &Value) -> Result<Value, String> {
    let opts = parse(options)?;
    let pk = get(&opts, "publicKey");
    to_buffer(&pk, "challenge")?;
    to_buffer(&get(&pk, "user"), "id")?;
    credential_ids(&pk, "excludeCredentials")?;
    let promise = credentials()?
        .create_with_options(opts.unchecked_ref())
        .map_err(refused)?;
    let cred = JsFuture::from(promise).await.map_err(refused)?;
    let res = get(&cred, "response");
    let response = Object::new();
    for key in ["clientDataJSON", "attestationObject"] {
        let value = encoded(&res, key).ok_or("the authenticator's answer is incomplete")?;
        set(&response, key, &value.into());
    }
    if let Ok(f) = Reflect::get(&res, &"getTransports".into()) {
        if f.is_function() {
            if let Ok(t) = f.unchecked_into::<js_sys::Function>().call0(&res) {
                set(&response, "transports", &t);
            }
        }
    }
    credential_json(&cred, response)
}

/// Uses a passkey with `navigator.credentials.get()`.
pub async fn assert(options: &Value) -> Result<Value, String> {
    let opts = parse(options)?;
    // A button press, not autofill.
    let _ = Reflect::delete_property(opts.unchecked_ref::<Object>(), &"mediation".into());
    let pk = get(&opts, "publicKey");
    to_buffer(&pk, "challenge")?;
    credential_ids(&pk, "allowCredentials")?;
    let promise = credentials()?
        .get_with_options(opts.unchecked_ref())
        .map_err(refused)?;
    let cred = JsFuture::from(promise).await.map_err(refused)?;
    let res = get(&cred, "response");
    let response = Object::new();
    for key in ["clientDataJSON", "authenticatorData", "signature"] {
        let value = encoded(&res, key).ok_or("the authenticator's answer is incomplete")?;
        set(&response, key, &value.into());
    }
    let handle = encoded(&res, "userHandle").map_or(JsValue::NULL, Into::into);
    set(&response, "userHandle", &handle);
    credential_json(&cred, response)
}
