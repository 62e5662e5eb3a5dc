//! Small helpers shared by the layers.

use std::collections::HashSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Returns a `&'static str` equal to `name`, leaking each distinct name once.
///
/// `NotifyError` names its channel with a `&'static str`; layers that make their own
/// errors (timeout, open circuit) take the wrapped notifier's name, which is only
/// known at run time. Names come from configuration, so the set is small and bounded.
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut guard = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    let set = guard.get_or_insert_with(HashSet::new);
    if let Some(s) = set.get(name) {
        return s;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    set.insert(leaked);
    leaked
}

/// A fast, non-cryptographic random number in `[0, 1)` for jitter (splitmix64 over a
/// per-process seed and a counter).
pub(crate) fn random_unit() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let seed = *SEED.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(std::process::id().into());
        h.finish()
    });
    let mut z = seed.wrapping_add(
        STATE
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15),
    );
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs `fut`, turning a panic inside it into `Err` with the panic's message, so a
/// channel with a bug cannot take down the task that called it.
///
/// (`futures::FutureExt::catch_unwind` does the same; this crate does not depend on
/// `futures` for these few lines.) The message is for the caller to decide about:
/// it may hold anything the panicking code formatted, so it is not logged here.
pub(crate) async fn catch_panic<F: Future>(fut: F) -> Result<F::Output, String> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(payload) => {
                let msg = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic without a message".to_owned());
                std::task::Poll::Ready(Err(msg))
            }
        }
    })
    .await
}

/// `d` scaled by `f`, saturating.
pub(crate) fn scale(d: Duration, f: f64) -> Duration {
    if !f.is_finite() || f <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(d.as_secs_f64() * f).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interning_returns_the_same_pointer() {
        let a = intern("slack-ops");
        let b = intern(&String::from("slack-ops"));
        assert!(std::ptr::eq(a, b));
        assert_eq!(a, "slack-ops");
    }

    #[tokio::test]
    async fn catch_panic_turns_a_panic_into_an_error_and_passes_values_through() {
        assert_eq!(catch_panic(async { 7 }).await, Ok(7));
        let r = catch_panic(async {
            tokio::task::yield_now().await;
            if std::hint::black_box(true) {
                panic!("boom {}", 42);
            }
            1
        })
        .await;
        assert_eq!(r, Err("boom 42".to_owned()));
        let r = catch_panic(async {
            std::panic::panic_any(5u8);
        })
        .await;
        assert_eq!(r, Err("a panic without a message".to_owned()));
    }

    #[test]
    fn random_unit_is_in_range_and_varies() {
        let v: Vec<f64> = (0..1000).map(|_| random_unit()).collect();
        assert!(v.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }
}
