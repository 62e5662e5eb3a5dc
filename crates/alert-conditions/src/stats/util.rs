//! Numerical building blocks: sorting, quantiles, compensated sums.

/// Below this length a comparison sort beats the radix sort's fixed costs.
const RADIX_MIN: usize = 512;
/// Above this length (each) two samples are sorted on two threads.
const PARALLEL_MIN: usize = 65_536;

/// A key whose unsigned order is the numeric order of finite floats
/// (`-0.0` is folded into `+0.0`).
#[inline]
fn key(x: f64) -> u64 {
    let b = (x + 0.0).to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

#[inline]
fn unkey(k: u64) -> f64 {
    if k >> 63 == 1 {
        f64::from_bits(k & !(1 << 63))
    } else {
        f64::from_bits(!k)
    }
}

/// Sorts finite floats ascending (LSD radix sort on order-preserving keys, 11-bit
/// digits, passes whose digit is constant skipped). NaN-free input is the caller's
/// contract; NaNs would sort to the ends but never reach here.
pub(crate) fn sort_floats(xs: &mut [f64]) {
    let n = xs.len();
    if n < RADIX_MIN {
        xs.sort_unstable_by(f64::total_cmp);
        return;
    }
    const BITS: u32 = 11;
    const PASSES: usize = 6;
    const BUCKETS: usize = 1 << BITS;
    let mut keys: Vec<u64> = xs.iter().map(|&x| key(x)).collect();
    let mut counts = vec![[0usize; BUCKETS]; PASSES];
    for &k in &keys {
        for (p, c) in counts.iter_mut().enumerate() {
            c[((k >> (p as u32 * BITS)) as usize) & (BUCKETS - 1)] += 1;
        }
    }
    let mut buf = vec![0u64; n];
    for (p, c) in counts.iter_mut().enumerate() {
        if c.contains(&n) {
            continue; // every key has the same digit here
        }
        let mut sum = 0;
        for v in c.iter_mut() {
            let t = *v;
            *v = sum;
            sum += t;
        }
        let shift = p as u32 * BITS;
        for &k in &keys {
            let d = ((k >> shift) as usize) & (BUCKETS - 1);
            buf[c[d]] = k;
            c[d] += 1;
        }
        std::mem::swap(&mut keys, &mut buf);
    }
    for (x, k) in xs.iter_mut().zip(keys) {
        *x = unkey(k);
    }
}

/// A sorted copy of `xs`.
pub(crate) fn sorted(xs: &[f64]) -> Vec<f64> {
    let mut v = xs.to_vec();
    sort_floats(&mut v);
    v
}

/// Sorted copies of two samples, on two threads when both are large.
pub(crate) fn sorted_pair(a: &[f64], b: &[f64]) -> (Vec<f64>, Vec<f64>) {
    if a.len().min(b.len()) >= PARALLEL_MIN && parallelism() > 1 {
        std::thread::scope(|s| {
            let h = s.spawn(|| sorted(b));
            let sa = sorted(a);
            // A panic in the helper thread can only come from an allocation failure;
            // fall back to sorting here rather than propagating it.
            let sb = h.join().unwrap_or_else(|_| sorted(b));
            (sa, sb)
        })
    } else {
        (sorted(a), sorted(b))
    }
}

/// The number of threads worth using.
pub(crate) fn parallelism() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The values at the given ranks (0-based, ascending) of the sorted order of `xs`
/// (finite, non-empty), without sorting everything: a radix select on the top 16
/// bits of the order-preserving keys, then sorting only the buckets that hold a
/// wanted rank.
pub(crate) fn order_statistics(xs: &[f64], ranks: &[usize]) -> Vec<f64> {
    const SHIFT: u32 = 48;
    const BUCKETS: usize = 1 << 16;
    if xs.len() < 4096 {
        let s = sorted(xs);
        return ranks.iter().map(|&r| s[r]).collect();
    }
    let mut hist = vec![0u32; BUCKETS];
    for &x in xs {
        hist[(key(x) >> SHIFT) as usize] += 1;
    }
    let mut start = vec![0usize; BUCKETS + 1];
    for b in 0..BUCKETS {
        start[b + 1] = start[b] + hist[b] as usize;
    }
    // The bucket of each rank, and a slot per distinct needed bucket.
    let mut slot = vec![u8::MAX; BUCKETS];
    let mut needed: Vec<usize> = Vec::new();
    let bucket_of: Vec<usize> = ranks
        .iter()
        .map(|&r| start.partition_point(|&s| s <= r) - 1)
        .collect();
    for &b in &bucket_of {
        if slot[b] == u8::MAX && needed.len() < 255 {
            slot[b] = needed.len() as u8;
            needed.push(b);
        }
    }
    if needed.len() == 255 {
        let s = sorted(xs);
        return ranks.iter().map(|&r| s[r]).collect();
    }
    let mut parts: Vec<Vec<f64>> = needed
        .iter()
        .map(|&b| Vec::with_capacity(hist[b] as usize))
        .collect();
    for &x in xs {
        let sl = slot[(key(x) >> SHIFT) as usize];
        if sl != u8::MAX {
            parts[sl as usize].push(x);
        }
    }
    for p in &mut parts {
        sort_floats(p);
    }
    ranks
        .iter()
        .zip(&bucket_of)
        .map(|(&r, &b)| parts[slot[b] as usize][r - start[b]])
        .collect()
}

/// `np.quantile(xs, qs)` (linear method) for several `qs` without a full sort.
pub(crate) fn quantiles_unsorted(xs: &[f64], qs: &[f64]) -> Vec<f64> {
    let n = xs.len();
    let mut ranks = Vec::with_capacity(2 * qs.len());
    for &q in qs {
        let virt = (n as f64 - 1.0) * q;
        if virt >= (n - 1) as f64 {
            ranks.push(n - 1);
        } else if virt < 0.0 {
            ranks.push(0);
        } else {
            let i = virt.floor() as usize;
            ranks.push(i);
            ranks.push(i + 1);
        }
    }
    ranks.sort_unstable();
    ranks.dedup();
    let values = order_statistics(xs, &ranks);
    let at = |r: usize| values[ranks.binary_search(&r).unwrap_or(0)];
    qs.iter()
        .map(|&q| {
            let virt = (n as f64 - 1.0) * q;
            if virt >= (n - 1) as f64 {
                at(n - 1)
            } else if virt < 0.0 {
                at(0)
            } else {
                let prev = virt.floor();
                let i = prev as usize;
                lerp(at(i), at(i + 1), virt - prev)
            }
        })
        .collect()
}

/// numpy's `_lerp`: `a + (b-a)t`, computed from `b` when `t >= 0.5`.
#[inline]
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// The `q`-quantile of sorted, non-empty data with numpy's default `linear` method
/// (`np.quantile(x, q)`, Hyndman-Fan type 7), bit for bit.
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let virt = (n as f64 - 1.0) * q;
    if virt >= (n - 1) as f64 {
        return sorted[n - 1];
    }
    if virt < 0.0 {
        return sorted[0];
    }
    let prev = virt.floor();
    let i = prev as usize;
    lerp(sorted[i], sorted[i + 1], virt - prev)
}

/// [`quantile_sorted`] of finite, non-empty data that is not sorted, by selection
/// (O(n), reordering `xs`): the same value, bit for bit.
pub(crate) fn quantile_select(xs: &mut [f64], q: f64) -> f64 {
    let n = xs.len();
    let virt = (n as f64 - 1.0) * q;
    if virt >= (n - 1) as f64 {
        return xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    }
    if virt < 0.0 {
        return xs.iter().copied().fold(f64::INFINITY, f64::min);
    }
    let prev = virt.floor();
    let i = prev as usize;
    let (_, a, right) = xs.select_nth_unstable_by(i, f64::total_cmp);
    let a = *a;
    // i < n - 1, so the values above the i-th are not empty; the next order
    // statistic is their minimum.
    let b = right.iter().copied().fold(f64::INFINITY, f64::min);
    lerp(a, b, virt - prev)
}

/// `np.linspace(0, 1, bins + 1)`'s interior points, as numpy computes them.
pub(crate) fn interior_linspace(bins: usize) -> Vec<f64> {
    let step = 1.0 / bins as f64;
    (1..bins).map(|i| i as f64 * step).collect()
}

/// A compensated (Neumaier) sum: accurate to a few ulps whatever the order.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sum {
    s: f64,
    c: f64,
}

impl Sum {
    #[inline]
    pub(crate) fn add(&mut self, x: f64) {
        let t = self.s + x;
        if self.s.abs() >= x.abs() {
            self.c += (self.s - t) + x;
        } else {
            self.c += (x - t) + self.s;
        }
        self.s = t;
    }
    #[inline]
    pub(crate) fn value(self) -> f64 {
        self.s + self.c
    }
}

/// The exponent `e` of a power of two at or above every magnitude in `xs`
/// (`max |x| <= 2^e`), for rescaling finite samples whose plain computation
/// overflows: multiplying by `2^-e` is exact (barring values that become
/// subnormal, which then matter less than one part in 2^50 of the result).
pub(crate) fn magnitude_exponent<'a>(xs: impl IntoIterator<Item = &'a f64>) -> i64 {
    let m = xs.into_iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if m == 0.0 || !m.is_normal() {
        return 0;
    }
    // m = 1.f * 2^(biased - 1023) < 2^(biased - 1022)
    ((m.to_bits() >> 52) & 0x7ff) as i64 - 1022
}

/// `xs` multiplied by `2^-e`.
pub(crate) fn scaled_down(xs: &[f64], e: i64) -> Vec<f64> {
    let s = ldexp(1.0, -e);
    xs.iter().map(|&x| x * s).collect()
}

/// `ldexp(x, e)` without overflow in the scale factor.
pub(crate) fn ldexp(mut x: f64, mut e: i64) -> f64 {
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    x * 2f64.powi(e as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn radix_sort_matches_comparison_sort() {
        let mut state = 0x1234_5678_9abc_def0_u64;
        let mut xs: Vec<f64> = (0..5000)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                match i % 7 {
                    0 => -0.0,
                    1 => 0.0,
                    2 => (u - 0.5) * 1e-300,
                    3 => (u - 0.5) * 1e300,
                    _ => (u - 0.5) * 10.0,
                }
            })
            .collect();
        let mut expected = xs.clone();
        expected.sort_by(|a, b| a.partial_cmp(b).unwrap());
        sort_floats(&mut xs);
        for (a, b) in xs.iter().zip(&expected) {
            assert!(a == b, "{a} != {b}");
        }
    }

    #[test]
    fn order_statistics_match_sorting() {
        let mut state = 99u64;
        let xs: Vec<f64> = (0..50_000)
            .map(|i| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let u = (state >> 11) as f64 / (1u64 << 53) as f64;
                if i % 10 == 0 { 1.0 } else { (u - 0.3) * 7.0 }
            })
            .collect();
        let s = sorted(&xs);
        let ranks = [0, 1, 4999, 5000, 25_000, 49_998, 49_999];
        assert_eq!(order_statistics(&xs, &ranks), ranks.map(|r| s[r]).to_vec());
        let qs = interior_linspace(10);
        let want: Vec<f64> = qs.iter().map(|&q| quantile_sorted(&s, q)).collect();
        assert_eq!(quantiles_unsorted(&xs, &qs), want);
        let constant = vec![2.5; 10_000];
        assert_eq!(
            quantiles_unsorted(&constant, &[0.0, 0.5, 1.0]),
            vec![2.5; 3]
        );
    }

    #[test]
    fn quantile_matches_numpy_examples() {
        // np.quantile([1, 2, 3, 4], [0, .25, .5, .9, 1]) == [1, 1.75, 2.5, 3.7, 4]
        let xs = [1.0, 2.0, 3.0, 4.0];
        let got: Vec<f64> = [0.0, 0.25, 0.5, 0.9, 1.0]
            .iter()
            .map(|&q| quantile_sorted(&xs, q))
            .collect();
        assert_eq!(got, [1.0, 1.75, 2.5, 3.7, 4.0]);
        assert_eq!(quantile_sorted(&[7.0], 0.3), 7.0);
    }

    #[test]
    fn quantile_by_selection_matches_sorting() {
        let xs: Vec<f64> = (0..1001)
            .map(|i| ((i * 7919) % 1013) as f64 / 3.0)
            .collect();
        let s = sorted(&xs);
        for q in [0.0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0] {
            let mut v = xs.clone();
            assert_eq!(quantile_select(&mut v, q), quantile_sorted(&s, q), "q={q}");
        }
        assert_eq!(quantile_select(&mut [4.0], 0.5), 4.0);
        assert_eq!(quantile_select(&mut [4.0, 2.0], 0.5), 3.0);
    }

    #[test]
    fn compensated_sum_is_accurate() {
        let mut s = Sum::default();
        for x in [1e16, 1.0, -1e16, 1.0] {
            s.add(x);
        }
        assert_eq!(s.value(), 2.0);
        assert_eq!(ldexp(1.0, -1074), f64::from_bits(1));
        assert_eq!(ldexp(0.75, 3), 6.0);
    }
}
