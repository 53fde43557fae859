//! The route index: which routes a message must be tested against, so that the
//! router evaluates a handful of matchers per message instead of all of them.
//!
//! Each route's matcher says what it requires of a text header
//! ([`Matcher::required_values`]: `Logger == 'Bench' && Type == 'other7'` requires
//! `Type` ∈ {other7} and `Logger` ∈ {Bench}). The index keys up to two headers: a
//! route goes under the first chosen header it requires something of, in the
//! bucket of each value it accepts; the routes that require nothing of either
//! header are tested for every message. A message is then tested against its
//! header values' buckets plus those routes, merged in route order. Since a route
//! can only match a message whose header is in its set, the routes skipped are
//! exactly routes that would have said no: routing is unchanged, only cheaper.
//!
//! The headers are chosen when the table is built (at start and at each reload, with
//! the table: `crate::table`), as the plan that minimises the work for a message at
//! worst: the always-tested routes, plus the largest bucket of each keyed header,
//! plus the lookups. With 100 filters on `Logger == 'Bench' && Type == 'otherN'`
//! this keys `Type` (one route per value) and tests the two routes without a `Type`
//! for every message; two routes alone are not worth a lookup.
//!
//! Per message: at most two hash lookups, no allocation, no lock. The map is
//! `rustc-hash`'s Fx hash: a multiply and rotate per word, against SipHash's rounds,
//! for keys that are short header values. SipHash's protection does not apply here:
//! the keys come from the configuration, and a message can only look one up (which
//! costs a bounded probe whatever the message holds), never add one.

use std::ops::Range;

use heka_message::{Matcher, Message, TextHeader};
use rustc_hash::FxHashMap;

/// At most this many headers are keyed (so at most this many lookups per message).
const MAX_KEYED: usize = 2;

/// What a lookup costs, in route tests: hashing a short header value and comparing
/// it costs about as much as two simple matchers (`Logger == 'x'` is a few ns, the
/// bench's `Logger == 'Bench' && Type == 'otherN'` ~25 ns). So a header is keyed
/// only when it spares more than that; two routes on `Logger` are left unkeyed.
const LOOKUP_COST: usize = 2;

/// The routes to test for each message (indices into the table's routes).
pub(crate) struct RouteIndex {
    /// Routes no keyed header restricts: tested for every message.
    always: Box<[usize]>,
    keyed: Vec<HeaderIndex>,
}

/// One keyed header: its values, each with the routes that accept it.
struct HeaderIndex {
    header: TextHeader,
    buckets: FxHashMap<Box<[u8]>, Range<usize>>,
    /// Each bucket's routes, in route order, one bucket after the other.
    routes: Box<[usize]>,
}

/// What each route requires of each header (`TextHeader::ALL` order).
type Requirements = Vec<[Option<Vec<Box<[u8]>>>; TextHeader::ALL.len()]>;

impl RouteIndex {
    /// The index of routes with these matchers (`None`: a route that takes every
    /// message), in route order.
    pub(crate) fn build<'a>(matchers: impl IntoIterator<Item = Option<&'a Matcher>>) -> RouteIndex {
        let reqs: Requirements = matchers
            .into_iter()
            .map(|m| TextHeader::ALL.map(|h| m.and_then(|m| m.required_values(h))))
            .collect();
        let plan = best_plan(&reqs);
        let mut always = Vec::new();
        let mut pairs: Vec<Vec<(&[u8], usize)>> = vec![Vec::new(); plan.len()];
        for (route, req) in reqs.iter().enumerate() {
            match plan.iter().position(|&h| req[h].is_some()) {
                Some(k) => {
                    let values = req[plan[k]].iter().flatten();
                    pairs[k].extend(values.map(|v| (&v[..], route)));
                }
                None => always.push(route),
            }
        }
        let keyed = plan
            .iter()
            .zip(pairs)
            .map(|(&h, pairs)| HeaderIndex::new(TextHeader::ALL[h], pairs))
            .collect();
        RouteIndex {
            always: always.into_boxed_slice(),
            keyed,
        }
    }

    /// The routes `msg` must be tested against, in route order, each once.
    pub(crate) fn candidates<'a>(&'a self, msg: &Message) -> Candidates<'a> {
        let mut keyed: [&[usize]; MAX_KEYED] = [&[]; MAX_KEYED];
        for (list, index) in keyed.iter_mut().zip(&self.keyed) {
            *list = index.lookup(msg);
        }
        Candidates {
            always: &self.always,
            keyed,
        }
    }

    /// The headers keyed, in the order routes are assigned to them.
    #[cfg(test)]
    pub(crate) fn keyed_headers(&self) -> Vec<TextHeader> {
        self.keyed.iter().map(|k| k.header).collect()
    }
}

impl HeaderIndex {
    fn new(header: TextHeader, mut pairs: Vec<(&[u8], usize)>) -> HeaderIndex {
        // Sorted by value then route: each value's routes are contiguous and in order.
        pairs.sort_unstable();
        pairs.dedup();
        let mut buckets = FxHashMap::default();
        let mut start = 0;
        for (i, &(value, _)) in pairs.iter().enumerate() {
            if pairs.get(i + 1).is_none_or(|&(next, _)| next != value) {
                buckets.insert(Box::from(value), start..i + 1);
                start = i + 1;
            }
        }
        HeaderIndex {
            header,
            buckets,
            routes: pairs.into_iter().map(|(_, r)| r).collect(),
        }
    }

    fn lookup(&self, msg: &Message) -> &[usize] {
        match self.buckets.get(self.header.value(msg)) {
            Some(range) => &self.routes[range.clone()],
            None => &[],
        }
    }
}

/// The headers to key (indices into `TextHeader::ALL`), in assignment order: the
/// cheapest plan at worst (routes tested plus lookups), and of those the first
/// with the fewest headers.
fn best_plan(reqs: &Requirements) -> Vec<usize> {
    let n = TextHeader::ALL.len();
    let mut plans: Vec<Vec<usize>> = vec![Vec::new()];
    plans.extend((0..n).map(|a| vec![a]));
    plans.extend((0..n).flat_map(|a| (0..n).filter(move |&b| b != a).map(move |b| vec![a, b])));
    let mut best = (worst_case(reqs, &[]), Vec::new());
    for plan in plans {
        let cost = worst_case(reqs, &plan);
        if cost < best.0 {
            best = (cost, plan);
        }
    }
    best.1
}

/// What routing a message costs at worst under `plan`: the routes it can be tested
/// against, plus [`LOOKUP_COST`] per keyed header.
fn worst_case(reqs: &Requirements, plan: &[usize]) -> usize {
    let mut always = LOOKUP_COST * plan.len();
    let mut per_value: Vec<FxHashMap<&[u8], usize>> = vec![FxHashMap::default(); plan.len()];
    for req in reqs {
        match plan.iter().position(|&h| req[h].is_some()) {
            Some(k) => {
                for v in req[plan[k]].iter().flatten() {
                    *per_value[k].entry(&v[..]).or_default() += 1;
                }
            }
            None => always += 1,
        }
    }
    always
        + per_value
            .iter()
            .map(|counts| counts.values().copied().max().unwrap_or(0))
            .sum::<usize>()
}

/// Route indices from sorted, disjoint lists, merged in order.
pub(crate) struct Candidates<'a> {
    always: &'a [usize],
    keyed: [&'a [usize]; MAX_KEYED],
}

impl Iterator for Candidates<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        let mut best = self.always.first().copied();
        let mut from = None;
        for (i, list) in self.keyed.iter().enumerate() {
            if let Some(&head) = list.first()
                && best.is_none_or(|b| head < b)
            {
                (best, from) = (Some(head), Some(i));
            }
        }
        let head = best?;
        match from {
            Some(i) => self.keyed[i] = &self.keyed[i][1..],
            None => self.always = &self.always[1..],
        }
        Some(head)
    }
}

#[cfg(test)]
mod tests;
