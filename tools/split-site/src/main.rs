//! `split-site INPUT.wasm OUT_DIR NAME`: splits the site's WebAssembly (linked with
//! `-Clink-args=--emit-relocs`) at its `#[lazy]` functions, as cargo-leptos does with `--split`.
//! Writes into OUT_DIR the main module `NAME_split.wasm` (for wasm-bindgen), one module per lazy
//! route and per chunk they share, the loader `__wasm_split.______________________.js` the main
//! module imports, and `__wasm_split_manifest.json` (lazy function -> the files it needs), which
//! the server reads to preload a page's modules with the page.

use std::path::PathBuf;
use std::process::ExitCode;

/// The loader's module name: what Leptos's `HydrationScripts` expects without hashed file names.
const LINK_NAME: &str = "./__wasm_split.______________________.js";
const MANIFEST: &str = "__wasm_split_manifest.json";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, out_dir, name] = args.as_slice() else {
        eprintln!("usage: split-site INPUT.wasm OUT_DIR NAME");
        return ExitCode::from(2);
    };
    match split(input, &PathBuf::from(out_dir), name) {
        Ok(modules) => {
            println!("split {input} into {modules} lazily loaded modules in {out_dir}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot split {input}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn split(input: &str, out_dir: &std::path::Path, name: &str) -> Result<usize, String> {
    let wasm = std::fs::read(input).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(out_dir).map_err(|e| e.to_string())?;
    let main_out = out_dir.join(format!("{name}_split.wasm"));
    let main_module = format!("./{name}.js");
    let mut options = wasm_split_cli_support::Options::new(&wasm);
    options.output_dir = out_dir;
    options.main_out_path = &main_out;
    options.main_module = &main_module;
    options.link_name = LINK_NAME;
    let split = wasm_split_cli_support::transform(options).map_err(|e| format!("{e:#}"))?;
    let manifest = serde_json::to_string_pretty(&split.prefetch_map).map_err(|e| e.to_string())?;
    std::fs::write(out_dir.join(MANIFEST), manifest).map_err(|e| e.to_string())?;
    Ok(split.split_modules.len())
}
