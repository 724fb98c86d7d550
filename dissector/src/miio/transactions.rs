//! Request/response matching on the JSON `id`, per conversation, as
//! Wireshark does for DNS: the first pass pairs a response with the
//! outstanding request of the same id sent the other way, and records the
//! pair by frame so any later pass shows the same links.

use std::collections::HashMap;

/// Outstanding requests kept per conversation; beyond this the oldest
/// unanswered ones are forgotten.
const MAX_PENDING: usize = 1024;

/// What a message is linked to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Link {
    /// A request, answered in this frame.
    ResponseIn(u32),
    /// A response to the request in `frame`, `seconds` later.
    RequestIn { frame: u32, seconds: f64 },
}

/// Which way a message goes within its conversation.
pub type Direction = bool;

#[derive(Default)]
pub struct Transactions {
    /// (direction of the request, id) → (frame, time) of the request.
    pending: HashMap<(Direction, u64), (u32, f64)>,
    /// (frame, id) → link, for every matched message.
    links: HashMap<(u32, u64), Link>,
}

impl Transactions {
    /// A request seen on the first pass.
    pub fn request(&mut self, dir: Direction, id: u64, frame: u32, time: f64) {
        if self.pending.len() >= MAX_PENDING && !self.pending.contains_key(&(dir, id)) {
            let oldest = self.pending.iter().min_by_key(|(_, &(f, _))| f).map(|(k, _)| *k);
            if let Some(k) = oldest {
                self.pending.remove(&k);
            }
        }
        self.pending.insert((dir, id), (frame, time));
    }

    /// A response seen on the first pass: pairs it with the request of the
    /// same id that went the other way.
    pub fn response(&mut self, dir: Direction, id: u64, frame: u32, time: f64) {
        if self.links.contains_key(&(frame, id)) {
            return;
        }
        if let Some((req, at)) = self.pending.remove(&(!dir, id)) {
            self.links.insert((req, id), Link::ResponseIn(frame));
            // Capture times are f64 seconds since the epoch, good to a few
            // tenths of a microsecond: the difference is rounded to the µs.
            let seconds = ((time - at).max(0.0) * 1e6).round() / 1e6;
            self.links.insert((frame, id), Link::RequestIn { frame: req, seconds });
        }
    }

    pub fn link(&self, frame: u32, id: u64) -> Option<Link> {
        self.links.get(&(frame, id)).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_by_id_and_direction() {
        let mut t = Transactions::default();
        t.request(false, 1, 3, 10.0);
        t.request(false, 2, 4, 1_704_067_200.003);
        t.response(false, 1, 5, 11.0); // same direction: not an answer
        t.response(true, 2, 6, 1_704_067_200.034);
        t.response(true, 1, 7, 12.0);
        assert_eq!(t.link(3, 1), Some(Link::ResponseIn(7)));
        assert_eq!(t.link(7, 1), Some(Link::RequestIn { frame: 3, seconds: 2.0 }));
        assert_eq!(t.link(4, 2), Some(Link::ResponseIn(6)));
        assert_eq!(t.link(6, 2), Some(Link::RequestIn { frame: 4, seconds: 0.031 }));
        assert_eq!(t.link(5, 1), None);
        // A repeated id later pairs anew.
        t.request(false, 1, 20, 30.0);
        t.response(true, 1, 21, 30.5);
        assert_eq!(t.link(21, 1), Some(Link::RequestIn { frame: 20, seconds: 0.5 }));
        assert_eq!(t.link(7, 1), Some(Link::RequestIn { frame: 3, seconds: 2.0 }));
    }

    #[test]
    fn unanswered_requests_are_bounded() {
        let mut t = Transactions::default();
        for i in 0..(MAX_PENDING as u64 * 3) {
            t.request(false, i, i as u32, 0.0);
        }
        assert_eq!(t.pending.len(), MAX_PENDING);
        t.response(true, MAX_PENDING as u64 * 3 - 1, 99_999, 1.0);
        assert!(t.link(99_999, MAX_PENDING as u64 * 3 - 1).is_some());
        t.response(true, 0, 100_000, 1.0);
        assert_eq!(t.link(100_000, 0), None, "the oldest was forgotten");
    }
}
