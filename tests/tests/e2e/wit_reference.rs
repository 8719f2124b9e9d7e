//! The WIT as a product: `docs/WIT.md`, the reference of every type and
//! function of `wit/model-sync.wit`, is generated from the WIT itself (with
//! `wit-parser`) and must be current; every item must say what it is.
//! Regenerate with `UPDATE_WIT_REFERENCE=1 cargo test -p model-sync-e2e --test e2e wit_reference`.

use std::fmt::Write;
use std::path::PathBuf;

use wit_parser::{Docs, Resolve, Type, TypeDefKind, TypeOwner, WorldItem};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A type as WIT spells it.
fn ty(resolve: &Resolve, t: &Type) -> String {
    match t {
        Type::Bool => "bool".into(),
        Type::U8 => "u8".into(),
        Type::U16 => "u16".into(),
        Type::U32 => "u32".into(),
        Type::U64 => "u64".into(),
        Type::S8 => "s8".into(),
        Type::S16 => "s16".into(),
        Type::S32 => "s32".into(),
        Type::S64 => "s64".into(),
        Type::F32 => "f32".into(),
        Type::F64 => "f64".into(),
        Type::Char => "char".into(),
        Type::String => "string".into(),
        Type::ErrorContext => "error-context".into(),
        Type::Id(id) => {
            let def = &resolve.types[*id];
            if let Some(name) = &def.name {
                return name.clone();
            }
            match &def.kind {
                TypeDefKind::List(t) => format!("list<{}>", ty(resolve, t)),
                TypeDefKind::Option(t) => format!("option<{}>", ty(resolve, t)),
                TypeDefKind::Result(r) => {
                    let part = |t: &Option<Type>| t.as_ref().map_or("_".to_string(), |t| ty(resolve, t));
                    format!("result<{}, {}>", part(&r.ok), part(&r.err))
                }
                TypeDefKind::Tuple(t) => {
                    format!("tuple<{}>", t.types.iter().map(|t| ty(resolve, t)).collect::<Vec<_>>().join(", "))
                }
                TypeDefKind::Type(t) => ty(resolve, t),
                other => other.as_str().to_string(),
            }
        }
    }
}

/// One line of documentation (the item's `///` text, joined).
fn doc(docs: &Docs, what: &str, missing: &mut Vec<String>) -> String {
    match docs.contents.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        Some(d) => d.split_whitespace().collect::<Vec<_>>().join(" "),
        None => {
            missing.push(what.to_string());
            String::new()
        }
    }
}

/// The reference page, and the items without documentation.
fn render() -> (String, Vec<String>) {
    let mut resolve = Resolve::default();
    let (package, _) = resolve.push_dir(root().join("wit")).expect("the WIT parses");
    let mut missing = Vec::new();
    let pkg = &resolve.packages[package];
    let mut out = String::new();
    let _ = writeln!(out, "# WIT reference: `{}`\n", pkg.name);
    let _ = writeln!(
        out,
        "Generated from `wit/` by `tests/tests/e2e/wit_reference.rs` (which fails when this page is not current).\n"
    );
    for (name, id) in &pkg.worlds {
        let world = &resolve.worlds[*id];
        let _ = writeln!(out, "## world `{name}`\n\n{}\n", doc(&world.docs, name, &mut missing));
        for (label, items) in [("imports", &world.imports), ("exports", &world.exports)] {
            let names: Vec<String> = items
                .iter()
                .map(|(key, item)| match item {
                    WorldItem::Interface { .. } => format!("`{}`", resolve.name_world_key(key)),
                    WorldItem::Function(f) => format!("`{}`", f.name),
                    WorldItem::Type { .. } => format!("type `{}`", resolve.name_world_key(key)),
                })
                .collect();
            if !names.is_empty() {
                let _ = writeln!(out, "- {label}: {}", names.join(", "));
            }
        }
        out.push('\n');
    }
    for (name, id) in &pkg.interfaces {
        let iface = &resolve.interfaces[*id];
        let _ = writeln!(out, "## interface `{name}`\n\n{}\n", doc(&iface.docs, name, &mut missing));
        for (fname, f) in &iface.functions {
            let params: Vec<String> = f.params.iter().map(|p| format!("{}: {}", p.name, ty(&resolve, &p.ty))).collect();
            let result = f.result.as_ref().map(|t| format!(" -> {}", ty(&resolve, t))).unwrap_or_default();
            let _ = writeln!(out, "### func `{fname}`\n\n```wit\n{fname}: func({}){result};\n```\n", params.join(", "));
            let _ = writeln!(out, "{}\n", doc(&f.docs, &format!("{name}.{fname}"), &mut missing));
        }
        for (tname, tid) in &iface.types {
            let def = &resolve.types[*tid];
            if def.owner != TypeOwner::Interface(*id) {
                continue;
            }
            let what = format!("{name}.{tname}");
            let _ = writeln!(
                out,
                "<a id=\"{tname}\"></a>\n\n### {} `{tname}`\n\n{}\n",
                def.kind.as_str(),
                doc(&def.docs, &what, &mut missing)
            );
            match &def.kind {
                TypeDefKind::Record(r) => {
                    for f in &r.fields {
                        let d = doc(&f.docs, &format!("{what}.{}", f.name), &mut missing);
                        let _ = writeln!(out, "- `{}: {}` — {d}", f.name, ty(&resolve, &f.ty));
                    }
                }
                TypeDefKind::Variant(v) => {
                    for c in &v.cases {
                        let payload = c.ty.as_ref().map(|t| format!("({})", ty(&resolve, t))).unwrap_or_default();
                        let d = doc(&c.docs, &format!("{what}.{}", c.name), &mut missing);
                        let _ = writeln!(out, "- `{}{payload}` — {d}", c.name);
                    }
                }
                TypeDefKind::Enum(e) => {
                    for c in &e.cases {
                        let d = doc(&c.docs, &format!("{what}.{}", c.name), &mut missing);
                        let _ = writeln!(out, "- `{}` — {d}", c.name);
                    }
                }
                TypeDefKind::Type(t) => {
                    let _ = writeln!(out, "`type {tname} = {}`", ty(&resolve, t));
                }
                _ => {}
            }
            out.push('\n');
        }
    }
    (out.trim_end().to_string() + "\n", missing)
}

#[test]
fn every_wit_item_is_documented_and_the_reference_page_is_current() {
    let (page, missing) = render();
    assert!(missing.is_empty(), "WIT items without a `///` comment: {missing:?}");
    let path = root().join("docs/WIT.md");
    if std::env::var_os("UPDATE_WIT_REFERENCE").is_some() {
        std::fs::write(&path, &page).expect("write docs/WIT.md");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == page,
        "docs/WIT.md is not current: run `UPDATE_WIT_REFERENCE=1 cargo test -p model-sync-e2e --test e2e wit_reference`"
    );
    assert!(page.contains("### func `trigger-sync`") && page.contains("### record `catalog-node`"));
}

/// A named type's shape: its kind and its fields or cases with their types.
fn shape(resolve: &Resolve, def: &wit_parser::TypeDef) -> String {
    let cases: Vec<String> = match &def.kind {
        TypeDefKind::Record(r) => r.fields.iter().map(|f| format!("{}: {}", f.name, ty(resolve, &f.ty))).collect(),
        TypeDefKind::Variant(v) => v
            .cases
            .iter()
            .map(|c| format!("{}({})", c.name, c.ty.as_ref().map(|t| ty(resolve, t)).unwrap_or_default()))
            .collect(),
        TypeDefKind::Enum(e) => e.cases.iter().map(|c| c.name.clone()).collect(),
        TypeDefKind::Type(t) => vec![ty(resolve, t)],
        other => vec![other.as_str().to_string()],
    };
    format!("{} {{{}}}", def.kind.as_str(), cases.join(", "))
}

/// Every function and named type of an interface, as text.
fn interface_text(resolve: &Resolve, id: wit_parser::InterfaceId) -> std::collections::BTreeSet<String> {
    let iface = &resolve.interfaces[id];
    let functions = iface.functions.values().map(|f| {
        let params: Vec<String> = f.params.iter().map(|p| format!("{}: {}", p.name, ty(resolve, &p.ty))).collect();
        format!(
            "func {}({}) -> {}",
            f.name,
            params.join(", "),
            f.result.as_ref().map_or("()".into(), |t| ty(resolve, t))
        )
    });
    let types = iface.types.iter().map(|(name, id)| format!("type {name} = {}", shape(resolve, &resolve.types[*id])));
    functions.chain(types).collect()
}

#[test]
fn the_built_component_exports_exactly_the_published_interface() {
    let wasm = model_sync_host::bundled::PLUGIN_WASM.expect("the host bundles the plugin");
    let wit_component::DecodedWasm::Component(built, world) =
        wit_component::decode(wasm).expect("the component decodes")
    else {
        panic!("the plugin is a component");
    };
    let world = &built.worlds[world];
    let exports: Vec<String> = world.exports.keys().map(|k| built.name_world_key(k)).collect();
    assert_eq!(exports, vec!["modelsync:plugin/model-sync@0.3.0"]);
    let Some(WorldItem::Interface { id: exported, .. }) = world.exports.values().next() else {
        panic!("an interface is exported");
    };
    let mut published = Resolve::default();
    let (package, _) = published.push_dir(root().join("wit")).expect("the WIT parses");
    let interface = published.packages[package].interfaces["model-sync"];
    assert_eq!(interface_text(&built, *exported), interface_text(&published, interface));
    // It asks for nothing beyond WASI's clocks, random, streams, CLI environment and outbound HTTP, and the host interface.
    let imports: Vec<String> = world.imports.keys().map(|k| built.name_world_key(k)).collect();
    for import in &imports {
        let allowed = import.starts_with("modelsync:plugin/host@")
            || ["wasi:io/", "wasi:clocks/", "wasi:random/", "wasi:cli/", "wasi:http/"]
                .iter()
                .any(|p| import.starts_with(p));
        assert!(allowed, "unexpected import {import} (all: {imports:?})");
    }
    assert!(imports.iter().any(|i| i.starts_with("wasi:http/outgoing-handler")), "{imports:?}");
}
