//! `reach demo`: the story of one person's week with the app, on virtual
//! time, against the real SDK and the reference server on loopback. The
//! pack is made from `reach new`'s templates and signed with a key made for
//! this run; the app runs as `reach simulate` runs a trace (one child process
//! per life, the kill a real `abort()`), so the demo is that machinery, not
//! a second one. Everything lives in one temporary directory, removed at the
//! end, and the server is stopped before the command returns.

mod card;
mod story;

use std::path::{Path, PathBuf};

use crate::simulate::{self, network::LifeServer, trace, Lives};

/// The write key the demo's server accepts and its app sends.
const WRITE_KEY: &str = "demo-write-key";

pub fn run() -> Result<u8, String> {
    let dir = std::env::temp_dir().join(format!("reach-demo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let result = tell(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let code = result?;
    if dir.exists() {
        return Err(format!("could not remove {}", dir.display()));
    }
    println!();
    println!(
        "The server is stopped and {} is removed: nothing is left running or behind.",
        dir.display()
    );
    Ok(code)
}

fn tell(dir: &Path) -> Result<u8, String> {
    let packs = dir.join("packs");
    std::fs::create_dir_all(&packs).map_err(|e| e.to_string())?;
    let pack_path = packs.join("default.json");
    std::fs::write(&pack_path, story::pack()?).map_err(|e| e.to_string())?;
    let (seed, public_key) = reach_server::keygen().map_err(|e| e.to_string())?;
    let mut config = reach_server::ServerConfig::new(dir.join("server"));
    config.packs_dir = Some(packs);
    config.signing_key = Some(reach_server::decode_seed(&seed).map_err(|e| e.to_string())?);
    config.write_keys = vec![WRITE_KEY.to_string()];
    let server =
        reach_server::start(config).map_err(|e| format!("the server did not start: {e}"))?;
    println!("Reach demo: one person's week with an app, on virtual time.");
    println!(
        "The reference server listens on {} with a pack of 4 campaigns made from `reach new` templates,",
        server.base_url()
    );
    println!("signed with a key made for this run: welcome-lottery, login-streak, cart-reminder, win-back.");

    let trace_path: PathBuf = dir.join("story.jsonl");
    let text = story::trace_text();
    std::fs::write(&trace_path, &text).map_err(|e| e.to_string())?;
    let steps = trace::parse(&text, dir)?;
    let lives = Lives {
        pack: pack_path,
        load_pack_first: false,
        trace: trace_path,
        timezone: "Asia/Shanghai".into(),
        start_ms: simulate::DEFAULT_START_MS,
        app_version: simulate::DEFAULT_APP_VERSION.into(),
        seed: simulate::DEFAULT_SEED,
        server: Some(LifeServer {
            base_url: server.base_url(),
            write_key: WRITE_KEY.into(),
            public_key,
        }),
    };
    let app_dir = dir.join("app");
    std::fs::create_dir_all(&app_dir).map_err(|e| e.to_string())?;
    let mut narrator = story::Narrator::default();
    let code = simulate::run_lives(&lives, &steps, &app_dir, &mut |record| {
        for line in narrator.tell(record) {
            println!("{line}");
        }
        Ok(())
    })?;
    let stats = server.stats().map_err(|e| e.to_string())?;
    server.shutdown();

    println!();
    println!("What the server received:");
    let events: Vec<String> = stats
        .by_event
        .iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect();
    println!("  events per name: {}", events.join(", "));
    for (campaign, c) in &stats.by_campaign {
        println!(
            "  {campaign}: {} shown, {} clicked, {} dismissed, {} conversions",
            c.shown, c.clicked, c.dismissed, c.conversions
        );
    }
    let twice: Vec<&String> = narrator
        .offered
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(c, _)| c)
        .collect();
    if twice.is_empty() {
        println!("  no popup was shown twice, across the kill");
    } else {
        return Err(format!("shown twice: {twice:?}"));
    }
    println!();
    println!("Why did {} never fire? explain() says:", story::EXPLAINED);
    match &narrator.explained {
        Some(sentence) => println!("  {sentence}"),
        None => return Err(format!("no explanation for {}", story::EXPLAINED)),
    }
    Ok(code)
}
