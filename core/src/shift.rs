//! Moving bytes towards the front of a buffer without `copy_within`: its memmove is about
//! 1.6 KB of a Cortex-M3's flash that nothing else in a small firmware needs, while memcpy
//! (`copy_from_slice`) is linked anyway.

/// Copies the first `min(dst.len(), src.len())` bytes of `src` to the front of `dst`. With
/// `fast`, one memcpy; without it a byte loop that cannot panic: `copy_from_slice`'s length
/// check, which opt-level `z` keeps out of line, links `core::fmt` and the panic's text.
#[cfg_attr(feature = "fast", inline)]
#[cfg_attr(not(feature = "fast"), inline(never))]
pub(crate) fn copy(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    match (dst.get_mut(..n), src.get(..n)) {
        (Some(dst), Some(src)) if cfg!(feature = "fast") => dst.copy_from_slice(src),
        (Some(dst), Some(src)) => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
        _ => {}
    }
}

/// Bytes moved per step when source and destination overlap.
const BLOCK: usize = 64;

/// Moves `buf[from..to]` to start at `at` (`at <= from`), as `buf.copy_within(from..to, at)`
/// does. With `fast`, one memcpy when the ranges do not overlap, otherwise front to back
/// through a 64-byte block on the stack (each block is read before any byte of it is
/// overwritten); without it (flash), front to back byte by byte. Out-of-range arguments move
/// nothing.
pub(crate) fn move_back(buf: &mut [u8], from: usize, to: usize, at: usize) {
    if at > from || from > to || to > buf.len() {
        return;
    }
    if !cfg!(feature = "fast") {
        // Front to back, byte by byte: a byte is read before the destination reaches it
        // (`at <= from`), whatever the overlap (flash: no block, no second copy).
        for i in from..to {
            if let (Some(&byte), Some(j)) = (buf.get(i), (i - from).checked_add(at)) {
                if let Some(d) = buf.get_mut(j) {
                    *d = byte;
                }
            }
        }
        return;
    }
    let len = to - from;
    if at + len <= from {
        let Some((front, back)) = buf.split_at_mut_checked(from) else {
            return;
        };
        if let Some(dst) = front.get_mut(at..) {
            copy(dst, back.get(..len).unwrap_or_default());
        }
        return;
    }
    let mut block = [0u8; BLOCK];
    let mut done = 0;
    while done < len {
        let k = (len - done).min(BLOCK);
        let (Some(tmp), Some(src)) = (block.get_mut(..k), buf.get(from + done..from + done + k))
        else {
            return;
        };
        copy(tmp, src);
        if let Some(dst) = buf.get_mut(at + done..) {
            copy(dst, tmp);
        }
        done += k;
    }
}

#[cfg(test)]
mod tests {
    use super::move_back;

    #[test]
    fn moves_as_copy_within_does() {
        const N: usize = 200;
        let mut start = [0u8; N];
        for (i, b) in start.iter_mut().enumerate() {
            *b = i as u8;
        }
        // Every range, moved by 0, 1 and 2 bytes, to the front, and by a block's size
        // and its neighbours (a sample of ranges under Miri).
        let step = if cfg!(miri) { 37 } else { 1 };
        for from in (0..N).step_by(step) {
            for to in (from..=N).step_by(step) {
                let shifts = [0, 1, 2, from, 63, 64, 65, 100];
                for at in shifts.iter().filter_map(|&s| from.checked_sub(s)) {
                    let (mut want, mut got) = (start, start);
                    want.copy_within(from..to, at);
                    move_back(&mut got, from, to, at);
                    assert_eq!(got, want, "{from}..{to} to {at}");
                }
            }
        }
    }
}
