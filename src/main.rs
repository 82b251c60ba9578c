fn main() -> std::process::ExitCode {
    drctl::cli::main()
}
