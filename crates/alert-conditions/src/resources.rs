//! Process and host CPU and memory, sampled with `sysinfo`.

use alert_core::{Alert, Timestamp};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::rules::RuleSet;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// One resource sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceSample {
    /// When it was taken.
    pub at: Timestamp,
    /// Host CPU use in percent (0-100, all cores); `None` on the first sample (CPU
    /// use is a difference between two samples).
    pub host_cpu_percent: Option<f64>,
    /// Host memory in use, bytes.
    pub host_memory_used: u64,
    /// Host memory in total, bytes.
    pub host_memory_total: u64,
    /// `host_memory_used / host_memory_total` (0 when the total is unknown).
    pub host_memory_ratio: f64,
    /// This process's CPU use in percent of one core (may exceed 100 on several
    /// cores); `None` on the first sample.
    pub process_cpu_percent: Option<f64>,
    /// This process's resident memory, bytes; `None` when it cannot be read.
    pub process_memory: Option<u64>,
}

impl ResourceSample {
    /// The readings as `(metric, value)` pairs, the names a threshold rule watches:
    /// `host_cpu_percent` and `process_cpu_percent` (when known),
    /// `host_memory_ratio`, `host_memory_used_bytes`, and `process_memory_bytes`
    /// (when known).
    pub fn metrics(&self) -> Vec<(&'static str, f64)> {
        let mut m = Vec::with_capacity(5);
        if let Some(c) = self.host_cpu_percent {
            m.push(("host_cpu_percent", c));
        }
        m.push(("host_memory_ratio", self.host_memory_ratio));
        m.push(("host_memory_used_bytes", self.host_memory_used as f64));
        if let Some(c) = self.process_cpu_percent {
            m.push(("process_cpu_percent", c));
        }
        if let Some(b) = self.process_memory {
            m.push(("process_memory_bytes", b as f64));
        }
        m
    }

    /// Feeds every reading, taken at [`at`](Self::at), to the rules of `rules`
    /// watching it ([`metrics`](Self::metrics) names them); returns their alerts.
    ///
    /// ```
    /// use alert_conditions::resources::ResourceSample;
    /// use alert_conditions::rules::{Band, RuleSet, ThresholdSpec};
    /// use alert_core::Timestamp;
    /// let mut rules = RuleSet::from_specs([ThresholdSpec::new("HostMemoryHigh", "host_memory_ratio")
    ///     .warning(Band::above(0.9))]).unwrap();
    /// let reading = ResourceSample {
    ///     at: Timestamp::from_unix_seconds(1_800_000_000).unwrap(),
    ///     host_cpu_percent: Some(12.0),
    ///     host_memory_used: 15_000,
    ///     host_memory_total: 16_000,
    ///     host_memory_ratio: 0.9375,
    ///     process_cpu_percent: Some(3.0),
    ///     process_memory: Some(400),
    /// };
    /// let alerts = reading.observe(&mut rules).unwrap();
    /// assert_eq!(alerts[0].evidence.observed, Some(0.9375));
    /// ```
    pub fn observe(&self, rules: &mut RuleSet) -> Result<Vec<Alert>> {
        let mut out = Vec::new();
        for (metric, value) in self.metrics() {
            out.extend(rules.observe(metric, self.at, value)?);
        }
        Ok(out)
    }
}

/// Samples process and host CPU and memory. Call [`sample`](Self::sample)
/// periodically (at least `sysinfo::MINIMUM_CPU_UPDATE_INTERVAL`, 200 ms, apart for
/// meaningful CPU figures); feed the fields to threshold rules.
///
/// ```no_run
/// use alert_conditions::resources::ResourceSampler;
/// let mut s = ResourceSampler::new();
/// let first = s.sample();
/// assert!(first.host_cpu_percent.is_none());
/// // ... a while later
/// let next = s.sample();
/// println!("host cpu {:?}%, memory {:.0}%", next.host_cpu_percent, next.host_memory_ratio * 100.0);
/// ```
#[derive(Debug)]
pub struct ResourceSampler {
    sys: System,
    pid: Option<Pid>,
    samples: u64,
}

impl Default for ResourceSampler {
    fn default() -> Self {
        Self::new()
    }
}

impl ResourceSampler {
    /// A sampler for the host and the current process.
    pub fn new() -> Self {
        ResourceSampler {
            sys: System::new(),
            pid: sysinfo::get_current_pid().ok(),
            samples: 0,
        }
    }

    /// Takes a sample now.
    pub fn sample(&mut self) -> ResourceSample {
        self.sys.refresh_cpu_usage();
        self.sys.refresh_memory();
        if let Some(pid) = self.pid {
            self.sys.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                true,
                ProcessRefreshKind::nothing().with_cpu().with_memory(),
            );
        }
        let first = self.samples == 0;
        self.samples += 1;
        let proc_ = self.pid.and_then(|p| self.sys.process(p));
        let (used, total) = (self.sys.used_memory(), self.sys.total_memory());
        ResourceSample {
            at: Timestamp::now(),
            host_cpu_percent: (!first).then(|| f64::from(self.sys.global_cpu_usage())),
            host_memory_used: used,
            host_memory_total: total,
            host_memory_ratio: if total == 0 {
                0.0
            } else {
                used as f64 / total as f64
            },
            process_cpu_percent: if first {
                None
            } else {
                proc_.map(|p| f64::from(p.cpu_usage()))
            },
            process_memory: proc_.map(|p| p.memory()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_this_machine() {
        let mut s = ResourceSampler::new();
        let a = s.sample();
        assert!(a.host_cpu_percent.is_none());
        assert!(a.host_memory_total > 0);
        assert!(a.host_memory_used <= a.host_memory_total);
        assert!((0.0..=1.0).contains(&a.host_memory_ratio));
        assert!(a.process_memory.is_some_and(|m| m > 0), "{a:?}");
        let b = s.sample();
        let cpu = b.host_cpu_percent.unwrap();
        assert!((0.0..=100.0).contains(&cpu), "{cpu}");
        assert!(
            b.process_cpu_percent
                .is_some_and(|c| c >= 0.0 && c.is_finite())
        );
    }
}
