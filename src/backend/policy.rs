//! How patiently a store is asked again after a transient failure: the pauses (decorrelated
//! jitter between a base and a cap) and the number of tries, shared by [`super::Retrying`] and the
//! range streams it resumes.

use rand::Rng;
use std::time::Duration;

/// How often and how patiently [`super::Retrying`] tries again.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// The shortest pause (default 100 ms).
    pub base: Duration,
    /// The longest pause (default 15 s).
    pub cap: Duration,
    /// Tries in all, the first included (default 10: about a minute of pauses at most with the
    /// defaults).
    pub max_tries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(15),
            max_tries: 10,
        }
    }
}

impl RetryPolicy {
    /// The pause after `previous`: random between the base and three times `previous`, at most
    /// the cap, and at least the store's hint (itself at most the cap).
    pub(crate) fn next_pause(&self, previous: Duration, hint: Option<Duration>) -> Duration {
        let high = previous.saturating_mul(3).max(self.base);
        let pause = if high > self.base {
            rand::thread_rng().gen_range(self.base..=high)
        } else {
            self.base
        };
        let pause = pause.min(self.cap);
        match hint {
            Some(h) => pause.max(h.min(self.cap)),
            None => pause,
        }
    }
}
