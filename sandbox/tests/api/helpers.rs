//! A sandbox on port 0 per test, a reqwest client that does not follow redirects, and typed
//! shortcuts for the steps most tests share (token, connect a bank, list everything).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use tarabut_sandbox::{Sandbox, SandboxConfig};

pub const CLIENT_ID: &str = "pfn-dev";
pub const CLIENT_SECRET: &str = "pfn-dev-secret";
pub const REDIRECT: &str = "http://app.test/tarabut/callback";

pub struct TestSandbox {
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
}

/// A response: status, headers and the body parsed as JSON (`Null` when it is not JSON).
pub struct Res {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Res {
    /// The error code of an error envelope, after checking the envelope's shape.
    pub fn error(&self) -> &str {
        let traceless = self.json["traceId"].as_str().map_or(0, str::len);
        assert_eq!(traceless, 36, "traceId in {}", self.text);
        assert!(self.json["errorMessage"].is_string(), "{}", self.text);
        self.json["error"].as_str().unwrap_or("")
    }
}

/// Connecting a bank end to end.
pub struct Connected {
    pub token: String,
    pub intent_id: String,
    pub consent_id: String,
    pub location: String,
}

impl TestSandbox {
    pub async fn spawn() -> Self {
        Self::spawn_with(SandboxConfig::default()).await
    }

    pub async fn spawn_with(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::start("127.0.0.1:0", config)
            .await
            .expect("sandbox starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { sandbox, http }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.url())
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Res {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Res {
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Res {
        self.send(Method::GET, path, Some(token), None).await
    }

    /// A `/__sandbox/` call that must succeed.
    pub async fn control(&self, method: Method, path: &str, body: Value) -> Value {
        let res = self.send(method, path, None, Some(body)).await;
        assert!(
            res.status.is_success(),
            "{path}: {} {}",
            res.status,
            res.text
        );
        res.json
    }

    pub async fn token_response(&self, customer: Option<&str>, body: Value) -> Res {
        let mut req = self.http.post(self.url("/sandbox/token")).json(&body);
        if let Some(c) = customer {
            req = req.header("X-TG-CustomerUserId", c);
        }
        let res = req.send().await.expect("token request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Res {
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn token(&self, customer: Option<&str>) -> String {
        let res = self
            .token_response(
                customer,
                json!({ "clientId": CLIENT_ID, "clientSecret": CLIENT_SECRET, "grantType": "client_credentials" }),
            )
            .await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        res.json["accessToken"]
            .as_str()
            .expect("accessToken")
            .to_string()
    }

    pub async fn create_intent(&self, token: &str, customer: &str, provider: Option<&str>) -> Res {
        let mut body = json!({ "user": { "customerUserId": customer }, "redirectUrl": REDIRECT });
        if let Some(p) = provider {
            body["consent"] = json!({ "providerId": p });
        }
        self.send(
            Method::POST,
            "/accountInformation/v1/intent",
            Some(token),
            Some(body),
        )
        .await
    }

    /// Token, intent, completion through the control route.
    pub async fn connect(&self, customer: &str, provider: &str) -> Connected {
        let token = self.token(Some(customer)).await;
        let intent = self.create_intent(&token, customer, None).await;
        assert_eq!(intent.status, StatusCode::OK, "{}", intent.text);
        let intent_id = intent.json["intentId"]
            .as_str()
            .expect("intentId")
            .to_string();
        let done = self
            .control(
                Method::POST,
                &format!("/__sandbox/intents/{intent_id}/complete"),
                json!({ "status": "SUCCESSFUL", "providerId": provider }),
            )
            .await;
        Connected {
            token,
            intent_id,
            consent_id: done["consentId"].as_str().expect("consentId").to_string(),
            location: done["location"].as_str().expect("location").to_string(),
        }
    }

    pub async fn accounts(&self, token: &str) -> Vec<Value> {
        let res = self.get("/accountInformation/v2/accounts", token).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.text);
        res.json["accounts"].as_array().cloned().unwrap_or_default()
    }

    /// The account of `kind` (`CurrentAccount`/`Savings`) at `provider`.
    pub async fn account_id(&self, token: &str, provider: &str, kind: &str) -> String {
        self.accounts(token)
            .await
            .into_iter()
            .find(|a| a["providerId"] == provider && a["accountProductType"] == kind)
            .and_then(|a| a["accountId"].as_str().map(str::to_string))
            .expect("account present")
    }

    /// Every page of a transaction listing, following NEXT links.
    pub async fn all_pages(&self, token: &str, first: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut next = Some(self.url(first));
        let mut guard = 0;
        while let Some(url) = next.take() {
            guard += 1;
            assert!(guard < 1000, "runaway paging");
            let res = self
                .http
                .get(&url)
                .bearer_auth(token)
                .send()
                .await
                .expect("page");
            assert_eq!(res.status(), StatusCode::OK);
            let body: Value = res.json().await.expect("json");
            out.extend(body["transactions"].as_array().cloned().unwrap_or_default());
            next = body["links"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|l| l["rel"] == "NEXT")
                .and_then(|l| l["href"].as_str().map(str::to_string));
        }
        out
    }

    /// The control listing of an account's transactions.
    pub async fn truth(&self, account_id: &str) -> Value {
        self.control(
            Method::GET,
            &format!("/__sandbox/accounts/{account_id}/transactions"),
            Value::Null,
        )
        .await
    }
}

/// Minor units of a wire amount (a JSON number or a decimal string), exactly: the number's
/// shortest decimal text is parsed, never multiplied as a float.
pub fn minor(v: &Value, exp: u32) -> i64 {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("not an amount: {other}"),
    };
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    assert!(
        frac.len() <= exp as usize,
        "{text} has more than {exp} decimals"
    );
    let padded = format!("{frac:0<width$}", width = exp as usize);
    let sign = if int.starts_with('-') { -1 } else { 1 };
    let int: i64 = int.trim_start_matches('-').parse().expect("integer part");
    let frac: i64 = if padded.is_empty() {
        0
    } else {
        padded.parse().expect("fraction")
    };
    sign * (int * 10i64.pow(exp) + frac)
}
