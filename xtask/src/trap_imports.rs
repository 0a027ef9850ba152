//! Modules that satisfy a core module's imports from one import module with
//! functions that trap: wizer must instantiate the guest, but the guest must
//! never call the host while its snapshot is made, and a trap proves it.

use anyhow::{Context, Result, bail};
use wasm_encoder::{
    CodeSection, ExportKind, ExportSection, Function, FunctionSection, Instruction, Module, TypeSection,
};
use wasmparser::{Parser, Payload, TypeRef, ValType};

fn val_type(t: ValType) -> Result<wasm_encoder::ValType> {
    Ok(match t {
        ValType::I32 => wasm_encoder::ValType::I32,
        ValType::I64 => wasm_encoder::ValType::I64,
        ValType::F32 => wasm_encoder::ValType::F32,
        ValType::F64 => wasm_encoder::ValType::F64,
        ValType::V128 => wasm_encoder::ValType::V128,
        ValType::Ref(_) => bail!("reference-typed imports are not supported"),
    })
}

/// The import modules of `core` other than WASI preview 1, in the order
/// they first appear: the ones wizer must be given trap stubs for.
pub fn non_wasi_import_modules(core: &[u8]) -> Result<Vec<String>> {
    let mut modules: Vec<String> = Vec::new();
    for payload in Parser::new(0).parse_all(core) {
        if let Payload::ImportSection(reader) = payload.context("parsing the guest module")? {
            for import in reader.into_imports() {
                let module = import?.module;
                if module != "wasi_snapshot_preview1" && !modules.iter().any(|m| m == module) {
                    modules.push(module.to_string());
                }
            }
        }
    }
    Ok(modules)
}

/// A module exporting, for each function that `core` imports from
/// `import_module`, a function of the same name and type whose body traps.
pub fn module_for(core: &[u8], import_module: &str) -> Result<Vec<u8>> {
    let mut types: Vec<(Vec<ValType>, Vec<ValType>)> = Vec::new();
    let mut wanted: Vec<(String, u32)> = Vec::new();
    for payload in Parser::new(0).parse_all(core) {
        match payload.context("parsing the guest module")? {
            Payload::TypeSection(reader) => {
                for ty in reader.into_iter_err_on_gc_types() {
                    let ty = ty?;
                    types.push((ty.params().to_vec(), ty.results().to_vec()));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    if import.module != import_module {
                        continue;
                    }
                    match import.ty {
                        TypeRef::Func(index) | TypeRef::FuncExact(index) => {
                            wanted.push((import.name.to_string(), index))
                        }
                        other => bail!("{import_module}::{} is not a function ({other:?})", import.name),
                    }
                }
            }
            _ => {}
        }
    }
    let mut type_section = TypeSection::new();
    let mut functions = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    for (i, (name, type_index)) in wanted.iter().enumerate() {
        let (params, results) = types
            .get(*type_index as usize)
            .with_context(|| format!("type {type_index} of {name} missing"))?;
        let params = params.iter().map(|t| val_type(*t)).collect::<Result<Vec<_>>>()?;
        let results = results.iter().map(|t| val_type(*t)).collect::<Result<Vec<_>>>()?;
        type_section.ty().function(params, results);
        functions.function(i as u32);
        exports.export(name, ExportKind::Func, i as u32);
        let mut body = Function::new([]);
        body.instruction(&Instruction::Unreachable);
        body.instruction(&Instruction::End);
        code.function(&body);
    }
    let mut module = Module::new();
    module.section(&type_section).section(&functions).section(&exports).section(&code);
    let bytes = module.finish();
    wasmparser::validate(&bytes).context("validating the trap module")?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stubs_match_the_imported_signatures() {
        // (import "host" "f" (func (param i32 i64) (result f64))) and an unrelated import.
        let mut types = TypeSection::new();
        types
            .ty()
            .function([wasm_encoder::ValType::I32, wasm_encoder::ValType::I64], [wasm_encoder::ValType::F64]);
        types.ty().function([], []);
        let mut imports = wasm_encoder::ImportSection::new();
        imports.import("host", "f", wasm_encoder::EntityType::Function(0));
        imports.import("other", "g", wasm_encoder::EntityType::Function(1));
        let mut core = Module::new();
        core.section(&types).section(&imports);
        let stubs = module_for(&core.finish(), "host").unwrap();
        let mut exported = Vec::new();
        for payload in Parser::new(0).parse_all(&stubs) {
            if let Payload::ExportSection(reader) = payload.unwrap() {
                exported.extend(reader.into_iter().map(|e| e.unwrap().name.to_string()));
            }
        }
        assert_eq!(exported, ["f"]);
    }

    #[test]
    fn wasi_preview1_needs_no_stubs() {
        let mut types = TypeSection::new();
        types.ty().function([], []);
        let mut imports = wasm_encoder::ImportSection::new();
        imports.import("wasi_snapshot_preview1", "fd_write", wasm_encoder::EntityType::Function(0));
        imports.import("wasi:http/types@0.2.12", "a", wasm_encoder::EntityType::Function(0));
        imports.import("host", "f", wasm_encoder::EntityType::Function(0));
        imports.import("wasi:http/types@0.2.12", "b", wasm_encoder::EntityType::Function(0));
        let mut core = Module::new();
        core.section(&types).section(&imports);
        assert_eq!(non_wasi_import_modules(&core.finish()).unwrap(), ["wasi:http/types@0.2.12", "host"]);
    }
}
