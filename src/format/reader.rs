//! A bounds-checked cursor over untrusted bytes.

use super::{FormatError, FormatResult};
use crate::ids::ID_LEN;

pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, pos: 0, what }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    pub fn bytes(&mut self, n: usize) -> FormatResult<&'a [u8]> {
        if self.remaining() < n {
            return Err(FormatError::Truncated {
                what: self.what,
                needed: n - self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn array<const N: usize>(&mut self) -> FormatResult<[u8; N]> {
        let b = self.bytes(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    pub fn u8(&mut self) -> FormatResult<u8> {
        Ok(self.array::<1>()?[0])
    }
    pub fn u16(&mut self) -> FormatResult<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    pub fn u32(&mut self) -> FormatResult<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> FormatResult<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub fn i64(&mut self) -> FormatResult<i64> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    pub fn id(&mut self) -> FormatResult<[u8; ID_LEN]> {
        self.array()
    }

    /// A count that will be followed by `count * item_size` bytes: refuses counts the buffer cannot hold,
    /// so hostile counts never drive allocations.
    pub fn count(&mut self, item_size: usize) -> FormatResult<usize> {
        let n = self.u32()? as usize;
        let need = n.saturating_mul(item_size);
        if need > self.remaining() {
            return Err(FormatError::Truncated {
                what: self.what,
                needed: need - self.remaining(),
            });
        }
        Ok(n)
    }

    pub fn expect_end(&self) -> FormatResult<()> {
        if self.remaining() != 0 {
            return Err(FormatError::Invalid(format!(
                "{}: {} trailing bytes",
                self.what,
                self.remaining()
            )));
        }
        Ok(())
    }
}
