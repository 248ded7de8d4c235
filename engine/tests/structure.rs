//! The workspace's shape, checked on its own sources: no source file (code, tests,
//! benchmarks) over `SOURCE_FILE_LINES_MAX` lines, and no function of the crates' code
//! (`src/`) over `FUNCTION_LINES_MAX` lines except a dispatch (a function whose body is one
//! `match`), so that one file holds one intent and one function one step (STYLE.md:
//! mini-redis's files, TigerBeetle's functions). Test functions are exempt from the
//! function limit: a data-driven test is a table of cases and its expected snapshot,
//! whose length is data, not steps. And no import cycles between the crates' modules: a
//! module may import from its ancestors and descendants (`use super::*`, `pub use`), but
//! two modules that are neither must not import each other, directly or around a circle.

use std::path::{Path, PathBuf};

use syn::spanned::Spanned;
use syn::visit::Visit;

/// The longest a source file may be, in lines.
const SOURCE_FILE_LINES_MAX: usize = 600;
/// The longest a function may be, in lines, from its signature to its closing brace.
const FUNCTION_LINES_MAX: usize = 70;
/// The workspace's crates.
const CRATES: &[&str] = &["engine", "actors", "persistence", "adapters", "benches", "loadtests"];

fn rust_files(folder: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(folder) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for name in CRATES {
        rust_files(&root.join(name), &mut files);
    }
    files.retain(|path| !path.components().any(|c| c.as_os_str() == "target"));
    files.sort();
    files
}

/// Functions longer than the limit in one file.
struct LongFunctions<'a> {
    file: &'a str,
    found: Vec<String>,
}

impl LongFunctions<'_> {
    fn check(&mut self, name: &str, span: proc_macro2::Span, block: &syn::Block) {
        let lines = span.end().line.saturating_sub(span.start().line) + 1;
        let dispatch = matches!(block.stmts.as_slice(), [syn::Stmt::Expr(syn::Expr::Match(_), None)]);
        if lines > FUNCTION_LINES_MAX && !dispatch {
            self.found.push(format!("{}:{} fn {name}: {lines} lines", self.file, span.start().line));
        }
    }
}

impl<'ast> Visit<'ast> for LongFunctions<'_> {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.check(&item.sig.ident.to_string(), item.span(), &item.block);
        syn::visit::visit_item_fn(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.check(&item.sig.ident.to_string(), item.span(), &item.block);
        syn::visit::visit_impl_item_fn(self, item);
    }
}

// Proves every source file of the workspace stays within the file and function limits.
#[test]
fn files_and_functions_stay_short() {
    let mut violations = Vec::new();
    for path in sources() {
        let text = std::fs::read_to_string(&path).expect("a readable source");
        let name = path.to_string_lossy().split("/../").last().unwrap_or_default().to_owned();
        let lines = text.lines().count();
        if lines > SOURCE_FILE_LINES_MAX {
            violations.push(format!("{name}: {lines} lines"));
        }
        if !name.contains("/src/") {
            continue;
        }
        let file = syn::parse_file(&text).unwrap_or_else(|error| panic!("{name} parses: {error}"));
        let mut long = LongFunctions { file: &name, found: Vec::new() };
        long.visit_file(&file);
        violations.extend(long.found);
    }
    assert!(violations.is_empty(), "over the limits:\n{}", violations.join("\n"));
}

/// A source file's module path within its crate (`engine/src/cart/mod.rs` -> `cart`,
/// `engine/src/cart/address.rs` -> `cart::address`, `engine/src/lib.rs` -> the root).
fn module_path(crate_name: &str, file: &str) -> Vec<String> {
    let inside = file.strip_prefix(&format!("{crate_name}/src/")).unwrap_or(file).trim_end_matches(".rs");
    let mut segments: Vec<String> = inside.split('/').map(str::to_owned).collect();
    if matches!(segments.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        segments.pop();
    }
    segments
}

/// Every path a `use` tree names, as segments (a glob or a group expands to its prefix).
fn use_paths(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            use_paths(&path.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(name) => {
            let mut full = prefix.clone();
            full.push(name.ident.to_string());
            out.push(full);
        }
        syn::UseTree::Rename(rename) => {
            let mut full = prefix.clone();
            full.push(rename.ident.to_string());
            out.push(full);
        }
        syn::UseTree::Glob(_) => out.push(prefix.clone()),
        syn::UseTree::Group(group) => {
            for item in &group.items {
                use_paths(item, prefix, out);
            }
        }
    }
}

/// Every `use` path of a file, anywhere in it.
struct Uses(Vec<Vec<String>>);

impl<'ast> Visit<'ast> for Uses {
    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        use_paths(&item.tree, &mut Vec::new(), &mut self.0);
    }
}

/// The module a `use` path of module `from` lands in, crate-relative; none for another
/// crate's path.
fn resolve(from: &[String], path: &[String]) -> Option<Vec<String>> {
    let mut at: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("super") | Some("self") => from.to_vec(),
        _ => return None,
    };
    let mut rest = if path.first().map(String::as_str) == Some("crate") { &path[1..] } else { path };
    while let Some(first) = rest.first() {
        match first.as_str() {
            "super" => {
                at.pop();
            }
            "self" => {}
            _ => break,
        }
        rest = &rest[1..];
    }
    at.extend(rest.iter().cloned());
    Some(at)
}

/// The import edges between modules of one crate that are neither ancestor nor descendant
/// of each other, each target taken as the longest module the path reaches.
fn module_edges(crate_name: &str) -> Vec<(Vec<String>, Vec<String>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    rust_files(&root.join(crate_name).join("src"), &mut files);
    let named: Vec<(Vec<String>, String)> = files
        .iter()
        .map(|path| {
            let name = path.to_string_lossy().split("/../").last().unwrap_or_default().to_owned();
            (module_path(crate_name, &name), std::fs::read_to_string(path).expect("a readable source"))
        })
        .collect();
    let modules: Vec<&Vec<String>> = named.iter().map(|(module, _)| module).collect();
    let related = |a: &[String], b: &[String]| a.starts_with(b) || b.starts_with(a);
    let mut edges = Vec::new();
    for (module, text) in &named {
        let file = syn::parse_file(text).expect("parses");
        let mut uses = Uses(Vec::new());
        uses.visit_file(&file);
        for path in uses.0 {
            let Some(target) = resolve(module, &path) else { continue };
            let reached = modules.iter().filter(|m| target.starts_with(m)).max_by_key(|m| m.len());
            if let Some(reached) = reached {
                if !related(module, reached) {
                    edges.push((module.clone(), (*reached).clone()));
                }
            }
        }
    }
    edges.sort();
    edges.dedup();
    edges
}

// Proves no two modules of a crate import each other, directly or around a circle (their
// types live with the module that owns them).
#[test]
fn modules_import_without_cycles() {
    let mut cycles = Vec::new();
    for crate_name in CRATES {
        let edges = module_edges(crate_name);
        let mut nodes: Vec<&Vec<String>> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
        nodes.sort();
        nodes.dedup();
        // A node is on a cycle when it reaches itself.
        for node in nodes {
            let mut seen: Vec<&Vec<String>> = Vec::new();
            let mut stack: Vec<&Vec<String>> = edges.iter().filter(|(a, _)| a == node).map(|(_, b)| b).collect();
            while let Some(next) = stack.pop() {
                if next == node {
                    cycles.push(format!("{crate_name}: {} is on an import cycle", node.join("::")));
                    break;
                }
                if !seen.contains(&next) {
                    seen.push(next);
                    stack.extend(edges.iter().filter(|(a, _)| a == next).map(|(_, b)| b));
                }
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}
