//! The workspace's shape, checked on its own sources: no source file (code, tests,
//! benchmarks) over `SOURCE_FILE_LINES_MAX` lines, and no function of the crates' code
//! (`src/`) over `FUNCTION_LINES_MAX` lines except a dispatch (a function whose body is one
//! `match`), so that one file holds one intent and one function one step (STYLE.md:
//! mini-redis's files, TigerBeetle's functions). Test functions are exempt from the
//! function limit: a data-driven test is a table of cases and its expected snapshot,
//! whose length is data, not steps.

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
