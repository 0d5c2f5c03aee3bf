//! Where the SPA's release build comes from: a directory (`PFN_SPA_DIR`, else `./dist`) or, in
//! a binary built with the `embed-spa` feature (`rust-embed`), the binary itself, so that
//! `pfn serve` needs nothing beside it. `spa` serves what this finds.

use std::{
    borrow::Cow,
    path::{Path, PathBuf},
    sync::OnceLock,
};

use axum::body::Bytes;

/// The SPA as the server finds it: at start, or later, when a build made beside the running
/// server (`scripts/run` starts the API first and builds the web app alongside) writes its
/// `index.html`: then it is served from that request on, without a restart.
#[derive(Debug)]
pub struct Spa {
    setting: Option<PathBuf>,
    found: OnceLock<Source>,
}

impl Spa {
    /// `setting`: `PFN_SPA_DIR`, if set. Nothing is looked for until [`Spa::current`].
    pub fn new(setting: Option<PathBuf>) -> Self {
        Self {
            setting,
            found: OnceLock::new(),
        }
    }

    /// The SPA being served; looked for again (one `stat`) while there is none.
    pub fn current(&self) -> Option<&Source> {
        if let Some(found) = self.found.get() {
            return Some(found);
        }
        let found = Source::locate(self.setting.as_deref())?;
        Some(self.found.get_or_init(|| found))
    }

    /// Where a build is looked for while there is none, for the logs.
    pub fn awaited_in(&self) -> &Path {
        self.setting.as_deref().unwrap_or(Path::new("dist"))
    }
}

/// Where the SPA's files come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A build directory holding an `index.html`.
    Dir(PathBuf),
    /// The build compiled into this binary (the `embed-spa` feature).
    #[cfg(feature = "embed-spa")]
    Embedded,
}

/// The workspace's `dist/` as it was when this binary was compiled, every file in the binary
/// (`debug-embed`: a debug build too, so tests serve what a release serves).
#[cfg(feature = "embed-spa")]
#[derive(rust_embed::Embed)]
#[folder = "../dist/"]
struct Dist;

impl Source {
    /// The SPA to serve: the directory `PFN_SPA_DIR` names when it is set, else the build in
    /// this binary when there is one, else `./dist`; `None` when the chosen place has no
    /// `index.html` (the API is served alone).
    pub fn locate(setting: Option<&Path>) -> Option<Self> {
        let dir = |d: &Path| {
            d.join("index.html")
                .is_file()
                .then(|| Self::Dir(d.to_path_buf()))
        };
        match setting {
            Some(d) => dir(d),
            None => Self::embedded().or_else(|| dir(Path::new("dist"))),
        }
    }

    fn embedded() -> Option<Self> {
        #[cfg(feature = "embed-spa")]
        if Dist::get("index.html").is_some() {
            return Some(Self::Embedded);
        }
        None
    }

    /// Whether this binary carries the SPA's files in itself (not read from disk at run time).
    pub fn embedded_in_binary() -> bool {
        #[cfg(feature = "embed-spa")]
        if let Some(file) = Dist::get("index.html") {
            return matches!(file.data, Cow::Borrowed(_));
        }
        false
    }

    /// Where the files come from, for the logs.
    pub fn describe(&self) -> Cow<'_, str> {
        match self {
            Self::Dir(d) => d.display().to_string().into(),
            #[cfg(feature = "embed-spa")]
            Self::Embedded => "the files built into this binary".into(),
        }
    }

    /// Whether the build holds the file at `relative` (a path that stays inside it).
    pub fn is_file(&self, relative: &Path) -> bool {
        match self {
            Self::Dir(d) => d.join(relative).is_file(),
            #[cfg(feature = "embed-spa")]
            Self::Embedded => embedded_name(relative).is_some_and(|n| Dist::get(&n).is_some()),
        }
    }

    /// The file at `relative`.
    pub async fn read(&self, relative: &Path) -> std::io::Result<Bytes> {
        match self {
            Self::Dir(d) => tokio::fs::read(d.join(relative)).await.map(Bytes::from),
            #[cfg(feature = "embed-spa")]
            Self::Embedded => embedded_name(relative)
                .and_then(|n| Dist::get(&n))
                .map(|f| match f.data {
                    Cow::Borrowed(b) => Bytes::from_static(b),
                    Cow::Owned(v) => Bytes::from(v),
                })
                .ok_or_else(|| std::io::ErrorKind::NotFound.into()),
        }
    }
}

/// A relative path as the embedded files are named (`/` between parts).
#[cfg(feature = "embed-spa")]
fn embedded_name(relative: &Path) -> Option<String> {
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect();
    Some(parts?.join("/"))
}
