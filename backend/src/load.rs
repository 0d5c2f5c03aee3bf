//! How busy the request path is, so work in the background can give way to it. The webhook
//! worker paces itself with a [`Pacer`]: while requests are being answered it pauses, after
//! each millisecond or so of work, for 32 times as long (or until the last request is
//! answered), so it keeps about 3 % of the time it competes for and all of the time nobody
//! asks anything.

use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Duration,
};

use tokio::sync::Notify;

/// How many times its work background work pauses while requests are in flight.
const PAUSE_PER_WORK: u32 = 32;
/// Work done before a pause (fewer, longer pauses cost fewer wake-ups).
const WORK_BEFORE_PAUSE: Duration = Duration::from_millis(1);
/// The longest one pause.
const LONGEST_PAUSE: Duration = Duration::from_millis(200);

#[derive(Default)]
pub struct Load {
    in_flight: AtomicUsize,
    quiet: Notify,
}

/// A request being answered; it counts until dropped.
pub struct InFlight<'a>(&'a Load);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.0.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.quiet.notify_waiters();
        }
    }
}

impl Load {
    /// Counts a request until the returned guard is dropped.
    pub fn enter(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(self)
    }

    pub fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) > 0
    }

    /// Paces one piece of background work.
    pub fn pacer(&self) -> Pacer<'_> {
        Pacer {
            load: self,
            owed: Duration::ZERO,
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

/// Background work's account of the time it took while requests were in flight.
pub struct Pacer<'a> {
    load: &'a Load,
    owed: Duration,
}

impl Pacer<'_> {
    /// After `worked` of work: returns at once while no request is in flight; otherwise,
    /// once a millisecond of such work has gathered, pauses for 32 times that (at most
    /// 200 ms) or until no request is in flight.
    pub async fn after(&mut self, worked: Duration) {
        if !self.load.busy() {
            self.owed = Duration::ZERO;
            return;
        }
        self.owed += worked;
        if self.owed < WORK_BEFORE_PAUSE {
            return;
        }
        let pause = (self.owed * PAUSE_PER_WORK).min(LONGEST_PAUSE);
        self.owed = Duration::ZERO;
        self.load.quiet_or(pause).await;
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
        pacer.after(Duration::from_millis(50)).await;
        assert!(t.elapsed() < Duration::from_millis(40), "idle: no pause");

        let guard = load.enter();
        let t = Instant::now();
        pacer.after(Duration::from_micros(300)).await;
        assert!(
            t.elapsed() < Duration::from_millis(5),
            "less than 1 ms owed: no pause"
        );
        pacer.after(Duration::from_micros(900)).await;
        let paused = t.elapsed();
        assert!(
            paused >= Duration::from_millis(38),
            "busy: 32 × 1.2 ms, got {paused:?}"
        );

        let t = Instant::now();
        let release = async {
            tokio::time::sleep(Duration::from_millis(30)).await;
            drop(guard);
        };
        tokio::join!(pacer.after(Duration::from_secs(1)), release);
        let paused = t.elapsed();
        assert!(
            paused < Duration::from_millis(150),
            "the last request's end ends the pause, got {paused:?}"
        );
        assert!(!load.busy());
    }
}
