//! `hyperloglog`: distinct counting in 12 KiB (Heka 0.10's lua_hyperloglog, which is
//! Redis's dense HyperLogLog): `hyperloglog.new()`, `hll:add(string|number)` (true
//! when a register grew), `hll:count()`, `hll:clear()`, `hll:fromstring(s)`.
//!
//! The state is Redis's dense representation byte for byte, so the preservation text
//! (`fromstring` of those bytes) reads Heka's files: the `HYLL` header, the encoding
//! byte, three unused bytes, the cached count (8 bytes little endian, top bit set
//! when stale), then 16384 six-bit registers packed little endian (12288 bytes).
//! Elements are hashed with MurmurHash64A (seed 0xadc83b19); a number is hashed as
//! the 8 bytes of its double, as the C module did.

use mlua::{AnyUserData, Lua, Table, UserData, UserDataMethods, Value};

const P: u32 = 14;
const REGISTERS: usize = 1 << P;
const BITS: usize = 6;
const REGISTER_MAX: u8 = (1 << BITS) - 1;
const HEADER: usize = 16;
/// The serialized size: header and packed registers (Heka's `sizeof(hyperloglog) - 1`).
pub(crate) const SIZE: usize = HEADER + REGISTERS * BITS / 8;
const DENSE: u8 = 0;

/// The userdata behind `hyperloglog.new()`.
pub struct HyperLogLog {
    /// `SIZE` bytes plus one spare, so a register read never runs off the end.
    bytes: Vec<u8>,
}

pub(crate) fn module(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "new",
        lua.create_function(|_, ()| {
            let mut bytes = vec![0u8; SIZE + 1];
            bytes[..4].copy_from_slice(b"HYLL");
            bytes[4] = DENSE;
            let mut hll = HyperLogLog { bytes };
            hll.invalidate();
            Ok(hll)
        })?,
    )?;
    Ok(t)
}

/// MurmurHash64A (Austin Appleby), little endian.
pub(crate) fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes(c.try_into().unwrap_or([0; 8]));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        for (i, b) in rest.iter().enumerate() {
            h ^= u64::from(*b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^ (h >> R)
}

impl HyperLogLog {
    fn registers(&self) -> &[u8] {
        &self.bytes[HEADER..]
    }

    fn get(&self, i: usize) -> u8 {
        let r = self.registers();
        let (byte, fb) = (i * BITS / 8, (i * BITS) & 7);
        let v = (u16::from(r[byte]) >> fb) | (u16::from(r[byte + 1]) << (8 - fb));
        (v as u8) & REGISTER_MAX
    }

    fn set(&mut self, i: usize, v: u8) {
        let r = &mut self.bytes[HEADER..];
        let (byte, fb) = (i * BITS / 8, (i * BITS) & 7);
        let v = u16::from(v) << fb;
        let mask = u16::from(REGISTER_MAX) << fb;
        r[byte] = (r[byte] & !(mask as u8)) | v as u8;
        r[byte + 1] = (r[byte + 1] & !((mask >> 8) as u8)) | (v >> 8) as u8;
    }

    fn invalidate(&mut self) {
        self.bytes[15] |= 0x80;
    }

    /// Redis's `hllDenseAdd`: true when the element's register grew.
    fn add(&mut self, element: &[u8]) -> bool {
        let hash = murmur64a(element, 0xadc8_3b19);
        let index = (hash & (REGISTERS as u64 - 1)) as usize;
        // The run of zeros after the index bits, plus one (bit 63 forced: it ends).
        let count = ((hash | (1 << 63)) >> P).trailing_zeros() as u8 + 1;
        if count > self.get(index) {
            self.set(index, count);
            self.invalidate();
            return true;
        }
        false
    }

    /// Redis's estimate (linear counting for small sets, bias correction below 72000).
    fn estimate(&self) -> u64 {
        let m = REGISTERS as f64;
        let alpha = 0.7213 / (1.0 + 1.079 / m);
        let mut sum = 0.0;
        let mut zeros = 0usize;
        for i in 0..REGISTERS {
            let r = self.get(i);
            if r == 0 {
                zeros += 1;
            }
            sum += 1.0 / (1u64 << r) as f64;
        }
        let mut e = (1.0 / sum) * alpha * m * m;
        if e < m * 2.5 && zeros != 0 {
            e = m * (m / zeros as f64).ln();
        } else if e < 72000.0 {
            let bias = 5.9119e-18 * e.powi(4) - 1.4253e-12 * e.powi(3) + 1.2940e-7 * e * e
                - 5.2921e-3 * e
                + 83.3216;
            e -= e * (bias / 100.0);
        }
        e as u64
    }

    /// The cached count when valid, else the estimate (then cached).
    fn count(&mut self) -> u64 {
        if self.bytes[15] & 0x80 == 0 {
            let mut c = [0u8; 8];
            c.copy_from_slice(&self.bytes[8..16]);
            return u64::from_le_bytes(c);
        }
        let n = self.estimate();
        self.bytes[8..16].copy_from_slice(&n.to_le_bytes());
        n
    }
}

impl UserData for HyperLogLog {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method_mut("add", |_, h, v: Value| {
            Ok(match v {
                Value::String(s) => h.add(&s.as_bytes()),
                Value::Integer(i) => h.add(&(i as f64).to_ne_bytes()),
                Value::Number(n) => h.add(&n.to_ne_bytes()),
                _ => {
                    return Err(mlua::Error::runtime(
                        "bad argument #1 to 'add' (must be a string or number)",
                    ));
                }
            })
        });
        m.add_method_mut("count", |_, h, ()| Ok(h.count() as f64));
        m.add_method_mut("clear", |_, h, ()| {
            h.bytes[HEADER..].fill(0);
            h.invalidate();
            Ok(())
        });
        m.add_method_mut("fromstring", |_, h, s: mlua::LuaString| {
            let s = s.as_bytes();
            if s.len() != SIZE {
                return Err(mlua::Error::runtime(format!(
                    "fromstring() bytes found: {}, expected {SIZE}",
                    s.len()
                )));
            }
            if &s[..4] != b"HYLL" {
                return Err(mlua::Error::runtime("fromstring() HYLL header not found"));
            }
            if s[4] != DENSE {
                return Err(mlua::Error::runtime("fromstring() invalid encoding"));
            }
            h.bytes[..SIZE].copy_from_slice(&s);
            Ok(())
        });
    }
}

/// The preservation text: `new()` when absent, then `fromstring` of the bytes.
pub(crate) fn serialize(ud: &AnyUserData, key: &str, out: &mut String) -> mlua::Result<()> {
    let h = ud.borrow::<HyperLogLog>()?;
    out.push_str(&format!(
        "if {key} == nil then {key} = hyperloglog.new() end\n{key}:fromstring("
    ));
    crate::number::push_lua_string(out, &h.bytes[..SIZE]);
    out.push_str(")\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registers_pack_six_bits() {
        let mut h = HyperLogLog {
            bytes: vec![0; SIZE + 1],
        };
        for i in [0, 1, 2, 3, 4, 16383] {
            h.set(i, (i % 64) as u8 | 1);
        }
        for i in [0, 1, 2, 3, 4, 16383] {
            assert_eq!(h.get(i), (i % 64) as u8 | 1);
        }
        assert_eq!(h.get(5), 0);
    }

    #[test]
    fn counts_are_close() {
        let mut h = HyperLogLog {
            bytes: vec![0; SIZE + 1],
        };
        h.invalidate();
        for i in 0..10_000 {
            h.add(format!("item{i}").as_bytes());
        }
        let n = h.count() as f64;
        assert!((n - 10_000.0).abs() < 200.0, "{n}");
        assert!(!h.add(b"item1"), "a repeat changes nothing");
    }
}
