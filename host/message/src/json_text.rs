//! JSON string literals from bytes: the one escaper for every JSON body hekad and its
//! guests write (the seed's Slack encoder, wasm and native).
//!
//! Escapes per RFC 8259 (`"`, `\\`, control characters) and writes every other byte as
//! it is, UTF-8 or not: a Latin-1 log line reaches the receiver byte for byte, as
//! lua-cjson in Heka wrote it (bytes are bytes; a text view is for display only).
//! No dependencies, so the guest SDK (wasm) shares it; on wasm the scan for the next
//! byte to escape uses SIMD.

/// Appends `s` as a JSON string literal.
///
/// Runs of bytes that need no escaping are copied whole; the next byte to escape is
/// found 16 bytes at a time with wasm SIMD (8 at a time in a u64 elsewhere), because
/// the payloads are whole batches of log lines (~17 KB) and nearly every byte is
/// plain.
pub fn push_json_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run = 0; // start of the pending run of plain bytes
    loop {
        let at = next_escape(bytes, run);
        out.extend_from_slice(&bytes[run..at]);
        let Some(&b) = bytes.get(at) else { break };
        push_escape(out, b);
        run = at + 1;
    }
    out.push(b'"');
}

/// The index of the first byte at or after `i` that must be escaped (`bytes.len()`
/// when none is).
fn next_escape(bytes: &[u8], i: usize) -> usize {
    #[cfg(target_arch = "wasm32")]
    {
        next_escape_simd(bytes, i)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        next_escape_swar(bytes, i)
    }
}

/// Sixteen bytes at a time with wasm SIMD (wasmtime compiles it to SSE/AVX). A
/// `target_feature` function is safe to call on wasm: a runtime without SIMD refuses
/// the whole component when it is loaded.
#[cfg(target_arch = "wasm32")]
#[target_feature(enable = "simd128")]
fn next_escape_simd(bytes: &[u8], mut i: usize) -> usize {
    use core::arch::wasm32::*;
    let quote = u8x16_splat(b'"');
    let backslash = u8x16_splat(b'\\');
    let space = u8x16_splat(0x20);
    while i + 16 <= bytes.len() {
        // SAFETY: `i + 16 <= bytes.len()`, so the 16 bytes read are in the slice;
        // `v128_load` has no alignment requirement.
        let v = unsafe { v128_load(bytes.as_ptr().add(i).cast::<v128>()) };
        let hits = v128_or(
            v128_or(u8x16_eq(v, quote), u8x16_eq(v, backslash)),
            u8x16_lt(v, space),
        );
        let mask = u8x16_bitmask(hits);
        if mask != 0 {
            return i + mask.trailing_zeros() as usize;
        }
        i += 16;
    }
    tail(bytes, i)
}

/// Eight bytes at a time in a u64 (hosts, for the tests, and a reference).
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
fn next_escape_swar(bytes: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = bytes.get(i..i + 8) {
        let mask = escape_mask(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        if mask != 0 {
            return i + (mask.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    tail(bytes, i)
}

fn tail(bytes: &[u8], i: usize) -> usize {
    bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| needs_escape(b)))
        .map_or(bytes.len(), |p| i + p)
}

fn needs_escape(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// Two `push`es, not a `push_str`: a string of unknown length is copied by a call
/// out of the sandbox (`memory.copy`), too dear for two bytes.
fn push_escape(out: &mut Vec<u8>, b: u8) {
    let c = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0x08 => b'b',
        0x0c => b'f',
        _ => {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
            return;
        }
    };
    out.push(b'\\');
    out.push(c);
}

/// The high bit of each byte of `w` that is `"`, `\\` or below 0x20 (bytes ≥ 0x80,
/// UTF-8, are plain). The classic "has a zero byte" test on `w ^ pattern`, and "has a
/// byte < n" on `w`: a borrow can only flag bytes above a flagged one, so the lowest
/// flag is exact (which is all the caller uses).
#[inline]
#[cfg_attr(target_arch = "wasm32", allow(dead_code))]
fn escape_mask(w: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(LO) & !x & HI;
    let below_space = w.wrapping_sub(LO * 0x20) & !w & HI;
    zero(w ^ (LO * b'"' as u64)) | zero(w ^ (LO * b'\\' as u64)) | below_space
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious char-by-char escaper, as the reference.
    fn reference(s: &str) -> String {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }

    #[test]
    fn escapes_like_the_reference() {
        let mut cases: Vec<String> = vec![
            String::new(),
            "plain text that is longer than eight bytes\n".into(),
            "\"quoted\" \\ back\tslash\r\u{1}\u{1f}\u{7f} ünïcödé 日本 \u{8}\u{c}".into(),
        ];
        // Every special byte at every offset of a 20-byte string.
        for special in [
            '"', '\\', '\n', '\u{0}', '\u{1f}', ' ', '!', '#', '[', ']', 'é',
        ] {
            for at in 0..20 {
                let mut s: String = "abcdefghijklmnopqrst".into();
                s.replace_range(at..at + 1, &special.to_string());
                cases.push(s);
            }
        }
        for s in cases {
            let mut out = Vec::new();
            push_json_string(&mut out, s.as_bytes());
            assert_eq!(String::from_utf8(out).unwrap(), reference(&s), "{s:?}");
        }
    }

    #[test]
    fn bytes_that_are_not_utf8_pass_through() {
        let mut out = Vec::new();
        push_json_string(&mut out, b"caf\xe9 \xff\"");
        assert_eq!(out, b"\"caf\xe9 \xff\\\"\"");
    }
}
