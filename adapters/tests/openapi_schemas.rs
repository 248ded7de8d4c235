//! The document's schema names, checked in the sources that declare them.

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
