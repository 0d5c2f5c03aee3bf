//! The MCP tools, read from the served OpenAPI document. A tool is one REST operation (or a
//! few, picked by an argument): its input schema is the operation's path and query parameters
//! and its body's fields, its output schema the operation's answer, and its scope the one the
//! operation's `security` names. So a tool cannot drift from its route: both come from the
//! same `shared` types, through the one document that `tests/api/access.rs` and Schemathesis
//! hold the router to.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::http::Method;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{json, Map, Value};

/// Where an argument goes in the operation's request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Path,
    Query,
    Body,
}

/// One REST operation a tool calls.
#[derive(Debug)]
pub struct Operation {
    pub method: Method,
    /// The path template, `{name}` for path parameters.
    pub path: String,
    /// Its arguments, where each goes, and the JSON type a path or query argument must have.
    pub args: BTreeMap<String, (Place, &'static str)>,
    pub body: bool,
}

/// How a tool picks its operation.
#[derive(Debug)]
pub enum Route {
    One(Operation),
    /// The `kind` argument names the operation (`get_insights`).
    ByKind(Vec<(&'static str, Operation)>),
    /// With `id`, replace; without, create, or replace the one that already exists with the
    /// same values at the `key` JSON pointers (`set_budget`: category, month and currency).
    Upsert {
        create: Operation,
        replace: Operation,
        list: Operation,
        key: &'static [&'static str],
    },
}

/// What a write tool offers besides its operation's arguments.
#[derive(Clone, Copy, Debug)]
pub struct Write {
    pub destructive: bool,
    pub idempotent: bool,
    /// `dryRun`: the route does its work in a transaction it rolls back.
    pub dry_run: bool,
    /// `idempotencyKey`: sent as the `Idempotency-Key` header.
    pub idempotency_key: bool,
}

/// A tool as clients see it, and how it is carried out.
#[derive(Debug)]
pub struct ToolDef {
    pub tool: Tool,
    /// The key scope it needs (`None`: any key).
    pub scope: Option<String>,
    /// It acts on the whole workspace: keys restricted to some accounts may not use it (its
    /// operation refuses them with `account_restricted`).
    pub whole: bool,
    pub route: Route,
    pub write: Option<Write>,
    /// Every argument name the input schema declares.
    pub known: BTreeSet<String>,
    pub required: Vec<String>,
}

enum Source {
    One(&'static str),
    ByKind(&'static [(&'static str, &'static str)]),
    Upsert {
        create: &'static str,
        replace: &'static str,
        list: &'static str,
        key: &'static [&'static str],
    },
}

struct Spec {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    source: Source,
    write: Option<Write>,
    /// It reaches the bank through Tarabut (the MCP "open world" hint).
    open_world: bool,
}

/// A write that overwrites what it is given (update, set), safe to repeat, with a dry run.
const OVERWRITE: Write = Write {
    destructive: true,
    idempotent: true,
    dry_run: true,
    idempotency_key: false,
};

const fn write(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    source: Source,
    write: Write,
) -> Spec {
    Spec {
        write: Some(write),
        ..read(name, title, description, source)
    }
}

const fn read(
    name: &'static str,
    title: &'static str,
    description: &'static str,
    source: Source,
) -> Spec {
    Spec {
        name,
        title,
        description,
        source,
        write: None,
        open_world: false,
    }
}

const SPECS: &[Spec] = &[
    read(
        "whoami",
        "Who am I",
        "The key's user, workspace, role and scopes.",
        Source::One("whoami"),
    ),
    read(
        "list_accounts",
        "List accounts",
        "Every account of the workspace, manual and bank, with its balance (money is a decimal string with its ISO 4217 currency).",
        Source::One("listAccounts"),
    ),
    read(
        "list_transactions",
        "List transactions",
        "Transactions, newest booking first, one page at a time (pass `nextCursor` back as `cursor`). Filters: account, booking window (`from` inclusive, `to` exclusive; RFC 3339 or YYYY-MM-DD), category, text in description or merchant, amount range (negative = money out), pending.",
        Source::One("listTransactions"),
    ),
    read(
        "get_transaction",
        "Get a transaction",
        "One transaction by id, with the user's overlays (category, note, tags, excluded).",
        Source::One("getTransaction"),
    ),
    write(
        "push_transactions",
        "Push transactions",
        "Add 1 to 1,000 transactions to manual accounts. The batch is validated whole (nothing is stored if an item is invalid); an item whose (accountId, externalId) already exists is listed under `duplicates` and left as it is. Pass an `idempotencyKey` to make retries safe: a retry with the same key and arguments answers what the first call did. With `dryRun` nothing is stored and the answer says what would be created (the ids in a dry run's answer are not kept).",
        Source::One("pushTransactions"),
        Write {
            destructive: false,
            idempotent: true,
            dry_run: true,
            idempotency_key: true,
        },
    ),
    write(
        "update_transaction",
        "Update a transaction",
        "Set or clear the user's overlays on a transaction: `category`, `note`, `tags`, `excluded` (null clears one; what is not given is left as it is). The bank's own fields never change. With `dryRun` the answer is the transaction as it would be, and nothing is stored.",
        Source::One("updateTransaction"),
        OVERWRITE,
    ),
    read(
        "list_budgets",
        "List budgets",
        "Monthly budgets per category, each with what was spent so far in its month.",
        Source::One("listBudgets"),
    ),
    write(
        "set_budget",
        "Set a budget",
        "Set a category's monthly limit: with `id`, that budget is replaced; without, the budget for the same category and month is replaced, or a new one made. With `dryRun` the answer is the budget as it would be, and nothing is stored.",
        Source::Upsert {
            create: "createBudget",
            replace: "replaceBudget",
            list: "listBudgets",
            key: &["/category", "/month", "/limit/currency"],
        },
        OVERWRITE,
    ),
    read(
        "get_insights",
        "Get insights",
        "`kind`: `spending` or `income` (totals per category and currency, from our transactions), `salary` (salary payments the bank recognised), or `balance-history` (each account's daily closing balance). The window is `from` (inclusive) to `to` (exclusive), RFC 3339 or YYYY-MM-DD; by default the last 30 calendar days (UTC), today so far included; at most three years.",
        Source::ByKind(&[
            ("spending", "getSpendingInsight"),
            ("income", "getIncomeInsight"),
            ("salary", "getSalaryInsight"),
            ("balance-history", "getBalanceHistory"),
        ]),
    ),
    read(
        "list_connections",
        "List bank connections",
        "The workspace's bank connections: bank, status, consent expiry, last sync and accounts.",
        Source::One("listBankConnections"),
    ),
    Spec {
        open_world: true,
        ..write(
        "start_sync",
        "Sync a bank connection",
        "Fetch new transactions and balances from the bank now. Answers the sync's id at once (follow it with get_sync); while a sync of the connection is queued or running, that one's id is answered instead of starting another. A new sync may start once a minute per connection. It changes no data of yours beyond what the bank reports, so it has no dryRun.",
        Source::One("syncBankConnection"),
        Write {
            destructive: false,
            idempotent: false,
            dry_run: false,
            idempotency_key: false,
        },
    )},
    Spec {
        open_world: true,
        ..read(
            "get_sync",
            "Get a sync",
            "A sync's progress: status, accounts done, transactions added, and its error if it failed.",
            Source::One("getBankSync"),
        )
    },
];

/// The document's operations by id: (method, path, operation).
fn operations(doc: &Value) -> BTreeMap<String, (Method, String, Value)> {
    let mut ops = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for (method, op) in item.as_object().into_iter().flatten() {
            let (Some(id), Ok(method)) = (
                op["operationId"].as_str(),
                Method::from_bytes(method.to_ascii_uppercase().as_bytes()),
            ) else {
                continue;
            };
            ops.insert(id.to_string(), (method, path.clone(), op.clone()));
        }
    }
    ops
}

/// Schemas copied out of the document: `#/components/schemas/X` becomes `#/$defs/X`, and
/// every component reached is kept for the tool schema's `$defs`.
struct Schemas<'a> {
    components: &'a Value,
    defs: Map<String, Value>,
}

impl<'a> Schemas<'a> {
    fn new(doc: &'a Value) -> Self {
        Self {
            components: &doc["components"]["schemas"],
            defs: Map::new(),
        }
    }

    fn take(&mut self, schema: &Value) -> Value {
        match schema {
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    if let (true, Some(name)) = (
                        k == "$ref",
                        v.as_str()
                            .and_then(|r| r.strip_prefix("#/components/schemas/")),
                    ) {
                        self.keep(name);
                        out.insert(k.clone(), json!(format!("#/$defs/{name}")));
                    } else {
                        out.insert(k.clone(), self.take(v));
                    }
                }
                Value::Object(out)
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.take(v)).collect()),
            other => other.clone(),
        }
    }

    fn keep(&mut self, name: &str) {
        if self.defs.contains_key(name) {
            return;
        }
        self.defs.insert(name.to_string(), Value::Null);
        let schema = self.take(&self.components[name].clone());
        assert!(!schema.is_null(), "the document has no schema {name}");
        self.defs.insert(name.to_string(), schema);
    }

    /// The schema itself when it is a `$ref` (a tool schema's root must be an object).
    fn inline(&mut self, schema: &Value) -> Value {
        match schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            Some(name) => self.take(&self.components[name].clone()),
            None => self.take(schema),
        }
    }

    /// `schema` as a tool schema: an object, with the components it reaches under `$defs`.
    fn finish(self, mut schema: Value) -> Arc<JsonObject> {
        if !self.defs.is_empty() {
            schema["$defs"] = Value::Object(self.defs);
        }
        match schema {
            Value::Object(map) => Arc::new(map),
            other => panic!("a tool schema must be an object, not {other}"),
        }
    }
}

/// One operation's arguments, into the input schema's `properties` and `required`.
fn operation(
    schemas: &mut Schemas,
    ops: &BTreeMap<String, (Method, String, Value)>,
    id: &str,
    properties: &mut Map<String, Value>,
    required: &mut BTreeSet<String>,
) -> (Operation, Option<String>, Value) {
    let (method, path, op) = ops
        .get(id)
        .unwrap_or_else(|| panic!("the document has no operation {id}"));
    let mut args = BTreeMap::new();
    for p in op["parameters"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default();
        let place = match p["in"].as_str() {
            Some("path") => Place::Path,
            // The key's own workspace is the only one it may act in.
            Some("query") if name != "workspaceId" => Place::Query,
            _ => continue,
        };
        let mut schema = schemas.take(&p["schema"]);
        let kind = match crate::web::json::schema_type(&schema) {
            "integer" => "integer",
            "number" => "number",
            "boolean" => "boolean",
            _ => "string",
        };
        if let Some(d) = p["description"].as_str() {
            schema["description"] = json!(d);
        }
        if !p["example"].is_null() {
            schema["examples"] = json!([p["example"]]);
        }
        properties.insert(name.to_string(), schema);
        if p["required"] == json!(true) {
            required.insert(name.to_string());
        }
        args.insert(name.to_string(), (place, kind));
    }
    let body = &op["requestBody"]["content"]["application/json"]["schema"];
    if !body.is_null() {
        let body = schemas.inline(body);
        for (name, schema) in body["properties"].as_object().into_iter().flatten() {
            assert!(
                !args.contains_key(name),
                "{id}: `{name}` is both a parameter and a body field"
            );
            properties.insert(name.clone(), schema.clone());
            args.insert(name.clone(), (Place::Body, "any"));
        }
        for name in body["required"].as_array().into_iter().flatten() {
            required.insert(name.as_str().unwrap_or_default().to_string());
        }
    }
    let scope = op["security"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|s| s["apiKey"].as_array())
        .and_then(|scopes| scopes.first())
        .and_then(Value::as_str)
        .map(str::to_string);
    let answer = op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .find(|(status, _)| status.starts_with('2'))
        .map(|(_, r)| r["content"]["application/json"]["schema"].clone())
        .unwrap_or(Value::Null);
    assert!(!answer.is_null(), "{id} answers no JSON body");
    (
        Operation {
            method: method.clone(),
            path: path.clone(),
            args,
            body: !body.is_null(),
        },
        scope,
        answer,
    )
}

fn build(spec: &Spec, ops: &BTreeMap<String, (Method, String, Value)>, doc: &Value) -> ToolDef {
    let mut input = Schemas::new(doc);
    let mut output = Schemas::new(doc);
    let mut properties = Map::new();
    let mut required = BTreeSet::new();
    let mut scopes = BTreeSet::new();
    // Hidden from keys restricted to accounts when every operation behind it would refuse
    // them (`get_insights` stays: only its `salary` kind is refused).
    let mut whole = true;
    let mut one =
        |id: &str, properties: &mut Map<String, Value>, required: &mut BTreeSet<String>| {
            let (op, scope, answer) = operation(&mut input, ops, id, properties, required);
            scopes.insert(scope);
            whole &= ops.get(id).is_some_and(|(.., op)| {
                op["responses"]["403"]["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("`account_restricted`"))
            });
            (op, answer)
        };
    let (route, answer) = match &spec.source {
        Source::One(id) => {
            let (op, answer) = one(id, &mut properties, &mut required);
            (Route::One(op), output.inline(&answer))
        }
        Source::ByKind(kinds) => {
            let mut routes = Vec::new();
            let mut answers = Vec::new();
            for (kind, id) in *kinds {
                // A kind's own required arguments are checked when it is called.
                let (op, answer) = one(id, &mut properties, &mut BTreeSet::new());
                routes.push((*kind, op));
                answers.push(output.take(&answer));
            }
            properties.insert(
                "kind".into(),
                json!({"type": "string", "enum": kinds.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
                       "description": "Which insight."}),
            );
            required.insert("kind".into());
            (
                Route::ByKind(routes),
                json!({"type": "object", "anyOf": answers}),
            )
        }
        Source::Upsert {
            create,
            replace,
            list,
            key,
        } => {
            let (create, answer) = one(create, &mut properties, &mut required);
            let (replace, _) = one(replace, &mut properties, &mut BTreeSet::new());
            // Finding the budget to replace reads the list, which `write:budgets` allows.
            let (list, _, _) = operation(
                &mut Schemas::new(doc),
                ops,
                list,
                &mut Map::new(),
                &mut BTreeSet::new(),
            );
            if let Some(id) = properties.get_mut("id") {
                id["description"] = json!("The budget to replace; without it, the one for the same category and month (or a new one).");
            }
            (
                Route::Upsert {
                    create,
                    replace,
                    list,
                    key,
                },
                output.inline(&answer),
            )
        }
    };
    let scope = match scopes.into_iter().collect::<Vec<_>>().as_slice() {
        [scope] => scope.clone(),
        more => panic!(
            "{}: its operations need different scopes {more:?}",
            spec.name
        ),
    };
    if let Some(w) = spec.write {
        if w.dry_run {
            properties.insert(
                "dryRun".into(),
                json!({"type": "boolean", "default": false,
                "description": "Answer what would change, and change nothing."}),
            );
        }
        if w.idempotency_key {
            properties.insert("idempotencyKey".into(), json!({"type": "string", "minLength": 1, "maxLength": 255,
                "pattern": "^[!-~]+$", "examples": ["import-2026-11-0001"],
                "description": "1–255 printable ASCII characters. A retry with the same key and arguments (within 24 hours) answers what the first call did and stores nothing twice."}));
        }
    }
    let known: BTreeSet<String> = properties.keys().cloned().collect();
    let required: Vec<String> = required.into_iter().collect();
    let input = input.finish(json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    }));
    let annotations = ToolAnnotations::with_title(spec.title)
        .read_only(spec.write.is_none())
        .destructive(spec.write.is_some_and(|w| w.destructive))
        .idempotent(spec.write.is_none_or(|w| w.idempotent))
        .open_world(spec.open_world);
    let tool = Tool::new(spec.name, spec.description, input)
        .with_title(spec.title)
        .with_raw_output_schema(output.finish(answer))
        .with_annotations(annotations);
    ToolDef {
        tool,
        scope,
        whole,
        route,
        write: spec.write,
        known,
        required,
    }
}

/// Every tool, in the order `tools/list` shows them. Panics when the document lacks an
/// operation a tool calls (the tests build it, so that cannot ship).
pub fn catalog(doc: &Value) -> Vec<ToolDef> {
    let ops = operations(doc);
    SPECS.iter().map(|spec| build(spec, &ops, doc)).collect()
}
