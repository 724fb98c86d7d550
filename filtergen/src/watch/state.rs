//! What `watch` keeps of a device across ring files: the observations of
//! every file analysed, folded together, with bounds so that memory stays
//! flat however long the capture runs. What a bound drops is counted and
//! said in the report's notes.

use std::collections::BTreeMap;

use crate::report::observe::Observations;

/// Endpoints (remote, transport, port, side) kept per device; traffic of
/// further endpoints is not kept.
pub const MAX_ENDPOINTS: usize = 4096;
/// DNS names kept per device.
pub const MAX_NAMES: usize = 4096;
/// Burst start times kept per endpoint, and question times per DNS name:
/// the most recent ones (periods are measured on them).
pub const MAX_TIMES: usize = 4096;
/// Addresses whose DNS answers are kept, and IoT (field, value) and
/// (protocol, remote) pairs.
pub const MAX_ENTRIES: usize = 16384;

/// How much each bound dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dropped {
    pub endpoints: u64,
    pub names: u64,
    pub times: u64,
    pub entries: u64,
}

impl Dropped {
    /// One note per bound that was hit.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.endpoints > 0 {
            notes.push(format!("watch kept {MAX_ENDPOINTS} endpoints per device: traffic of {} more endpoints was left out", self.endpoints));
        }
        if self.names > 0 {
            notes.push(format!("watch kept {MAX_NAMES} DNS names per device: {} more names were left out", self.names));
        }
        if self.times > 0 {
            notes.push(format!("watch kept the last {MAX_TIMES} burst and question times per endpoint and name: {} older times were dropped (periods measured on the recent ones)", self.times));
        }
        if self.entries > 0 {
            notes.push(format!("watch kept {MAX_ENTRIES} DNS answers and IoT ids: {} more were left out", self.entries));
        }
        notes
    }
}

/// Folds one ring file's observations into the running ones, within the bounds.
pub fn fold(running: &mut Observations, mut file: Observations, dropped: &mut Dropped) {
    let room = MAX_ENDPOINTS.saturating_sub(running.flows.len());
    let mut new: Vec<_> = file.flows.keys().filter(|k| !running.flows.contains_key(*k)).cloned().collect();
    if new.len() > room {
        new.sort();
        for key in &new[room..] {
            file.flows.remove(key);
            dropped.endpoints += 1;
        }
    }
    let room = MAX_NAMES.saturating_sub(running.dns.len());
    let new: Vec<String> = file.dns.keys().filter(|k| !running.dns.contains_key(*k)).cloned().collect();
    for name in new.iter().skip(room) {
        file.dns.remove(name);
        dropped.names += 1;
    }
    dropped.entries += cap_new(&mut file.answered, &running.answered);
    dropped.entries += cap_new(&mut file.iot, &running.iot);
    dropped.entries += cap_new(&mut file.iot_remotes, &running.iot_remotes);
    running.merge(file);
    for flow in running.flows.values_mut() {
        dropped.times += keep_last(&mut flow.bursts);
    }
    for name in running.dns.values_mut() {
        dropped.times += keep_last(&mut name.asked);
    }
}

/// Removes the keys of `file` that `running` lacks beyond [`MAX_ENTRIES`].
fn cap_new<K: Ord + Clone, V>(file: &mut BTreeMap<K, V>, running: &BTreeMap<K, V>) -> u64 {
    let room = MAX_ENTRIES.saturating_sub(running.len());
    let new: Vec<K> = file.keys().filter(|k| !running.contains_key(*k)).cloned().collect();
    let over: Vec<&K> = new.iter().skip(room).collect();
    for k in &over {
        file.remove(*k);
    }
    over.len() as u64
}

/// Keeps the last [`MAX_TIMES`] of sorted times; returns how many went.
fn keep_last(times: &mut Vec<f64>) -> u64 {
    let over = times.len().saturating_sub(MAX_TIMES);
    times.drain(..over);
    over as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::observe::{EndpointKey, Flow, Remote};

    fn with_flows(range: std::ops::Range<u32>, bursts: usize) -> Observations {
        let mut o = Observations::default();
        for i in range {
            let key = EndpointKey { remote: Remote::Ip(std::net::Ipv4Addr::from(i).into()), transport: "udp".into(), port: Some(9), device_serves: false };
            let flow = Flow { packets: [1, 0], bursts: (0..bursts).map(|b| b as f64 * 10.0).collect(), ..Flow::default() };
            o.flows.insert(key, flow);
        }
        o
    }

    #[test]
    fn bounds_hold_and_are_counted() {
        let mut running = Observations::default();
        let mut dropped = Dropped::default();
        fold(&mut running, with_flows(0..(MAX_ENDPOINTS as u32 - 10), 2), &mut dropped);
        assert_eq!(dropped, Dropped::default());
        // 30 new endpoints, room for 10; one known endpoint gets many times.
        fold(&mut running, with_flows((MAX_ENDPOINTS as u32 - 20)..(MAX_ENDPOINTS as u32 + 20), MAX_TIMES + 5), &mut dropped);
        assert_eq!(running.flows.len(), MAX_ENDPOINTS);
        assert_eq!(dropped.endpoints, 20);
        assert!(dropped.times > 0);
        assert!(running.flows.values().all(|f| f.bursts.len() <= MAX_TIMES));
        assert_eq!(dropped.notes().len(), 2);
    }
}
