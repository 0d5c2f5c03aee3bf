//! How busy the request path is, so work in the background can give way to it. The webhook
//! worker paces itself with a [`Pacer`]: while requests are being answered it pauses 128 ms
//! (or until the last request is answered) after every 8 messages, so it takes a few per cent
//! of the CPU it competes for, and all of the time nobody asks anything. Pacing counts messages,
//! not time: a receiver far away makes a send slow without making it costly.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use tokio::sync::Notify;

/// Pieces of work between pauses while requests are in flight (fewer, longer pauses cost
/// fewer wake-ups).
const WORK_BEFORE_PAUSE: u32 = 8;
/// One pause.
const PAUSE: Duration = Duration::from_millis(128);

#[derive(Default)]
pub struct Load {
    in_flight: AtomicUsize,
    quiet: Notify,
}

/// A request being answered; it counts until dropped.
pub struct InFlight<'a>(&'a Load);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.leave();
    }
}

impl Load {
    /// Counts a request until the returned guard is dropped.
    pub fn enter(&self) -> InFlight<'_> {
        self.arrive();
        InFlight(self)
    }

    /// Counts a request until [`Load::leave`]: for a future that owns the state this `Load`
    /// lives in, and so cannot also hold an [`InFlight`] borrowing it (`http::edge`).
    pub fn arrive(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    /// The request [`Load::arrive`] counted was answered.
    pub fn leave(&self) {
        if self.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.quiet.notify_waiters();
        }
    }

    pub fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    /// Paces one piece of background work.
    pub fn pacer(&self) -> Pacer<'_> {
        Pacer {
            load: self,
            done: 0,
        }
    }

    /// Waits until no request is in flight or `pause` has passed.
    async fn quiet_or(&self, pause: Duration) {
        let quiet = self.quiet.notified();
        tokio::pin!(quiet);
        quiet.as_mut().enable();
        if !self.busy() {
            return;
        }
        tokio::select! {
            _ = quiet => {}
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

/// Background work's count of what it did while requests were in flight.
pub struct Pacer<'a> {
    load: &'a Load,
    done: u32,
}

impl Pacer<'_> {
    /// After one piece of work: returns at once while no request is in flight; otherwise,
    /// after every 8th such piece, pauses 128 ms or until no request is in flight.
    pub async fn after_one(&mut self) {
        if !self.load.busy() {
            self.done = 0;
            return;
        }
        self.done += 1;
        if self.done < WORK_BEFORE_PAUSE {
            return;
        }
        self.done = 0;
        self.load.quiet_or(PAUSE).await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::Load;

    #[tokio::test]
    async fn pauses_only_while_busy_and_ends_when_quiet() {
        let load = Load::default();
        let mut pacer = load.pacer();
        let t = Instant::now();
        for _ in 0..20 {
            pacer.after_one().await;
        }
        assert!(t.elapsed() < Duration::from_millis(30), "idle: no pause");

        let guard = load.enter();
        let t = Instant::now();
        for _ in 0..7 {
            pacer.after_one().await;
        }
        assert!(
            t.elapsed() < Duration::from_millis(30),
            "7 pieces: no pause yet"
        );
        pacer.after_one().await;
        let paused = t.elapsed();
        assert!(
            paused >= Duration::from_millis(120),
            "busy: 128 ms, got {paused:?}"
        );

        for _ in 0..7 {
            pacer.after_one().await;
        }
        let t = Instant::now();
        let release = async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(guard);
        };
        tokio::join!(pacer.after_one(), release);
        let paused = t.elapsed();
        assert!(
            paused < Duration::from_millis(55),
            "the last request's end ends the pause, got {paused:?}"
        );
        assert!(!load.busy());
    }
}
