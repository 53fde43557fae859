//! `bloom_filter`: set membership with false positives at a chosen rate (Heka 0.10's
//! lua_bloom_filter API): `bloom_filter.new(items, probability)`, `bf:add(key)`
//! (true when the key was not there yet), `bf:query(key)`, `bf:count()` (keys
//! added), `bf:clear()`, `bf:fromstring(count, bits)` (restoration).
//!
//! Sized as usual: `m = ceil(-n ln p / ln² 2)` bits and `k = round(m/n ln 2)`
//! probes, from two MurmurHash64A halves (Kirsch-Mitzenmacher double hashing). Keys
//! are strings, or numbers hashed as their double's 8 bytes. The bits are ours: a
//! Heka preservation file's bloom filter is not readable here (documented in
//! docs/lua.md); everything else about it is.

use mlua::{AnyUserData, Lua, Table, UserData, UserDataMethods, Value};

use crate::hyperloglog::murmur64a;

/// Largest filter accepted, in bits (32 MiB; charged to `memory_limit` as well).
const MAX_BITS: u64 = 1 << 28;

/// The userdata behind `bloom_filter.new(...)`.
pub struct BloomFilter {
    items: u32,
    probability: f64,
    hashes: u32,
    count: f64,
    bits: Vec<u8>,
}

pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("new", lua.create_function(new)?)?;
    Ok(t)
}

fn new(lua: &Lua, (items, probability): (f64, f64)) -> mlua::Result<AnyUserData> {
    if !(items >= 1.0 && items <= f64::from(u32::MAX)) {
        return Err(mlua::Error::runtime(
            "bad argument #1 to 'new' (items must be > 1)",
        ));
    }
    if !(probability > 0.0 && probability < 1.0) {
        return Err(mlua::Error::runtime(
            "bad argument #2 to 'new' (probability must be between 0 and 1)",
        ));
    }
    let ln2 = std::f64::consts::LN_2;
    let bits = (-(items * probability.ln()) / (ln2 * ln2)).ceil().max(8.0);
    if bits > MAX_BITS as f64 {
        return Err(mlua::Error::runtime(format!(
            "bad argument #1 to 'new' (a filter over {MAX_BITS} bits)"
        )));
    }
    let hashes = ((bits / items) * ln2).round().max(1.0) as u32;
    let bytes = (bits as usize).div_ceil(8);
    let filter = BloomFilter {
        items: items as u32,
        probability,
        hashes,
        count: 0.0,
        bits: vec![0; bytes],
    };
    crate::charged(lua, filter, bytes)
}

/// The bytes a key is hashed from.
pub(crate) fn key_bytes(v: &Value, func: &str) -> mlua::Result<Vec<u8>> {
    match v {
        Value::String(s) => Ok(s.as_bytes().to_vec()),
        Value::Integer(i) => Ok((*i as f64).to_ne_bytes().to_vec()),
        Value::Number(n) => Ok(n.to_ne_bytes().to_vec()),
        _ => Err(mlua::Error::runtime(format!(
            "bad argument #1 to '{func}' (must be a string or number)"
        ))),
    }
}

impl BloomFilter {
    fn positions(&self, key: &[u8]) -> impl Iterator<Item = usize> + use<> {
        let h = murmur64a(key, 0);
        let (h1, h2) = (h & 0xffff_ffff, h >> 32);
        let m = self.bits.len() as u64 * 8;
        (0..u64::from(self.hashes)).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % m) as usize)
    }

    fn query(&self, key: &[u8]) -> bool {
        self.positions(key)
            .all(|p| self.bits[p / 8] & (1 << (p % 8)) != 0)
    }

    fn add(&mut self, key: &[u8]) -> bool {
        let mut added = false;
        for p in self.positions(key) {
            let mask = 1 << (p % 8);
            if self.bits[p / 8] & mask == 0 {
                self.bits[p / 8] |= mask;
                added = true;
            }
        }
        if added {
            self.count += 1.0;
        }
        added
    }
}

impl UserData for BloomFilter {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method_mut("add", |_, b, v: Value| Ok(b.add(&key_bytes(&v, "add")?)));
        m.add_method("query", |_, b, v: Value| {
            Ok(b.query(&key_bytes(&v, "query")?))
        });
        m.add_method("count", |_, b, ()| Ok(b.count));
        m.add_method_mut("clear", |_, b, ()| {
            b.bits.fill(0);
            b.count = 0.0;
            Ok(())
        });
        m.add_method_mut(
            "fromstring",
            |_, b, (count, bits): (f64, mlua::LuaString)| {
                let bits = bits.as_bytes();
                if bits.len() != b.bits.len() {
                    return Err(mlua::Error::runtime(format!(
                        "fromstring() bytes found: {}, expected {}",
                        bits.len(),
                        b.bits.len()
                    )));
                }
                b.bits.copy_from_slice(&bits);
                b.count = count;
                Ok(())
            },
        );
    }
}

/// The preservation text: `new(items, probability)` when absent, then the bits.
pub(crate) fn serialize(ud: &AnyUserData, key: &str, out: &mut String) -> mlua::Result<()> {
    let b = ud.borrow::<BloomFilter>()?;
    out.push_str(&format!(
        "if {key} == nil then {key} = bloom_filter.new({}, {:?}) end\n{key}:fromstring({}, ",
        b.items,
        b.probability,
        crate::number::heka_number(b.count)
    ));
    crate::number::push_lua_string(out, &b.bits);
    out.push_str(")\n");
    Ok(())
}
