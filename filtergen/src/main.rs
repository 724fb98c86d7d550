use clap::Parser;

fn main() {
    let cli = filtergen::Cli::parse();
    let code = match filtergen::run(cli, &mut std::io::stdout().lock(), &mut std::io::stderr().lock()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("filtergen: {e}");
            e.exit_code()
        }
    };
    std::process::exit(code);
}
