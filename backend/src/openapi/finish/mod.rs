//! The last pass over the generated document, for what utoipa's derives cannot say:
//!
//! - a schema that utoipa inlined (a generic's `T`, an `Option<T>` field) is replaced by a `$ref`
//!   to the named schema it equals, so generated clients get one type per wire object;
//! - `Page_T` schemas say what they page and how;
//! - an object schema without its own example gets one assembled from its fields' examples (never
//!   invented: a schema whose required fields have no examples stays without one, and the
//!   OpenAPI lint in CI fails);
//! - what the handler's extractors say (`access::doc`, recorded by `access::routes!` as the
//!   `x-pfn-access` extension) becomes the operation's `security`, its 401/403/404/429 entries
//!   and the query parameters they read;
//! - every operation's description ends with who may call it, read off that `security`;
//! - refusals that middleware and shared extractors make are listed on every operation they
//!   can reach: 403 `csrf_rejected` on every state-changing operation, 400 `invalid_cursor`
//!   on lists, 422 for a malformed query parameter;
//! - answers to key-authenticated operations document the `RateLimit-*` headers, every 401 its
//!   `WWW-Authenticate` and every 429 its `Retry-After` (`error::error_response` and
//!   `AppError::too_many` always send them);
//! - every object a request body holds, at any depth, says `additionalProperties: false`: the
//!   JSON extractor refuses unknown fields (`http::json::parse`).

mod components;
mod responses;

use serde_json::{Map, Value};

use components::*;
use responses::*;

pub(super) const SCHEMAS: &str = "#/components/schemas/";
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

pub fn finish(doc: &mut Value) {
    share_inline_schemas(doc);
    describe_pages(doc);
    compose_examples(doc);
    close_request_bodies(doc);
    for (path, method, op) in operations(doc) {
        access(path, method, op);
        describe_auth(op);
        rate_limit_headers(op);
        common_refusals(method, op);
        body_refusals(op);
        unavailable(path, op);
        error_headers(op);
    }
}

/// Every operation, with its path and method.
pub(super) fn operations(
    doc: &mut Value,
) -> impl Iterator<Item = (&String, &String, &mut Map<String, Value>)> {
    doc["paths"]
        .as_object_mut()
        .into_iter()
        .flat_map(|paths| paths.iter_mut())
        .filter_map(|(path, item)| Some((path, item.as_object_mut()?)))
        .flat_map(|(path, item)| {
            item.iter_mut()
                .filter(|(method, _)| METHODS.contains(&method.as_str()))
                .filter_map(move |(method, op)| Some((path, method, op.as_object_mut()?)))
        })
}

pub(super) fn schemas(doc: &Value) -> Map<String, Value> {
    doc["components"]["schemas"]
        .as_object()
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({
            "paths": {"/x": {"get": {
                "x-pfn-access": {"security": [{"apiKey": ["read:x"]}, {"session": []}], "refusals": [], "parameters": []},
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema":
                        {"type": "object", "required": ["a"], "properties": {"a": {"type": "string", "example": "A"}}}}}},
                    "401": {"description": "no"}
                }
            }}},
            "components": {"schemas": {
                "A": {"type": "object", "required": ["a"], "properties": {"a": {"type": "string", "example": "A"}}},
                "Page_A": {"type": "object", "required": ["items"], "properties": {
                    "items": {"type": "array", "items": {"type": "object", "required": ["a"], "properties": {"a": {"type": "string", "example": "A"}}}},
                    "nextCursor": {"type": ["string", "null"]}
                }},
                "NoExample": {"type": "object", "required": ["b"], "properties": {"b": {"type": "string"}}}
            }}
        })
    }

    #[test]
    fn inline_copies_of_named_schemas_become_refs() {
        let mut d = doc();
        finish(&mut d);
        let ok =
            &d["paths"]["/x"]["get"]["responses"]["200"]["content"]["application/json"]["schema"];
        assert_eq!(ok, &json!({"$ref": "#/components/schemas/A"}));
        assert_eq!(
            d["components"]["schemas"]["Page_A"]["properties"]["items"]["items"],
            json!({"$ref": "#/components/schemas/A"})
        );
        // The named schema itself stays.
        assert_eq!(
            d["components"]["schemas"]["A"]["properties"]["a"]["example"],
            "A"
        );
    }

    #[test]
    fn examples_are_assembled_only_from_field_examples() {
        let mut d = doc();
        finish(&mut d);
        assert_eq!(
            d["components"]["schemas"]["A"]["example"],
            json!({"a": "A"})
        );
        assert_eq!(
            d["components"]["schemas"]["Page_A"]["example"],
            json!({"items": [{"a": "A"}]})
        );
        assert!(d["components"]["schemas"]["NoExample"]
            .get("example")
            .is_none());
    }

    #[test]
    fn operations_say_who_may_call_them_and_document_rate_limit_headers() {
        let mut d = doc();
        finish(&mut d);
        let op = &d["paths"]["/x"]["get"];
        assert_eq!(
            op["description"],
            "**Authentication:** an API key with scope `read:x`, or a browser session (which has every scope)."
        );
        assert!(op["responses"]["200"]["headers"]["RateLimit-Remaining"].is_object());
        let refused = &op["responses"]["401"]["headers"];
        assert!(refused.get("RateLimit-Remaining").is_none());
        assert!(refused["WWW-Authenticate"].is_object());
    }

    #[test]
    fn refusals_made_before_handlers_are_documented() {
        let mut d = json!({
            "paths": {
                "/api/v1/keys": {"get": {
                    "x-pfn-access": {
                        "security": [{"session": []}],
                        "refusals": [[403, "session_required", "an API key."]],
                        "parameters": []
                    },
                    "parameters": [
                        {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                        {"name": "limit", "in": "query", "schema": {"type": ["integer", "null"]}}
                    ],
                    "responses": {"400": {"description": "`invalid_json`"}}
                }},
                "/api/v1/accounts": {"get": {
                    "x-pfn-access": {
                        "security": [{"apiKey": ["read:accounts"]}, {"session": []}],
                        "refusals": [[404, "not_found", "`workspaceId` names no workspace of yours."]],
                        "parameters": [{"name": "workspaceId", "in": "query", "schema": {"type": "string"}}]
                    },
                    "responses": {}
                }, "post": {
                    "x-pfn-access": {"security": [{"session": []}], "refusals": [], "parameters": []},
                    "responses": {}
                }}
            },
            "components": {"schemas": {}}
        });
        finish(&mut d);
        let text = |v: &Value| v["description"].as_str().unwrap_or_default().to_string();
        let keys = &d["paths"]["/api/v1/keys"]["get"]["responses"];
        assert!(text(&keys["403"]).starts_with("`session_required`"));
        assert!(text(&keys["400"]).starts_with("`invalid_json`\n\n`invalid_cursor`"));
        assert!(text(&keys["422"]).starts_with("`validation_failed`"));
        assert_eq!(
            keys["403"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody"
        );
        assert_eq!(
            d["paths"]["/api/v1/keys"]["get"]["security"],
            json!([{"session": []}])
        );
        assert!(d["paths"]["/api/v1/keys"]["get"]
            .get("x-pfn-access")
            .is_none());
        let accounts = &d["paths"]["/api/v1/accounts"]["get"];
        assert_eq!(accounts["parameters"][0]["name"], "workspaceId");
        let accounts = &accounts["responses"];
        assert!(text(&accounts["404"]).contains("`workspaceId`"));
        assert!(
            accounts.get("403").is_none(),
            "a GET is not refused as cross-site"
        );
        let created = &d["paths"]["/api/v1/accounts"]["post"]["responses"];
        assert!(text(&created["403"]).starts_with("`csrf_rejected`"));
        assert!(
            text(&accounts["422"]).contains("NUL"),
            "any query parameter may be refused"
        );
    }

    #[test]
    #[should_panic(expected = "is not registered with access::routes!")]
    fn an_operation_without_an_access_record_is_refused() {
        let mut d = json!({
            "paths": {"/x": {"get": {"responses": {}}}},
            "components": {"schemas": {}}
        });
        finish(&mut d);
    }

    #[test]
    fn request_bodies_are_closed_at_every_depth_and_responses_are_not() {
        let mut d = json!({
            "paths": {"/x": {"post": {
                "x-pfn-access": {"security": [], "refusals": [], "parameters": []},
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Req"}}}},
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Res"}}}}}
            }}},
            "components": {"schemas": {
                "Req": {"type": "object", "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}},
                    "inline": {"type": "object", "properties": {"a": {"type": "string"}}}
                }},
                "Item": {"type": "object", "properties": {"amount": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Money"}]}}},
                "Money": {"type": "object", "properties": {"amount": {"type": "string"}}},
                "Res": {"type": "object", "properties": {"b": {"type": "string"}}}
            }}
        });
        finish(&mut d);
        let schemas = &d["components"]["schemas"];
        for name in ["Req", "Item", "Money"] {
            assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
        }
        assert_eq!(
            schemas["Req"]["properties"]["inline"]["additionalProperties"],
            false
        );
        assert!(schemas["Res"].get("additionalProperties").is_none());
    }
}
