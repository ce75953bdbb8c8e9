//! A sanity check of a library's bytes before `dlopen` sees them.
//!
//! glibc maps an ELF's segments without checking that the file is long enough: a truncated
//! library (a copy cut short, a build still being written) can load and then take the process
//! down with SIGBUS when the loader touches a page past the end of the file. So the node checks
//! that the file is a complete ELF shared object for this machine first: every loadable segment
//! and the section header table lie inside the file.

/// Why bytes are not a complete shared library.
pub fn check_complete(bytes: &[u8]) -> Result<(), String> {
    let u16_at = |o: usize| {
        bytes
            .get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    let u32_at = |o: usize| {
        bytes
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        bytes.get(o..o + 8).map(|b| {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            u64::from_le_bytes(a)
        })
    };
    if bytes.get(..4) != Some(b"\x7fELF") {
        return Err("not an ELF file".to_owned());
    }
    if bytes.get(4) != Some(&2) || bytes.get(5) != Some(&1) {
        return Err("not a 64-bit little-endian ELF file".to_owned());
    }
    const ET_DYN: u16 = 3;
    if u16_at(16) != Some(ET_DYN) {
        return Err("not a shared library (ELF type is not DYN)".to_owned());
    }
    let len = bytes.len() as u64;
    let truncated =
        |what: &str| format!("truncated: its {what} lies past the end of the file ({len} bytes)");
    let (phoff, phentsize, phnum) = match (u64_at(32), u16_at(54), u16_at(56)) {
        (Some(o), Some(s), Some(n)) => (o, u64::from(s), u64::from(n)),
        _ => return Err(truncated("ELF header")),
    };
    let (shoff, shentsize, shnum) = match (u64_at(40), u16_at(58), u16_at(60)) {
        (Some(o), Some(s), Some(n)) => (o, u64::from(s), u64::from(n)),
        _ => return Err(truncated("ELF header")),
    };
    let table_end = |off: u64, size: u64, n: u64| off.checked_add(size.checked_mul(n)?);
    match table_end(phoff, phentsize, phnum) {
        Some(end) if end <= len && phentsize >= 56 => {}
        _ => return Err(truncated("program header table")),
    }
    match table_end(shoff, shentsize, shnum) {
        Some(end) if end <= len => {}
        _ => return Err(truncated("section header table")),
    }
    const PT_LOAD: u32 = 1;
    for i in 0..phnum {
        let at = (phoff + i * phentsize) as usize;
        let (Some(kind), Some(offset), Some(filesz)) =
            (u32_at(at), u64_at(at + 8), u64_at(at + 32))
        else {
            return Err(truncated("program header table"));
        };
        if kind == PT_LOAD && offset.checked_add(filesz).is_none_or(|end| end > len) {
            return Err(truncated("code or data"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn this_library() -> Vec<u8> {
        // The test binary itself is an ELF (an executable, so patch the type to check the rest).
        let mut bytes =
            std::fs::read(std::env::current_exe().unwrap_or_default()).unwrap_or_default();
        if bytes.len() > 18 {
            bytes[16] = 3;
        }
        bytes
    }

    #[test]
    fn a_whole_file_passes_and_every_cut_fails() {
        let bytes = this_library();
        assert_eq!(check_complete(&bytes), Ok(()));
        for cut in [0, 3, 63, 4096, bytes.len() / 3, bytes.len() - 1] {
            assert!(check_complete(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn other_files_are_refused_with_a_reason() {
        assert_eq!(check_complete(b"hello"), Err("not an ELF file".to_owned()));
    }
}
