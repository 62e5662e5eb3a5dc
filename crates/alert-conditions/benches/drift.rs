//! Criterion benchmarks for the comparisons in docs/bench/alert-conditions.md; the
//! Python side of each is in `benches/python/`. Same sizes and distributions (not
//! the same random numbers) as the Python scripts.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use alert_conditions::drift::{Dataset, DatasetProfile, DriftOptions, detect_drift};
use alert_conditions::fairness::fairness_report;
use alert_conditions::stats::{ks_2samp, psi, wasserstein_distance};
use criterion::{Criterion, criterion_group, criterion_main};

const N: usize = 1_000_000;
const ROWS: usize = 100_000;

/// xorshift64* with Box-Muller: seeded normal and uniform draws.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        ((self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        mean + sd * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
    fn normals(&mut self, n: usize, mean: f64) -> Vec<f64> {
        (0..n).map(|_| self.normal(mean, 1.0)).collect()
    }
}

fn pair() -> (Vec<f64>, Vec<f64>) {
    let mut r = Rng(7);
    (r.normals(N, 0.0), r.normals(N, 0.01))
}

fn one_million(c: &mut Criterion) {
    let (a, b) = pair();
    let mut g = c.benchmark_group("1M_vs_1M");
    g.sample_size(20).measurement_time(Duration::from_secs(6));
    g.bench_function("ks_2samp", |bch| {
        bch.iter(|| ks_2samp(black_box(&a), black_box(&b)).unwrap())
    });
    g.bench_function("wasserstein", |bch| {
        bch.iter(|| wasserstein_distance(black_box(&a), black_box(&b)).unwrap())
    });
    g.bench_function("psi_10_bins", |bch| {
        bch.iter(|| psi(black_box(&a), black_box(&b), 10).unwrap())
    });
    g.finish();
}

fn dataset(seed: u64, shift: f64) -> Dataset {
    let mut r = Rng(seed);
    let mut d = Dataset::new();
    for i in 0..15 {
        let m = if i % 3 == 0 { shift } else { 0.0 };
        d = d.numeric(format!("num{i}"), r.normals(ROWS, m));
    }
    let cats = ["a", "b", "c", "d", "e"];
    for i in 0..5 {
        let v: Vec<&str> = (0..ROWS)
            .map(|_| cats[(r.uniform() * 5.0) as usize % 5])
            .collect();
        d = d.categorical(format!("cat{i}"), v);
    }
    d
}

fn dataset_drift(c: &mut Criterion) {
    let (reference, current) = (dataset(1, 0.0), dataset(2, 0.2));
    let opts = DriftOptions::default();
    let mut g = c.benchmark_group("dataset_drift_100k_x_20");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("profile_and_detect", |bch| {
        bch.iter(|| {
            let p = DatasetProfile::from_dataset(black_box(&reference)).unwrap();
            detect_drift(&p, black_box(&current), &opts).unwrap()
        })
    });
    let profile = DatasetProfile::from_dataset(&reference).unwrap();
    g.bench_function("detect_with_stored_profile", |bch| {
        bch.iter(|| detect_drift(black_box(&profile), black_box(&current), &opts).unwrap())
    });
    g.finish();
}

fn fairness(c: &mut Criterion) {
    let mut r = Rng(11);
    let names = ["a", "b", "c", "d"];
    let groups: Vec<&str> = (0..ROWS)
        .map(|_| names[(r.uniform() * 4.0) as usize % 4])
        .collect();
    let y: Vec<bool> = (0..ROWS).map(|_| r.uniform() < 0.4).collect();
    let p: Vec<bool> = y
        .iter()
        .map(|&t| r.uniform() < 0.35 + 0.3 * f64::from(u8::from(t)))
        .collect();
    let mut g = c.benchmark_group("fairness_100k");
    g.sample_size(50);
    g.bench_function("report_str_groups", |bch| {
        bch.iter(|| fairness_report(black_box(&y), black_box(&p), black_box(&groups)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, one_million, dataset_drift, fairness);
criterion_main!(benches);
