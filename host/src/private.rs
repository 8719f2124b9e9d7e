//! Files and directories only this user can read or write: the state
//! directory, the history database and the compile cache live under them.
//!
//! A directory is used only when this user owns it and no one else may write
//! to it (an existing one that others can write is refused, with the command
//! that fixes it: files someone else could have put there are never
//! trusted). Files are created at mode 0600; a file is replaced by writing a
//! unique temporary file, syncing it, renaming it into place and syncing the
//! directory, so a crash leaves the old file or the new one; temporary files
//! a crashed process left behind are swept when the directory is opened.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// The prefix of temporary files: `.tmp-<pid>-<n>-<name>`.
const TEMP_PREFIX: &str = ".tmp-";

/// Why `dir` may not be trusted (with what would fix it); none when it may.
pub fn untrusted_reason(dir: &Path) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let meta = match std::fs::symlink_metadata(dir) {
            Ok(m) => m,
            Err(e) => return Some(format!("{}: {e}", dir.display())),
        };
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if !meta.is_dir() {
            return Some(format!("{} is not a directory", dir.display()));
        }
        if meta.uid() != me {
            return Some(format!(
                "{} is owned by user {}, not by this user ({me}); use a directory of your own",
                dir.display(),
                meta.uid()
            ));
        }
        if meta.mode() & 0o022 != 0 {
            return Some(format!(
                "{} is writable by group or others, so files in it may not be ours; check them, then run `chmod go-w {}`",
                dir.display(),
                dir.display()
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    None
}

/// Opens `dir` for private state: creates it (mode 0700) when missing,
/// refuses it when it is not this user's or others may write to it, takes
/// read access away from others, and sweeps temporary files left by
/// processes that are gone.
pub fn open_private_dir(dir: &Path) -> anyhow::Result<()> {
    if !dir.exists() {
        std::fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    if let Some(reason) = untrusted_reason(dir) {
        anyhow::bail!("refusing the directory: {reason}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(dir)?.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    sweep_temp(dir);
    Ok(())
}

/// Creates `path` if missing at mode 0600 (never looser), and opens it for writing.
pub fn create_private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes `bytes` to `path` through a unique temporary file (mode 0600,
/// created exclusively, synced) renamed into place, then syncs the directory.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!("{TEMP_PREFIX}{}-{n}-{name}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Makes the renames and deletions in `dir` durable (a no-op where
/// directories cannot be synced).
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Whether the process `pid` is alive (unknown counts as alive).
fn alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
        // SAFETY: signal 0 only checks that the process exists; no signal is sent.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Removes the temporary files in `dir` whose writing process is gone;
/// returns how many.
pub fn sweep_temp(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(TEMP_PREFIX)) else { continue };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|p| !alive(p)) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        let _ = sync_dir(dir);
    }
    removed
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    mod unix {
        use super::super::*;
        use std::os::unix::fs::PermissionsExt;

        fn temp(name: &str) -> std::path::PathBuf {
            let dir = std::env::temp_dir().join(format!("model-sync-private-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            dir
        }

        fn mode(path: &Path) -> u32 {
            std::fs::metadata(path).unwrap().permissions().mode() & 0o777
        }

        #[test]
        fn a_new_directory_and_its_files_are_private() {
            let dir = temp("new").join("state");
            open_private_dir(&dir).unwrap();
            assert_eq!(mode(&dir), 0o700);
            write_private(&dir.join("settings.json"), b"{}").unwrap();
            assert_eq!(mode(&dir.join("settings.json")), 0o600);
            drop(create_private_file(&dir.join("lock")).unwrap());
            assert_eq!(mode(&dir.join("lock")), 0o600);
            let _ = std::fs::remove_dir_all(dir.parent().unwrap());
        }

        #[test]
        fn a_directory_others_can_write_is_refused_with_the_fix_and_one_others_can_read_is_tightened() {
            let dir = temp("shared");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
            let e = open_private_dir(&dir).unwrap_err().to_string();
            assert!(e.contains("writable by group or others") && e.contains("chmod go-w"), "{e}");
            assert_eq!(mode(&dir), 0o777, "refused, not silently changed");
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            open_private_dir(&dir).unwrap();
            assert_eq!(mode(&dir), 0o700);
            let file = dir.join("x");
            std::fs::write(&file, b"").unwrap();
            assert!(untrusted_reason(&file).unwrap().contains("not a directory"));
            let _ = std::fs::remove_dir_all(&dir);
        }

        #[test]
        fn a_directory_of_another_user_is_refused() {
            let dir = temp("other");
            std::fs::create_dir_all(&dir).unwrap();
            // As root the directory can be given away; otherwise `/` is another user's.
            let (dir_of_other, given) = match std::os::unix::fs::chown(&dir, Some(65534), Some(65534)) {
                Ok(()) => (dir.clone(), true),
                Err(_) => (std::path::PathBuf::from("/"), false),
            };
            // SAFETY: geteuid has no preconditions.
            if given || unsafe { libc::geteuid() } != 0 {
                let e = open_private_dir(&dir_of_other).unwrap_err().to_string();
                assert!(e.contains("is owned by user") && e.contains("use a directory of your own"), "{e}");
            }
            let _ = std::fs::remove_dir_all(&dir);
        }

        #[test]
        fn temporary_files_of_processes_that_are_gone_are_swept() {
            let dir = temp("sweep");
            open_private_dir(&dir).unwrap();
            let mine = dir.join(format!("{TEMP_PREFIX}{}-0-settings.json", std::process::id()));
            let crashed = dir.join(format!("{TEMP_PREFIX}{}-0-settings.json", i32::MAX - 1));
            std::fs::write(&mine, b"").unwrap();
            std::fs::write(&crashed, b"").unwrap();
            std::fs::write(dir.join("settings.json"), b"{}").unwrap();
            assert_eq!(sweep_temp(&dir), 1);
            assert!(mine.exists() && !crashed.exists() && dir.join("settings.json").exists());
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
