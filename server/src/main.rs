//! `reach-server`: the reference server alone (`serve`, `keygen`, `sign`, see `cli`), for hosts that run the server
//! without the operators' tools. The operators' `reach` binary (the `cli/` crate) serves through the same `cli::run`.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(reach_server::cli::run(&args));
}
