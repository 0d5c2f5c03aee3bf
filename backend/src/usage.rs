//! Key usage, recorded off the request path: a bounded queue the key extractor fills and the
//! keys feature's writer drains (`keys::usage`).

use std::sync::Mutex;

use tokio::sync::mpsc;

use crate::request_meta::RequestMeta;

/// A successful or refused key use, recorded off the request path.
pub enum Usage {
    Used {
        key_id: String,
        user_id: String,
        at: i64,
        meta: RequestMeta,
    },
    Denied {
        key_id: String,
        user_id: String,
        at: i64,
        meta: RequestMeta,
        reason: &'static str,
    },
}

/// A bounded queue of usage events; `keys::usage::run_writer` (started by `serve`) drains it.
pub struct UsageRecorder {
    tx: mpsc::Sender<Usage>,
    rx: Mutex<Option<mpsc::Receiver<Usage>>>,
}

impl Default for UsageRecorder {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(10_000);
        Self {
            tx,
            rx: Mutex::new(Some(rx)),
        }
    }
}

impl UsageRecorder {
    /// Never blocks and never fails the request: when the queue is full the event is dropped.
    pub fn record(&self, usage: Usage) {
        let _ = self.tx.try_send(usage);
    }
}

impl UsageRecorder {
    /// The receiving end, once (the writer takes it when it starts).
    pub fn take_receiver(&self) -> Option<mpsc::Receiver<Usage>> {
        self.rx.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}
