//! Finding delimiters in HL7 text, eight bytes at a time.
//!
//! A summary reads a few fields of most segments and a few components of those fields; each lookup is
//! "the bytes between the n-th and (n+1)-th separator". Fields are short (a few to a few dozen bytes),
//! where `memchr` spends more on setting up than on searching and a byte-by-byte split iterator makes a
//! branch per byte. Here each eight bytes become one word whose set bits mark the separators (no
//! false positives: the exact zero-byte test), whole words are skipped by counting bits, and the
//! piece wanted is cut at the set bits; the last few bytes are compared one by one.

const LOW: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

/// Bit 7 of each byte of `word` that equals `sep`, nothing else.
#[inline]
fn mask(word: &[u8; 8], sep: u8) -> u64 {
    let x = u64::from_le_bytes(*word) ^ (LOW * u64::from(sep));
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// The separators of `raw`: each word's offset and mask, then the last bytes' as a mask of the
/// same form.
#[inline]
fn for_each_mask(raw: &[u8], sep: u8, mut f: impl FnMut(usize, u64) -> bool) {
    let (words, tail) = raw.as_chunks::<8>();
    for (i, w) in words.iter().enumerate() {
        if !f(i * 8, mask(w, sep)) {
            return;
        }
    }
    let mut m = 0u64;
    for (i, &b) in tail.iter().enumerate() {
        m |= u64::from(b == sep) << (i * 8 + 7);
    }
    f(words.len() * 8, m);
}

/// Piece `n` (from 0) of `raw` split at `sep`; `None` when there are fewer pieces.
#[inline]
pub fn nth_piece(raw: &[u8], sep: u8, mut n: usize) -> Option<&[u8]> {
    let mut start = 0;
    let mut found = None;
    for_each_mask(raw, sep, |base, mut m| {
        // Bit by bit: fields are short and their separators few, and counting bits is no single
        // instruction on the baseline x86-64 target.
        while m != 0 {
            let at = base + m.trailing_zeros() as usize / 8;
            if n == 0 {
                found = Some(at);
                return false;
            }
            n -= 1;
            start = at + 1;
            m &= m - 1;
        }
        true
    });
    match found {
        Some(end) => Some(&raw[start..end]),
        None => (n == 0).then(|| &raw[start..]),
    }
}

/// Splits `raw` at `sep` into `pieces`, stopping when it is full; returns how many pieces it holds.
/// The pieces are the same as `raw.split(|&b| b == sep)`'s.
#[inline]
pub fn split_into<'a>(raw: &'a [u8], sep: u8, pieces: &mut [&'a [u8]]) -> usize {
    let mut count = 0;
    let mut start = 0;
    for_each_mask(raw, sep, |base, mut m| {
        while m != 0 {
            if count == pieces.len() {
                return false;
            }
            let end = base + m.trailing_zeros() as usize / 8;
            pieces[count] = &raw[start..end];
            count += 1;
            start = end + 1;
            m &= m - 1;
        }
        true
    });
    if count < pieces.len() {
        pieces[count] = &raw[start..];
        count += 1;
    }
    count
}

/// True when `raw` is ASCII and holds none of `a`, `b`, `c` (a byte of 0x80 or above stands for "no
/// such delimiter": such bytes fail the ASCII test anyway).
#[inline]
pub fn plain(raw: &[u8], a: u8, b: u8, c: u8) -> bool {
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let (words, tail) = raw.as_chunks::<8>();
    for w in words {
        if u64::from_le_bytes(*w) & HIGH != 0 || mask(w, a) | mask(w, b) | mask(w, c) != 0 {
            return false;
        }
    }
    tail.iter().all(|&t| t < 0x80 && t != a && t != b && t != c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_is_ascii_without_the_delimiters() {
        for len in 0..40usize {
            for at in 0..len {
                let mut s: Vec<u8> = (0..len).map(|i| b'A' + (i % 26) as u8).collect();
                assert!(plain(&s, b'^', b'~', b'\\'), "{s:?}");
                for bad in [b'^', b'~', b'\\', 0x80, 0xc3, 0xff] {
                    s[at] = bad;
                    assert!(!plain(&s, b'^', b'~', b'\\'), "{s:?}");
                    s[at] = b'x';
                }
                // An absent delimiter (0x80) matches nothing that is ASCII.
                assert!(plain(&s, 0x80, 0x80, 0x80));
            }
        }
    }

    /// Every piece of every split of many strings, against `slice::split`.
    #[test]
    fn pieces_equal_the_standard_split() {
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"|".to_vec(),
            b"||".to_vec(),
            b"abc".to_vec(),
            b"MSH|^~\\&|A|B".to_vec(),
        ];
        // Separators at every position around the block boundaries, in strings of every length.
        for len in 0..100usize {
            for at in [0, 1, 15, 30, 31, 32, 33, 63, 64, 65, 99] {
                let mut s: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
                for (k, b) in s.iter_mut().enumerate() {
                    if k == at || k % 7 == 3 && len % 3 == 0 || k % 32 == 31 && len % 5 == 0 {
                        *b = b'|';
                    }
                }
                cases.push(s);
            }
        }
        // Separator bytes at both ends of the range (the zero-byte test must not carry between bytes).
        for sep in [0u8, 0xff, b'^'] {
            let s: Vec<u8> = (0..80).map(|i| if i % 9 == 0 { sep } else { 1 }).collect();
            cases.push(s);
        }
        for case in &cases {
            for sep in [b'|', 0u8, 0xff, b'^'] {
                let expected: Vec<&[u8]> = case.split(|&b| b == sep).collect();
                for n in 0..expected.len() + 3 {
                    assert_eq!(
                        nth_piece(case, sep, n),
                        expected.get(n).copied(),
                        "piece {n} of {case:?} at {sep}"
                    );
                }
                for cap in [1, 2, 5, 33, 200] {
                    let mut pieces = vec![&case[..0]; cap];
                    let count = split_into(case, sep, &mut pieces);
                    let want: Vec<&[u8]> = expected.iter().copied().take(cap).collect();
                    assert_eq!(&pieces[..count], &want[..], "split of {case:?} into {cap}");
                }
            }
        }
    }
}
