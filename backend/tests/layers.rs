//! Modules form layers: within every module, its child modules reference each other without a
//! cycle (a module's own file, its `mod.rs`, may be used by its children and use them: that is
//! how a Rust module shares its helpers). At the top of the backend, the layers are named and
//! may only point down: the edge (router, middleware, bootstrap) uses features and what lies
//! below them, features use access and the core, and the core uses nothing above it.
//!
//! The check reads the source files themselves (so modules compiled only for wasm32 are seen
//! too), for every crate of the workspace: every `use`, every path in code and every
//! `a::b` inside a macro call (the router's `routes!(…)`), resolved to the module it names.
//! Unit-test modules (`#[cfg(test)] mod …`) are left out: tests stand above what they test.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// A module path: `[]` is the crate root, `["auth", "signin"]` is `crate::auth::signin`.
type Module = Vec<String>;

/// Every `.rs` file under `src`, with the module it is.
fn modules(src: &Path) -> BTreeMap<Module, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut module: Module = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            if module.is_empty() && path.file_name().unwrap() == "main.rs" {
                // A binary beside a library is a root of its own: it only uses the library.
                continue;
            }
            out.insert(module, path);
        }
    }
    out
}

/// The paths a file names: `use` trees flattened, paths in code, `a::b` in macro calls.
#[derive(Default)]
struct Paths(Vec<Vec<String>>);

impl Paths {
    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => self.0.push([&prefix[..], &[n.ident.to_string()]].concat()),
            syn::UseTree::Rename(r) => self.0.push([&prefix[..], &[r.ident.to_string()]].concat()),
            syn::UseTree::Glob(_) => self.0.push(prefix.clone()),
            syn::UseTree::Group(g) => g.items.iter().for_each(|t| self.use_tree(prefix, t)),
        }
    }

    fn tokens(&mut self, tokens: TokenStream) {
        let mut run: Vec<String> = Vec::new();
        let mut colons = 0;
        for tt in tokens {
            match tt {
                TokenTree::Ident(i) if run.is_empty() || colons == 2 => {
                    run.push(i.to_string());
                    colons = 0;
                }
                TokenTree::Punct(p) if p.as_char() == ':' && !run.is_empty() => colons += 1,
                TokenTree::Group(g) => {
                    self.flush(&mut run);
                    colons = 0;
                    self.tokens(g.stream());
                }
                TokenTree::Ident(i) => {
                    self.flush(&mut run);
                    run.push(i.to_string());
                    colons = 0;
                }
                _ => {
                    self.flush(&mut run);
                    colons = 0;
                }
            }
        }
        self.flush(&mut run);
    }

    fn flush(&mut self, run: &mut Vec<String>) {
        if run.len() > 1 {
            self.0.push(std::mem::take(run));
        }
        run.clear();
    }
}

impl<'a> Visit<'a> for Paths {
    fn visit_item_mod(&mut self, m: &'a syn::ItemMod) {
        // Unit tests stand above the module they test: they may build fixtures with anything.
        let test_only = m.attrs.iter().any(|a| {
            a.path().is_ident("cfg") && a.parse_args::<syn::Ident>().is_ok_and(|i| i == "test")
        });
        if !test_only {
            syn::visit::visit_item_mod(self, m);
        }
    }
    fn visit_item_use(&mut self, u: &'a syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }
    fn visit_path(&mut self, p: &'a syn::Path) {
        if p.segments.len() > 1 {
            self.0
                .push(p.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, p);
    }
    fn visit_macro(&mut self, m: &'a syn::Macro) {
        self.tokens(m.tokens.clone());
        syn::visit::visit_macro(self, m);
    }
    fn visit_attribute(&mut self, a: &'a syn::Attribute) {
        // `#[utoipa::path(…, responses(SomeSet))]` names types from other modules too.
        if let syn::Meta::List(l) = &a.meta {
            self.tokens(l.tokens.clone());
        }
    }
}

/// The module `path`, named in `from`, refers to; `None` for external crates and local items.
fn resolve(from: &Module, path: &[String], known: &BTreeMap<Module, PathBuf>) -> Option<Module> {
    let (mut base, rest): (Module, &[String]) = match path.first()?.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (from.clone(), &path[1..]),
        "super" => {
            let mut base = from.clone();
            let mut i = 0;
            while path.get(i).is_some_and(|s| s == "super") {
                base.pop()?;
                i += 1;
            }
            (base, &path[i..])
        }
        first => {
            let child = [&from[..], &[first.to_string()]].concat();
            if known.contains_key(&child) {
                (from.clone(), path)
            } else {
                return None;
            }
        }
    };
    // The longest known module along the path.
    let mut found = base.clone();
    for segment in rest {
        base.push(segment.clone());
        if known.contains_key(&base) {
            found = base.clone();
        } else {
            break;
        }
    }
    Some(found)
}

/// For each module, the references between its children: `parent → child → {children}`.
fn sibling_edges(
    known: &BTreeMap<Module, PathBuf>,
) -> BTreeMap<Module, BTreeMap<String, BTreeSet<String>>> {
    let mut edges: BTreeMap<Module, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (module, file) in known {
        let source = std::fs::read_to_string(file).unwrap();
        let ast = syn::parse_file(&source).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut paths = Paths::default();
        paths.visit_file(&ast);
        for path in &paths.0 {
            let Some(target) = resolve(module, path, known) else {
                continue;
            };
            // The lowest common ancestor, and the children of it on each side.
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            let (Some(a), Some(b)) = (module.get(common), target.get(common)) else {
                continue; // one contains the other: a module and its own parts
            };
            edges
                .entry(module[..common].to_vec())
                .or_default()
                .entry(a.clone())
                .or_default()
                .insert(b.clone());
        }
    }
    edges
}

/// The groups of nodes of `graph` that reach each other (strongly connected components of two
/// or more): each is at least one cycle.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let reach = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(n) = todo.pop() {
            for next in graph.get(&n).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reaches: BTreeMap<&String, BTreeSet<String>> =
        graph.keys().map(|n| (n, reach(n))).collect();
    let mut groups: Vec<BTreeSet<String>> = Vec::new();
    for (n, r) in &reaches {
        if !r.contains(*n) || groups.iter().any(|g| g.contains(*n)) {
            continue;
        }
        let group: BTreeSet<String> = r
            .iter()
            .filter(|m| reaches.get(m).is_some_and(|back| back.contains(*n)))
            .cloned()
            .collect();
        groups.push(group);
    }
    groups
}

fn crate_src(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join(name)
        .join("src")
}

#[test]
fn every_modules_children_reference_each_other_without_a_cycle() {
    let mut problems = Vec::new();
    for name in ["backend", "frontend", "sandbox", "shared"] {
        let known = modules(&crate_src(name));
        for (parent, graph) in sibling_edges(&known) {
            for group in cycles(&graph) {
                let at = if parent.is_empty() {
                    name.to_string()
                } else {
                    format!("{name}::{}", parent.join("::"))
                };
                let members: Vec<&str> = group.iter().map(String::as_str).collect();
                problems.push(format!("{at}: {{{}}}", members.join(", ")));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "groups of modules that reference each other in a circle:\n{}",
        problems.join("\n")
    );
}

/// The backend's top-level modules by layer, highest first.
const LAYERS: &[(&str, &[&str])] = &[
    ("edge", &["cli", "http", "mcp", "openapi", "spa"]),
    (
        "features",
        &[
            "admin",
            "audit_log",
            "auth",
            "banks",
            "export",
            "finance",
            "insights",
            "keys",
            "ops",
            "webhooks",
            "workspaces",
        ],
    ),
    ("access", &["access", "web"]),
];

/// What is not named in [`LAYERS`] is the core.
fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|(_, members)| members.contains(&module))
        .unwrap_or(LAYERS.len())
}

#[test]
fn the_backends_layers_only_point_down() {
    let known = modules(&crate_src("backend"));
    let edges = sibling_edges(&known);
    let mut problems = Vec::new();
    for (from, targets) in edges.get(&Vec::new()).into_iter().flatten() {
        for to in targets {
            if layer_of(to) < layer_of(from) {
                let name = |m: &str| LAYERS.get(layer_of(m)).map_or("core", |(n, _)| n);
                problems.push(format!("{from} ({}) → {to} ({})", name(from), name(to)));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "references that point up a layer:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_sees_a_cycle_and_a_use_in_a_macro() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["a".to_string()])),
    ]
    .into();
    assert_eq!(cycles(&graph).len(), 1);
    let mut paths = Paths::default();
    paths.visit_file(&syn::parse_str("fn f() { r.routes(routes!(signin::login)); }").unwrap());
    assert!(paths
        .0
        .contains(&vec!["signin".to_string(), "login".to_string()]));
}

#[test]
#[ignore = "prints the graph for refactoring"]
fn print_backend_graph() {
    let known = modules(&crate_src("backend"));
    for (parent, graph) in sibling_edges(&known) {
        for (from, to) in graph {
            println!(
                "{}: {from} -> {}",
                parent.join("::"),
                to.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
    }
}
