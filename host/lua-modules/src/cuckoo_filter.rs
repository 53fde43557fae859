//! `cuckoo_filter`: set membership with deletion (Heka's lua_cuckoo_filter API):
//! `cuckoo_filter.new(items)`, `cf:add(key)` (false when the key is already there or
//! the filter is full), `cf:query(key)`, `cf:delete(key)`, `cf:count()`,
//! `cf:clear()`, `cf:fromstring(count, buckets)` (restoration).
//!
//! Buckets of four 16-bit fingerprints, a power of two of them for `items`; each key
//! has two candidate buckets (`i` and `i ^ hash(fingerprint)`) and an insertion kicks
//! entries to their other bucket at most [`MAX_KICKS`] times. Hashing is
//! MurmurHash64A; as with `bloom_filter`, the state is ours, not Heka's bytes.

use mlua::{AnyUserData, Lua, Table, UserData, UserDataMethods, Value};

use crate::bloom_filter::key_bytes;
use crate::hyperloglog::murmur64a;

const SLOTS: usize = 4;
const MAX_KICKS: usize = 512;
/// Largest filter accepted, in buckets (32 MiB of fingerprints, charged to
/// `memory_limit` as well).
const MAX_BUCKETS: usize = 1 << 22;

/// The userdata behind `cuckoo_filter.new(items)`.
pub struct CuckooFilter {
    items: u32,
    count: f64,
    buckets: Vec<[u16; SLOTS]>,
    /// Kick victim rotation (deterministic, so runs are reproducible).
    kick: usize,
}

pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "new",
        lua.create_function(|lua, items: f64| {
            if !(items >= 4.0 && items <= f64::from(u32::MAX)) {
                return Err(mlua::Error::runtime(
                    "bad argument #1 to 'new' (items must be > 4)",
                ));
            }
            let buckets = ((items as usize).div_ceil(SLOTS)).next_power_of_two();
            if buckets > MAX_BUCKETS {
                return Err(mlua::Error::runtime(format!(
                    "bad argument #1 to 'new' (more than {} items)",
                    MAX_BUCKETS * SLOTS
                )));
            }
            let filter = CuckooFilter {
                items: items as u32,
                count: 0.0,
                buckets: vec![[0; SLOTS]; buckets],
                kick: 0,
            };
            crate::charged(lua, filter, buckets * SLOTS * 2)
        })?,
    )?;
    Ok(t)
}

impl CuckooFilter {
    /// The fingerprint (never 0, which marks an empty slot) and first bucket.
    fn locate(&self, key: &[u8]) -> (u16, usize) {
        let h = murmur64a(key, 0);
        let fp = ((h >> 48) as u16).max(1);
        (fp, (h as usize) & (self.buckets.len() - 1))
    }

    fn alternate(&self, i: usize, fp: u16) -> usize {
        (i ^ murmur64a(&fp.to_le_bytes(), 0) as usize) & (self.buckets.len() - 1)
    }

    fn contains(&self, key: &[u8]) -> bool {
        let (fp, i) = self.locate(key);
        let j = self.alternate(i, fp);
        self.buckets[i].contains(&fp) || self.buckets[j].contains(&fp)
    }

    fn put(&mut self, i: usize, fp: u16) -> bool {
        match self.buckets[i].iter().position(|s| *s == 0) {
            Some(s) => {
                self.buckets[i][s] = fp;
                true
            }
            None => false,
        }
    }

    fn add(&mut self, key: &[u8]) -> bool {
        if self.contains(key) {
            return false;
        }
        let (mut fp, i) = self.locate(key);
        let j = self.alternate(i, fp);
        if self.put(i, fp) || self.put(j, fp) {
            self.count += 1.0;
            return true;
        }
        // Kick entries along a path; remembered so a failure can be undone.
        let mut path: Vec<(usize, usize)> = Vec::with_capacity(MAX_KICKS);
        let mut at = i;
        for _ in 0..MAX_KICKS {
            self.kick = (self.kick + 1) % SLOTS;
            path.push((at, self.kick));
            std::mem::swap(&mut fp, &mut self.buckets[at][self.kick]);
            at = self.alternate(at, fp);
            if self.put(at, fp) {
                self.count += 1.0;
                return true;
            }
        }
        // Full: swap back along the path, so nothing already there is lost.
        for (b, s) in path.into_iter().rev() {
            std::mem::swap(&mut fp, &mut self.buckets[b][s]);
        }
        false
    }

    fn delete(&mut self, key: &[u8]) -> bool {
        let (fp, i) = self.locate(key);
        let j = self.alternate(i, fp);
        for b in [i, j] {
            if let Some(s) = self.buckets[b].iter().position(|x| *x == fp) {
                self.buckets[b][s] = 0;
                self.count -= 1.0;
                return true;
            }
        }
        false
    }
}

impl UserData for CuckooFilter {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method_mut("add", |_, c, v: Value| Ok(c.add(&key_bytes(&v, "add")?)));
        m.add_method("query", |_, c, v: Value| {
            Ok(c.contains(&key_bytes(&v, "query")?))
        });
        m.add_method_mut("delete", |_, c, v: Value| {
            Ok(c.delete(&key_bytes(&v, "delete")?))
        });
        m.add_method("count", |_, c, ()| Ok(c.count));
        m.add_method_mut("clear", |_, c, ()| {
            c.buckets.iter_mut().for_each(|b| *b = [0; SLOTS]);
            c.count = 0.0;
            Ok(())
        });
        m.add_method_mut(
            "fromstring",
            |_, c, (count, bytes): (f64, mlua::LuaString)| {
                let bytes = bytes.as_bytes();
                if bytes.len() != c.buckets.len() * SLOTS * 2 {
                    return Err(mlua::Error::runtime(format!(
                        "fromstring() bytes found: {}, expected {}",
                        bytes.len(),
                        c.buckets.len() * SLOTS * 2
                    )));
                }
                for (b, chunk) in c.buckets.iter_mut().zip(bytes.chunks_exact(SLOTS * 2)) {
                    for (s, fp) in b.iter_mut().zip(chunk.chunks_exact(2)) {
                        *s = u16::from_le_bytes([fp[0], fp[1]]);
                    }
                }
                c.count = count;
                Ok(())
            },
        );
    }
}

/// The preservation text: `new(items)` when absent, then the fingerprints.
pub(crate) fn serialize(ud: &AnyUserData, key: &str, out: &mut String) -> mlua::Result<()> {
    let c = ud.borrow::<CuckooFilter>()?;
    out.push_str(&format!(
        "if {key} == nil then {key} = cuckoo_filter.new({}) end\n{key}:fromstring({}, ",
        c.items,
        crate::number::heka_number(c.count)
    ));
    let bytes: Vec<u8> = c
        .buckets
        .iter()
        .flat_map(|b| b.iter().flat_map(|s| s.to_le_bytes()))
        .collect();
    crate::number::push_lua_string(out, &bytes);
    out.push_str(")\n");
    Ok(())
}
