//! The built component implements exactly the interfaces of `wit/`.

use wit_component::{DecodedWasm, WitPrinter};
use wit_parser::{PackageName, Resolve};

/// Prints package `pycomponent:python` of `resolve` without its worlds (a
/// decoded component has none) and without docs.
fn print_interfaces(mut resolve: Resolve) -> String {
    let (id, _) = resolve
        .packages
        .iter()
        .find(|(_, p)| p.name.namespace == "pycomponent" && p.name.name == "python")
        .expect("package pycomponent:python");
    resolve.packages[id].worlds.clear();
    let mut printer = WitPrinter::default();
    printer.emit_docs(false);
    printer.print(&resolve, id, &[]).expect("prints");
    normalize(&printer.output.to_string())
}

/// Sorts the interfaces, and the items inside each, so that the comparison
/// does not depend on the order a decoder lists them in.
fn normalize(printed: &str) -> String {
    let mut interfaces: Vec<String> = printed
        .split("\ninterface ")
        .map(|block| {
            // `name {`, then items separated by blank lines, then `}`.
            let block = block.trim().trim_end_matches('}');
            let (header, body) = block.split_once('\n').unwrap_or((block, ""));
            let mut items: Vec<&str> = body.split("\n\n").map(str::trim).filter(|i| !i.is_empty()).collect();
            items.sort();
            format!("{header}\n{}", items.join("\n\n"))
        })
        .collect();
    interfaces.sort();
    interfaces.join("\n\ninterface ")
}

#[test]
fn component_interfaces_match_the_wit_directory() {
    let mut declared = Resolve::default();
    declared.push_dir(host_tests::workspace_root().join("wit")).expect("wit/ parses");
    let bytes = std::fs::read(host_tests::component_path()).unwrap();
    let DecodedWasm::Component(embedded, _) = wit_component::decode(&bytes).expect("decodes") else {
        panic!("not a component");
    };
    let name = |r: &Resolve| r.packages.iter().map(|(_, p)| p.name.clone()).collect::<Vec<PackageName>>();
    assert!(
        name(&embedded).iter().any(|n| n.to_string() == "pycomponent:python@0.1.0"),
        "{:?}",
        name(&embedded)
    );
    assert_eq!(print_interfaces(embedded), print_interfaces(declared));
}
