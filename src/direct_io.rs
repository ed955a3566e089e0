//! Large reads and writes with direct I/O (`O_DIRECT`), bypassing the page cache: for the local
//! backend's packs and for the large chunks a restore writes into its target.
//!
//! A pack is written once and rarely read soon after, and it is fsynced before it is renamed into
//! place, so copying it into the page cache first only costs CPU and evicts the user's own cached
//! files (docs/benchmarks.md has the figures). The same holds for packs read by a restore and for
//! the large chunks it writes. The data goes through
//! a small aligned bounce buffer; a new file's last block is padded with zeros and the file is then
//! truncated to its length, and a write into an existing file sends only its whole blocks directly.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Write;
use std::os::fd::BorrowedFd;

/// Files at least this large are written directly; smaller ones gain nothing.
pub const DIRECT_MIN: usize = 1 << 20;
/// Alignment of buffer addresses, file offsets and lengths: covers 512-byte and 4 KiB sector disks.
const ALIGN: usize = 4096;
const BOUNCE: usize = 1 << 20;

/// Creates `name` in the directory `dir` (it must not exist, and a symlink there is not followed),
/// mode 0600, writes `data` to it and fsyncs it. Returns `Ok(false)`, having removed whatever it
/// created, when the file system refuses direct I/O (tmpfs, some network file systems), so the
/// caller writes the file the ordinary way.
pub fn write_new(dir: BorrowedFd<'_>, name: &OsStr, data: &[u8]) -> std::io::Result<bool> {
    use rustix::fs::{openat, unlinkat, AtFlags, Mode, OFlags};
    let unsupported = |f: Option<File>| {
        drop(f);
        let _ = unlinkat(dir, name, AtFlags::empty());
        Ok(false)
    };
    let flags = OFlags::WRONLY
        | OFlags::CREATE
        | OFlags::EXCL
        | OFlags::NOFOLLOW
        | OFlags::CLOEXEC
        | OFlags::DIRECT;
    let f = match openat(dir, name, flags, Mode::RUSR | Mode::WUSR) {
        Ok(fd) => File::from(fd),
        Err(rustix::io::Errno::INVAL) => return unsupported(None),
        Err(e) => return Err(e.into()),
    };
    let mut bounce = vec![0u8; BOUNCE + ALIGN];
    let off = bounce.as_ptr().align_offset(ALIGN);
    if off >= ALIGN {
        return unsupported(Some(f));
    }
    let buf = &mut bounce[off..off + BOUNCE];
    for (i, chunk) in data.chunks(BOUNCE).enumerate() {
        let padded = chunk.len().next_multiple_of(ALIGN);
        buf[..chunk.len()].copy_from_slice(chunk);
        buf[chunk.len()..padded].fill(0);
        match (&f).write_all(&buf[..padded]) {
            Ok(()) => {}
            Err(e) if i == 0 && e.raw_os_error() == Some(libc::EINVAL) => {
                return unsupported(Some(f))
            }
            Err(e) => return Err(e),
        }
    }
    f.set_len(data.len() as u64)?;
    f.sync_all()?;
    Ok(true)
}

/// Writes `data` at `offset` of the open file `f`: the whole 4 KiB blocks the range covers with
/// direct I/O (`O_DIRECT` is set on `f` for them and cleared again), the partial blocks at either
/// end through the page cache (so two ranges that share a block never both write it directly).
/// `bounce` is scratch space, kept by the caller to be reused. Returns `Ok(false)`, having written
/// nothing, when the range covers no whole block or the file system refuses direct I/O; the caller
/// then writes the range the ordinary way.
pub fn write_at(f: &File, offset: u64, data: &[u8], bounce: &mut Vec<u8>) -> std::io::Result<bool> {
    use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
    use std::os::unix::fs::FileExt;
    let align = ALIGN as u64;
    let end = offset + data.len() as u64;
    let (first, last) = (offset.next_multiple_of(align), end / align * align);
    if last <= first {
        return Ok(false);
    }
    let piece = BOUNCE;
    if bounce.len() < piece + ALIGN {
        bounce.resize(piece + ALIGN, 0);
    }
    let base = bounce.as_ptr().align_offset(ALIGN);
    if base >= ALIGN {
        return Ok(false);
    }
    let flags = fcntl_getfl(f)?;
    match fcntl_setfl(f, flags | OFlags::DIRECT) {
        Ok(()) => {}
        Err(rustix::io::Errno::INVAL) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    let inner = &data[(first - offset) as usize..(last - offset) as usize];
    let mut direct = Ok(true);
    for (i, chunk) in inner.chunks(piece).enumerate() {
        let buf = &mut bounce[base..base + chunk.len()];
        buf.copy_from_slice(chunk);
        let at = first + (i * piece) as u64;
        match f.write_all_at(buf, at) {
            Ok(()) => {}
            Err(e) if i == 0 && e.raw_os_error() == Some(libc::EINVAL) => {
                direct = Ok(false);
                break;
            }
            Err(e) => {
                direct = Err(e);
                break;
            }
        }
    }
    fcntl_setfl(f, flags)?;
    if direct? {
        let head = &data[..(first - offset) as usize];
        let tail = &data[(last - offset) as usize..];
        f.write_all_at(head, offset)?;
        f.write_all_at(tail, last)?;
        return Ok(true);
    }
    Ok(false)
}

/// Reads `len` bytes at `offset` of the open file `f` into `buf` (replacing its contents),
/// bypassing the page cache (`O_DIRECT` is set on `f` for the read and cleared again, so the caller
/// keeps reading the file it opened and checked). Returns `Ok(false)` when the file system refuses
/// direct I/O; a file shorter than the range is an `UnexpectedEof` error.
pub fn read_range_into(
    f: &File,
    offset: u64,
    len: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<bool> {
    use rustix::fs::{fcntl_getfl, fcntl_setfl, OFlags};
    let flags = fcntl_getfl(f)?;
    match fcntl_setfl(f, flags | OFlags::DIRECT) {
        Ok(()) => {}
        Err(rustix::io::Errno::INVAL) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    let read = read_direct(f, offset, len, buf);
    fcntl_setfl(f, flags)?;
    read
}

fn read_direct(f: &File, offset: u64, len: usize, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    use std::os::unix::fs::FileExt;
    let align = ALIGN as u64;
    let first = offset / align * align;
    let skip = (offset - first) as usize;
    let span = (skip + len).next_multiple_of(ALIGN);
    buf.clear();
    buf.resize(span + ALIGN, 0);
    let base = buf.as_ptr().align_offset(ALIGN);
    if base >= ALIGN {
        return Ok(false);
    }
    let mut got = 0;
    while got < span {
        match f.read_at(&mut buf[base + got..base + span], first + got as u64) {
            Ok(0) => break,
            // A short read ends at the end of the file, which need not be aligned.
            Ok(n) if n % ALIGN != 0 => {
                got += n;
                break;
            }
            Ok(n) => got += n,
            Err(e) if got == 0 && e.raw_os_error() == Some(libc::EINVAL) => return Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    if got < skip + len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!(
                "truncated: wanted {len} bytes at offset {offset}, the file ends after {}",
                first + got as u64
            ),
        ));
    }
    buf.copy_within(base + skip..base + skip + len, 0);
    buf.truncate(len);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::fd::AsFd;
    use std::path::Path;

    /// `write_new` on a path: its directory opened by path.
    fn write_new_path(p: &Path, data: &[u8]) -> std::io::Result<bool> {
        let dir = File::open(p.parent().unwrap())?;
        write_new(dir.as_fd(), p.file_name().unwrap(), data)
    }

    #[test]
    fn sizes_around_the_block_and_buffer_edges_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        for (i, len) in [
            0,
            1,
            4095,
            4096,
            4097,
            BOUNCE - 1,
            BOUNCE,
            BOUNCE + 1,
            3 * BOUNCE + 77,
        ]
        .into_iter()
        .enumerate()
        {
            let data: Vec<u8> = (0..len).map(|j| (j * 31 + i) as u8).collect();
            let p = dir.path().join(format!("f{i}"));
            let direct = write_new_path(&p, &data).unwrap();
            if !direct {
                // The test directory's file system refuses direct I/O: nothing may be left behind.
                assert!(!p.exists());
                continue;
            }
            assert_eq!(fs::read(&p).unwrap(), data, "length {len}");
        }
    }

    #[test]
    fn ranges_read_back_at_any_offset() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let data: Vec<u8> = (0..3 * BOUNCE + 5000).map(|j| (j * 7 + 3) as u8).collect();
        fs::write(&p, &data).unwrap();
        let f = File::open(&p).unwrap();
        let mut buf = vec![9u8; 10];
        for (off, len) in [
            (0, 0),
            (0, 1),
            (1, 4095),
            (4095, 2),
            (4096, 4096),
            (12345, BOUNCE + 3),
        ] {
            match read_range_into(&f, off as u64, len, &mut buf) {
                Ok(true) => assert_eq!(buf, data[off..off + len], "{off}+{len}"),
                Ok(false) => return, // no direct I/O on this file system
                Err(e) => panic!("{off}+{len}: {e}"),
            }
        }
        // The range ending exactly at the (unaligned) end of the file, then one byte past it.
        let end = data.len();
        if read_range_into(&f, (end - 100) as u64, 100, &mut buf).unwrap() {
            assert_eq!(buf, data[end - 100..]);
            let e = read_range_into(&f, (end - 100) as u64, 101, &mut buf).unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
        }
    }

    #[test]
    fn ranges_written_at_any_offset_land_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        let len = 3 * BOUNCE + 9000;
        let want: Vec<u8> = (0..len).map(|j| (j * 13 + 5) as u8).collect();
        // Ranges that tile the file, cut at aligned and unaligned points, written out of order.
        let cuts = [0, 100, 4096, 4200, 4300, 70_000, 2 * BOUNCE + 1, len];
        let f = fs::File::create(&p).unwrap();
        f.set_len(len as u64).unwrap();
        let mut bounce = Vec::new();
        let mut direct = 0;
        for w in cuts.windows(2).rev() {
            let (a, b) = (w[0], w[1]);
            if write_at(&f, a as u64, &want[a..b], &mut bounce).unwrap() {
                direct += 1;
            } else {
                use std::os::unix::fs::FileExt;
                f.write_all_at(&want[a..b], a as u64).unwrap();
            }
            // The file is left as it was given: without O_DIRECT.
            let flags = rustix::fs::fcntl_getfl(&f).unwrap();
            assert!(!flags.contains(rustix::fs::OFlags::DIRECT));
        }
        assert_eq!(fs::read(&p).unwrap(), want);
        // Ranges inside one block never go direct.
        assert!(!write_at(&f, 4200, &want[4200..4300], &mut bounce).unwrap());
        if direct == 0 {
            eprintln!("no direct I/O on this file system; the fallback was tested");
        }
    }

    #[test]
    fn an_existing_file_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        fs::write(&p, b"keep").unwrap();
        assert!(write_new_path(&p, &[1u8; 10_000]).is_err());
        assert_eq!(fs::read(&p).unwrap(), b"keep");
    }
}
