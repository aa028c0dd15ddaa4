//! The operators' `reach` command. Every command runs the SDK's own code (the
//! pack parser, the signing keys, the reference server): never a second
//! implementation. Output is for people: plain text, errors on stderr, and
//! exit 0 (done), 1 (the input is wrong or the work failed), 2 (usage).

mod demo;
mod new;
mod simulate;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Exit code of a usage error (clap's own; also an unreadable input file).
const EXIT_USAGE: u8 = 2;
/// Exit code of a refused input or a failed command.
const EXIT_FAILED: u8 = 1;

#[derive(Parser)]
#[command(
    name = "reach",
    version,
    about = "Write, check and publish Reach campaigns",
    after_help = "Example:\n  reach validate campaigns.json --known-events events.txt"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a rule pack: every error with its path, and warnings for campaigns that can never fire or will surprise.
    #[command(
        after_help = "Exit: 0 valid (warnings allowed), 1 invalid, 2 usage.\n\n\
        Example:\n  reach validate campaigns.json --known-events events.txt --format json"
    )]
    Validate(validate::ValidateArgs),
    /// Run a trace of app steps on virtual time against the real SDK and print the timeline.
    #[command(
        after_help = "Each trace line is one step, like {\"track\": \"login\"} or {\"advance\": \"1d\"} \
        (docs/operators.md). The same inputs print the same bytes.\n\n\
        Example:\n  reach simulate campaigns.json trace.jsonl"
    )]
    Simulate(simulate::SimulateArgs),
    /// Tell the story: a person's week with an app, on virtual time, against the reference server on loopback.
    #[command(
        after_help = "Runs in a few seconds and leaves nothing behind (docs/operators.md, README.md).\n\n\
        Example:\n  reach demo"
    )]
    Demo,
    /// The child process of `simulate` (one life between kills); not for people.
    #[command(hide = true, name = "simulate-life")]
    SimulateLife,
    /// Write a starting pack from a template (made from the operator scenarios).
    #[command(
        after_help = "Example:\n  reach new --template abandoned-cart --id cart-2026 --out cart.json --with-trace\n  reach new --list"
    )]
    New(new::NewArgs),
    /// Sign a rule pack (refused unless it validates): writes PACK.sig and prints the signature.
    #[command(after_help = "Example:\n  reach sign --key keys/reach-signing.key campaigns.json")]
    Sign {
        /// The secret key file written by `reach keygen`.
        #[arg(long, value_name = "KEYFILE")]
        key: PathBuf,
        /// The pack to sign.
        pack: PathBuf,
    },
    /// Write a new signing key pair to DIR and print the public key.
    #[command(after_help = "Example:\n  reach keygen --out keys")]
    Keygen {
        /// Where to write reach-signing.key (secret, mode 0600) and reach-signing.pub.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Run the reference server (docs/protocol.md); prints its address as the first line.
    #[command(
        after_help = "Example:\n  reach serve --port 8787 --data server-data --packs packs --key keys/reach-signing.key"
    )]
    Serve(ServeArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// The IP address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    addr: String,
    /// The port; 0 lets the system choose.
    #[arg(long, default_value = "8787")]
    port: String,
    /// The directory of the server's database.
    #[arg(long, value_name = "DIR")]
    data: Option<String>,
    /// Where the state lives: sqlite (the file in --data, the default) or a
    /// postgres:// URL, shared by every server given the same URL.
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// The directory of rule packs to serve (NAME.json).
    #[arg(long, value_name = "DIR")]
    packs: Option<String>,
    /// The secret key packs are signed with as they are served.
    #[arg(long, value_name = "KEYFILE")]
    key: Option<String>,
    /// An accepted write key for uploads (repeatable); none accepts any writer.
    #[arg(long = "write-key", value_name = "KEY")]
    write_keys: Vec<String>,
    /// The initial prize stock of a campaign (repeatable).
    #[arg(long, value_name = "CAMPAIGN=N")]
    stock: Vec<String>,
    /// The token GET /v1/stats needs (Authorization: Bearer TOKEN); without
    /// it one is generated and printed to stderr at start.
    #[arg(long = "admin-token", value_name = "TOKEN")]
    admin_token: Option<String>,
}

impl ServeArgs {
    /// The server crate's own flag list: `serve` stays one implementation, the
    /// reference server's (which also checks each value).
    fn to_server_args(&self) -> Vec<String> {
        let mut args = vec!["serve".to_string()];
        let mut push = |flag: &str, value: &str| {
            args.push(flag.to_string());
            args.push(value.to_string());
        };
        push("--addr", &self.addr);
        push("--port", &self.port);
        for (flag, value) in [
            ("--data", &self.data),
            ("--database", &self.database),
            ("--packs", &self.packs),
            ("--key", &self.key),
            ("--admin-token", &self.admin_token),
        ] {
            if let Some(v) = value {
                push(flag, v);
            }
        }
        for k in &self.write_keys {
            push("--write-key", k);
        }
        for s in &self.stock {
            push("--stock", s);
        }
        args
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Validate(args) => validate::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::New(args) => new::run(&args),
        Command::Demo => demo::run(),
        Command::SimulateLife => simulate::run_life(),
        Command::Sign { key, pack } => sign(&key, &pack),
        Command::Keygen { out } => {
            return exit(reach_server::cli::run(&[
                "keygen".to_string(),
                "--out".to_string(),
                out.display().to_string(),
            ]))
        }
        Command::Serve(args) => return exit(reach_server::cli::run(&args.to_server_args())),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("reach: {message}");
            ExitCode::from(EXIT_FAILED)
        }
    }
}

fn exit(code: i32) -> ExitCode {
    ExitCode::from(u8::try_from(code).unwrap_or(EXIT_FAILED))
}

/// Signs only a pack the SDK would load: a signed broken pack would be refused
/// by every device, after publishing.
fn sign(key: &std::path::Path, pack: &std::path::Path) -> Result<u8, String> {
    let text = validate::read_pack(pack)?;
    if let Err(e) = reach::rules::RulePack::parse(&text) {
        for error in e.errors() {
            eprintln!("{}: {error}", pack.display());
        }
        return Err(format!(
            "{} is not a valid pack; not signed",
            pack.display()
        ));
    }
    let code = reach_server::cli::run(&[
        "sign".to_string(),
        "--key".to_string(),
        key.display().to_string(),
        pack.display().to_string(),
    ]);
    Ok(u8::try_from(code).unwrap_or(EXIT_FAILED))
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
