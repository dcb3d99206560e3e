//! Where the program ends in its own file: the SquashFS image of an AppImage starts right after
//! the ELF section header table, the last part the linker writes.

use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};

/// Why a file is not a 64-bit little-endian ELF file this runtime can measure.
#[derive(Debug)]
pub enum ElfError {
    /// Reading the file failed.
    Io(io::Error),
    /// The file does not start with an ELF header of the supported kind.
    NotElf(&'static str),
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ElfError::Io(e) => write!(f, "cannot read the program's own file: {e}"),
            ElfError::NotElf(why) => write!(f, "the program's own file is not usable: {why}"),
        }
    }
}

impl std::error::Error for ElfError {}

impl From<io::Error> for ElfError {
    fn from(e: io::Error) -> Self {
        ElfError::Io(e)
    }
}

/// The size of the ELF program at the start of `file`: the end of its section header table,
/// `e_shoff + e_shnum * e_shentsize`. Data appended to the program (the image) starts there.
pub fn elf_size<R: Read + Seek>(file: &mut R) -> Result<u64, ElfError> {
    let mut header = [0u8; 64];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut header)
        .map_err(|_| ElfError::NotElf("shorter than an ELF header"))?;
    if header[0..4] != [0x7f, b'E', b'L', b'F'] {
        return Err(ElfError::NotElf("no ELF signature"));
    }
    if header[4] != 2 {
        return Err(ElfError::NotElf("not a 64-bit ELF file"));
    }
    if header[5] != 1 {
        return Err(ElfError::NotElf("not a little-endian ELF file"));
    }
    let u64_at = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&header[at..at + 8]);
        u64::from_le_bytes(b)
    };
    let u16_at = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]) as u64;
    let (sh_offset, sh_entry_size, sh_count) = (u64_at(0x28), u16_at(0x3a), u16_at(0x3c));
    if sh_offset == 0 || sh_count == 0 {
        return Err(ElfError::NotElf("no section header table"));
    }
    sh_count
        .checked_mul(sh_entry_size)
        .and_then(|table| sh_offset.checked_add(table))
        .ok_or(ElfError::NotElf("section header table out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn the_test_program_ends_where_its_section_headers_end()
    -> Result<(), Box<dyn std::error::Error>> {
        // The linker writes the section header table last, so for a plain program the ELF size
        // is the file size.
        let exe = std::env::current_exe()?;
        let len = std::fs::metadata(&exe)?.len();
        let mut f = std::fs::File::open(&exe)?;
        assert_eq!(elf_size(&mut f)?, len);
        Ok(())
    }

    #[test]
    fn appended_bytes_do_not_change_the_size() -> Result<(), Box<dyn std::error::Error>> {
        let mut bytes = std::fs::read(std::env::current_exe()?)?;
        let len = bytes.len() as u64;
        bytes.extend_from_slice(b"hsqs and more data after the program");
        assert_eq!(elf_size(&mut Cursor::new(bytes))?, len);
        Ok(())
    }

    #[test]
    fn other_files_are_refused() {
        for (bytes, why) in [
            (vec![0u8; 10], "shorter than an ELF header"),
            (vec![0u8; 64], "no ELF signature"),
        ] {
            match elf_size(&mut Cursor::new(bytes)) {
                Err(ElfError::NotElf(w)) => assert_eq!(w, why),
                other => panic!("expected {why}, got {other:?}"),
            }
        }
        let mut header = vec![0u8; 64];
        header[..6].copy_from_slice(&[0x7f, b'E', b'L', b'F', 1, 1]);
        assert!(matches!(
            elf_size(&mut Cursor::new(header)),
            Err(ElfError::NotElf("not a 64-bit ELF file"))
        ));
    }
}
