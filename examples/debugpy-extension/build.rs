//! Generates debugpy's extension types from its schema, as any adapter author's crate would.

fn main() {
    let schema = "../../schema/extensions/debugpy/debugProtocolCustom.json";
    println!("cargo::rerun-if-changed={schema}");
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| {
        eprintln!("OUT_DIR is not set: run this through cargo");
        std::process::exit(1)
    });
    if let Err(e) = dapkit_codegen::Extension::new(schema).generate_to(&out_dir) {
        eprintln!("generating debugpy's extension types: {e}");
        std::process::exit(1);
    }
}
