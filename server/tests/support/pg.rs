//! A throwaway PostgreSQL cluster for one test: `initdb` into a temp dir, `postgres` listening only on a Unix
//! socket in that dir (no port shared with anything else on the machine), stopped and deleted on drop.
//!
//! The binaries come from `REACH_PG_BIN` or the newest `/usr/lib/postgresql/*/bin` (Debian's `postgresql`
//! package; scripts/install-tools.sh installs it). Without them a test skips with a message, unless
//! `REACH_REQUIRE_PG` is set (scripts/test.sh sets it), so CI never passes a PostgreSQL test it did not run.
//! `initdb` refuses to run as root, so as root the cluster runs as the `postgres` user (`runuser`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The database role the cluster is created with (`initdb -U`).
const ROLE: &str = "reach";

/// The unprivileged user a root test process runs the cluster as (Debian's package creates it).
const OS_USER: &str = "postgres";

pub struct PgCluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_user: Option<&'static str>,
}

impl PgCluster {
    /// A running cluster, or `None` (after saying why on stderr) when PostgreSQL is not installed and
    /// `REACH_REQUIRE_PG` is unset. Panics if it is installed but does not start.
    pub fn start() -> Option<PgCluster> {
        let Some(bin) = find_bin() else {
            let required =
                std::env::var("REACH_REQUIRE_PG").is_ok_and(|v| !v.is_empty() && v != "0");
            assert!(
                !required,
                "REACH_REQUIRE_PG is set but no PostgreSQL binaries were found \
                 (set REACH_PG_BIN or install Debian's postgresql package: scripts/install-tools.sh)"
            );
            eprintln!(
                "SKIPPED: PostgreSQL not installed (no initdb in REACH_PG_BIN or /usr/lib/postgresql/*/bin); \
                 only the SQLite store was tested"
            );
            return None;
        };
        let as_user = is_root().then_some(OS_USER);
        let dir = tempfile::Builder::new()
            .prefix("reach-pg")
            .tempdir()
            .unwrap();
        if let Some(user) = as_user {
            ok(
                Command::new("chown").arg(user).arg(dir.path()).output(),
                "chown",
            );
        }
        let cluster = PgCluster { dir, bin, as_user };
        let data = cluster.data_dir();
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-U".as_ref(),
                ROLE.as_ref(),
                "--no-sync".as_ref(),
            ],
        );
        // Durability off: the tests check behaviour, not the disk; fsyncs would only slow a shared machine.
        let options = format!(
            "-k {} -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            cluster.dir.path().display()
        );
        let log = cluster.dir.path().join("log");
        cluster.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-l".as_ref(),
                log.as_os_str(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        );
        Some(cluster)
    }

    /// The URL of the cluster's `postgres` database, as `--database` takes it.
    pub fn url(&self) -> String {
        format!(
            "postgresql:///postgres?user={ROLE}&host={}",
            self.dir.path().display()
        )
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run(&self, tool: &str, args: &[&std::ffi::OsStr]) {
        let program = self.bin.join(tool);
        let output = match self.as_user {
            Some(user) => Command::new("runuser")
                .args(["-u", user, "--"])
                .arg(&program)
                .args(args)
                .output(),
            None => Command::new(&program).args(args).output(),
        };
        ok(output, tool);
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data_dir();
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
    }
}

fn ok(output: std::io::Result<Output>, what: &str) {
    let output = output.unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `REACH_PG_BIN`, else the newest `/usr/lib/postgresql/VERSION/bin` that has `initdb`.
fn find_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("REACH_PG_BIN") {
        let dir = PathBuf::from(dir);
        return dir.join("initdb").exists().then_some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(Path::new("/usr/lib/postgresql"))
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}
