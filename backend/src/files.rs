//! What pfn writes to disk holds secrets (the SQLite database, the development secret, mail
//! with live sign-in links), so it is private to the user pfn runs as: directories 0700, files
//! 0600, whatever the umask. Files that exist are tightened too.

use std::{fs, io, path::Path};

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

/// Creates `dir` (and missing parents) as 0700, or makes an existing one 0700.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir)?;
    #[cfg(unix)]
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// Creates `path` empty as 0600 if it is missing, or makes it 0600.
pub fn private_file(path: &Path) -> io::Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    opts.mode(0o600);
    opts.open(path)?;
    #[cfg(unix)]
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// Writes `contents` to `path`, which is 0600 from its creation on.
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    use io::Write;
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    opts.open(path)?.write_all(contents)?;
    #[cfg(unix)]
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn directories_and_files_are_private_even_when_they_existed() {
        let root = std::env::temp_dir().join(format!("pfn-files-{}", uuid::Uuid::new_v4()));
        let dir = root.join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!((mode(&root.join("a")), mode(&dir)), (0o700, 0o700));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700, "an existing directory is tightened");

        let file = dir.join("db");
        private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        fs::write(&file, b"data").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
        private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(
            fs::read(&file).unwrap(),
            b"data",
            "an existing file keeps its contents"
        );

        write_private(&dir.join("secret"), b"s").unwrap();
        assert_eq!(mode(&dir.join("secret")), 0o600);
        fs::remove_dir_all(root).unwrap();
    }
}
