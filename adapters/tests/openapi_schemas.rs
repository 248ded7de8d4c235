//! The document's schema names, checked in the sources that declare them, and its
//! references, each resolved.

// Proves no two types of the document share a schema name: utoipa keeps the last one of
// a name, so a second `DeliveryDto` would silently describe the first one's answers.
#[test]
fn schema_names_are_unique() {
    fn sources(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("a folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
    let mut seen: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let mut derives_schema = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with("#[derive(") {
                derives_schema = line.contains("ToSchema");
            } else if let Some(rest) = line.strip_prefix("pub struct ").or_else(|| line.strip_prefix("pub enum ")) {
                if derives_schema {
                    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                    let here = file.display().to_string();
                    if let Some(first) = seen.insert(name.clone(), here.clone()) {
                        panic!("schema {name} is declared in {first} and {here}");
                    }
                }
                derives_schema = false;
            } else if !line.starts_with("#[") && !line.starts_with("///") && !line.is_empty() {
                derives_schema = false;
            }
        }
    }
    assert!(seen.len() > 50, "{} schemas found", seen.len());
}

// Proves every reference in the served document resolves: a fuzzer refuses a document
// with a dangling one (a schema used only by a parameter is not collected by itself).
#[test]
fn every_reference_resolves() {
    fn references(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                if let Some(serde_json::Value::String(reference)) = map.get("$ref") {
                    out.push(reference.clone());
                }
                map.values().for_each(|v| references(v, out));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| references(v, out)),
            _ => {}
        }
    }
    let document: serde_json::Value =
        serde_json::from_str(mercato_adapters::http::routes::openapi::document()).expect("JSON");
    let mut found = Vec::new();
    references(&document, &mut found);
    assert!(found.len() > 100, "the document refers to its schemas: {}", found.len());
    for reference in found {
        let pointer = reference.strip_prefix('#').expect("a local reference");
        assert!(document.pointer(pointer).is_some(), "{reference} does not resolve");
    }
}
