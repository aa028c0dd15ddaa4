//! The command line of the `reach` binary, parsed by hand (three commands and a dozen flags do not need a
//! parser crate). A usage error prints the usage to stderr and exits 2; a runtime failure exits 1.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::{keys, start, ServerConfig, DEFAULT_PORT};

/// Printed on `--help` and after a usage error.
pub const USAGE: &str = "\
usage:
  reach serve [--addr 127.0.0.1] [--port 8787] [--data DIR] [--database postgres://…] [--packs DIR]
              [--key KEYFILE] [--write-key KEY]... [--stock CAMPAIGN=N]... [--admin-token TOKEN]
      Serve docs/protocol.md. Prints the bound address (127.0.0.1:PORT) as the first stdout line, then logs
      one line per request to stderr. --port 0 lets the OS pick a port. --data defaults to ./reach-server-data.
      GET /v1/stats and POST /v1/segments need Authorization: Bearer TOKEN; without --admin-token one is
      generated and printed to stderr. --database postgres://USER@HOST:PORT/DB (or ?host=/socket/dir) keeps
      events, claims, stock and segments in PostgreSQL, shared by every server given the same URL; the
      default, sqlite, keeps them in DIR.
  reach keygen --out DIR
      Write DIR/reach-signing.key (secret, mode 0600) and DIR/reach-signing.pub; print the public key.
  reach sign --key KEYFILE PACK.json
      Write PACK.json.sig (the base64 Ed25519 signature of the file's bytes) and print it.
";

/// Where `reach serve` keeps its database when `--data` is not given.
const DEFAULT_DATA_DIR: &str = "reach-server-data";

#[derive(Debug, PartialEq)]
enum Command {
    Serve(ServerConfig),
    Keygen { out: PathBuf },
    Sign { key: PathBuf, pack: PathBuf },
    Help,
}

/// Runs the command line and returns the process exit code.
pub fn run(args: &[String]) -> i32 {
    let command = match parse(args) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("reach: {message}\n\n{USAGE}");
            return 2;
        }
    };
    let result = match command {
        Command::Help => {
            print!("{USAGE}");
            Ok(())
        }
        Command::Serve(config) => serve(config),
        Command::Keygen { out } => keygen(&out),
        Command::Sign { key, pack } => sign(&key, &pack),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("reach: {message}");
            1
        }
    }
}

fn parse(args: &[String]) -> Result<Command, String> {
    let (command, rest) = args.split_first().ok_or("no command given")?;
    match command.as_str() {
        "serve" => parse_serve(rest),
        "keygen" => {
            let mut out = None;
            let mut it = rest.iter();
            while let Some(flag) = it.next() {
                match flag.as_str() {
                    "--out" => out = Some(PathBuf::from(value(&mut it, flag)?)),
                    other => return Err(format!("keygen: unknown argument {other:?}")),
                }
            }
            Ok(Command::Keygen {
                out: out.ok_or("keygen needs --out DIR")?,
            })
        }
        "sign" => {
            let (mut key, mut pack) = (None, None);
            let mut it = rest.iter();
            while let Some(arg) = it.next() {
                match arg.as_str() {
                    "--key" => key = Some(PathBuf::from(value(&mut it, arg)?)),
                    flag if flag.starts_with("--") => {
                        return Err(format!("sign: unknown flag {flag:?}"))
                    }
                    path if pack.is_none() => pack = Some(PathBuf::from(path)),
                    extra => {
                        return Err(format!(
                            "sign: one pack at a time (extra argument {extra:?})"
                        ))
                    }
                }
            }
            Ok(Command::Sign {
                key: key.ok_or("sign needs --key KEYFILE")?,
                pack: pack.ok_or("sign needs PACK.json")?,
            })
        }
        "help" | "--help" | "-h" => Ok(Command::Help),
        other => Err(format!("unknown command {other:?}")),
    }
}

fn parse_serve(args: &[String]) -> Result<Command, String> {
    let mut ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut port = DEFAULT_PORT;
    let mut config = ServerConfig::new(DEFAULT_DATA_DIR);
    config.log_requests = true;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let v = value(&mut it, flag)?;
        match flag.as_str() {
            "--addr" => {
                ip = v
                    .parse()
                    .map_err(|_| format!("--addr {v:?} is not an IP address"))?
            }
            "--port" => {
                port = v
                    .parse()
                    .map_err(|_| format!("--port {v:?} is not a port number (0-65535)"))?
            }
            "--data" => config.data_dir = PathBuf::from(v),
            "--database" => config.database = crate::Database::parse(v)?,
            "--packs" => config.packs_dir = Some(PathBuf::from(v)),
            "--key" => {
                config.signing_key =
                    Some(keys::read_key_file(Path::new(v)).map_err(|e| format!("--key: {e}"))?)
            }
            "--admin-token" if v.is_empty() => return Err("--admin-token must not be empty".into()),
            "--admin-token" => config.admin_token = Some(v.clone()),
            "--write-key" if v.is_empty() => return Err("--write-key must not be empty".into()),
            "--write-key" => config.write_keys.push(v.clone()),
            "--stock" => {
                let (campaign, n) = v
                    .split_once('=')
                    .filter(|(c, _)| !c.is_empty())
                    .ok_or_else(|| format!("--stock {v:?} is not CAMPAIGN=N"))?;
                let n = n
                    .parse()
                    .map_err(|_| format!("--stock {v:?}: {n:?} is not a whole number"))?;
                config.stock.push((campaign.to_string(), n));
            }
            other => return Err(format!("serve: unknown flag {other:?}")),
        }
    }
    config.addr = SocketAddr::new(ip, port);
    Ok(Command::Serve(config))
}

fn value<'a>(it: &mut std::slice::Iter<'a, String>, flag: &str) -> Result<&'a String, String> {
    it.next().ok_or_else(|| format!("{flag} needs a value"))
}

fn serve(config: ServerConfig) -> Result<(), String> {
    let generated = config.admin_token.is_none();
    let server = start(config).map_err(|e| e.to_string())?;
    if generated {
        eprintln!("admin token for /v1/stats: {}", server.admin_token());
    }
    let mut stdout = std::io::stdout();
    // The first stdout line is the contract scripts and tests wait for; flush it before serving anything.
    writeln!(stdout, "{}", server.addr())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("cannot write to stdout: {e}"))?;
    // Serve until the process is killed (SIGINT/SIGTERM's default action); the workers own the rest.
    loop {
        std::thread::park();
    }
}

fn keygen(out: &Path) -> Result<(), String> {
    let (secret, public, key) = keys::write_key_pair(out).map_err(|e| e.to_string())?;
    eprintln!(
        "wrote {} (secret, keep it) and {}",
        secret.display(),
        public.display()
    );
    println!("{key}");
    Ok(())
}

fn sign(key: &Path, pack: &Path) -> Result<(), String> {
    let seed = keys::read_key_file(key).map_err(|e| e.to_string())?;
    let body = std::fs::read(pack).map_err(|e| format!("cannot read {}: {e}", pack.display()))?;
    let signature = keys::sign_with_seed(&seed, &body);
    let mut sig_path = pack.as_os_str().to_owned();
    sig_path.push(".sig");
    let sig_path = PathBuf::from(sig_path);
    std::fs::write(&sig_path, format!("{signature}\n"))
        .map_err(|e| format!("cannot write {}: {e}", sig_path.display()))?;
    println!("{signature}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn serve_flags_fill_the_config() {
        let Ok(Command::Serve(c)) =
            parse(&args("serve --port 0 --data /d --packs /p --write-key a --write-key b --stock c1=10 --stock c2=0 --admin-token t"))
        else {
            panic!("not serve")
        };
        assert_eq!(c.addr, "127.0.0.1:0".parse().unwrap());
        assert_eq!(c.data_dir, PathBuf::from("/d"));
        assert_eq!(c.packs_dir, Some(PathBuf::from("/p")));
        assert_eq!(c.write_keys, ["a", "b"]);
        assert_eq!(c.stock, [("c1".to_string(), 10), ("c2".to_string(), 0)]);
        assert_eq!(c.admin_token.as_deref(), Some("t"));
        assert_eq!(c.database, crate::Database::Sqlite);
        let Ok(Command::Serve(c)) = parse(&args("serve --database postgres://u@h:5/db")) else {
            panic!("not serve")
        };
        assert_eq!(
            c.database,
            crate::Database::Postgres("postgres://u@h:5/db".into())
        );
    }

    #[test]
    fn serve_defaults_to_loopback_on_8787() {
        let Ok(Command::Serve(c)) = parse(&args("serve")) else {
            panic!("not serve")
        };
        assert_eq!(c.addr, "127.0.0.1:8787".parse().unwrap());
    }

    #[test]
    fn usage_errors_say_what_is_wrong() {
        for (line, says) in [
            ("", "no command"),
            ("frobnicate", "unknown command"),
            ("serve --port", "needs a value"),
            ("serve --port 99999", "not a port"),
            ("serve --stock c1", "CAMPAIGN=N"),
            ("serve --stock c1=-1", "whole number"),
            (
                "serve --database mysql://x",
                "neither sqlite nor a postgres",
            ),
            ("serve --bogus 1", "unknown flag"),
            ("keygen", "--out"),
            ("sign PACK.json", "--key"),
            ("sign --key k a.json b.json", "one pack"),
        ] {
            let err = parse(&args(line)).unwrap_err();
            assert!(err.contains(says), "{line:?} → {err}");
        }
    }

    #[test]
    fn a_usage_error_exits_2() {
        assert_eq!(run(&args("serve --bogus 1")), 2);
    }

    #[test]
    fn sign_and_keygen_parse() {
        assert_eq!(
            parse(&args("sign --key k.key p.json")).unwrap(),
            Command::Sign {
                key: "k.key".into(),
                pack: "p.json".into()
            }
        );
        assert_eq!(
            parse(&args("keygen --out dir")).unwrap(),
            Command::Keygen { out: "dir".into() }
        );
    }
}
