//! Generates two real adapters' extension types from their schemas, as any adapter author's
//! crate would: debugpy's custom requests and the Jupyter debugger's additions to the DAP.

fn main() {
    let out_dir = std::env::var("OUT_DIR").unwrap_or_else(|_| {
        eprintln!("OUT_DIR is not set: run this through cargo");
        std::process::exit(1)
    });
    for (what, schema) in [
        (
            "debugpy's",
            "../../schema/extensions/debugpy/debugProtocolCustom.json",
        ),
        (
            "the Jupyter debugger's",
            "../../schema/extensions/jupyter/jupyterDebugProtocol.json",
        ),
    ] {
        println!("cargo::rerun-if-changed={schema}");
        if let Err(e) = dapkit_codegen::Extension::new(schema).generate_to(&out_dir) {
            eprintln!("generating {what} extension types: {e}");
            std::process::exit(1);
        }
    }
}
