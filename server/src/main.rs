//! The `reach` binary: `reach serve`, `reach keygen`, `reach sign` (see `cli`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(reach_server::cli::run(&args));
}
