//! Which debug adapters `launch` and `attach` may start: the presets and the user's TOML
//! configuration file.
//!
//! Nothing else is ever started: an `adapter` name that is neither a preset nor configured
//! is a tool error.
//!
//! # The configuration file
//!
//! ```toml
//! # Paths of the presets' programs (each optional; the defaults are looked up in PATH).
//! python = "/home/me/.venv/bin/python"   # debugpy: `python -m debugpy.adapter`
//! gdb = "/usr/bin/gdb"                    # gdb: `gdb -i dap`
//! dlv = "dlv"                             # delve: `dlv dap`
//! lldb_dap = "lldb-dap"                   # lldb-dap (default: `lldb-dap` in PATH, else the
//!                                         # newest `lldb-dap-N` there, as Debian installs it)
//!
//! # An adapter of your own, used as `"adapter": "mydbg"`.
//! [adapters.mydbg]
//! command = "/opt/mydbg/bin/mydbg-dap"
//! args = ["--stdio"]
//! transport = "stdio"           # or "tcp": started with `{port}` in args replaced by a
//!                               # free loopback port, then connected to (retrying)
//! adapter_id = "mydbg"          # initialize's adapterID (default: the name)
//! run_in_terminal = false       # let the adapter run commands through runInTerminal
//! [adapters.mydbg.launch]       # defaults merged under every launch's arguments
//! stopOnEntry = false
//! [adapters.mydbg.attach]       # defaults merged under every attach's arguments
//! ```
//!
//! A preset may also be given launch/attach defaults or `run_in_terminal` by a table of
//! the same name (`[adapters.debugpy.launch]` …); its command stays the preset's unless
//! `command` is set.

use dapkit_transport::StdioCommand;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The presets' names.
pub const PRESETS: &[&str] = &["debugpy", "gdb", "delve", "lldb-dap"];

/// The largest configuration file read (a configuration is a few lines).
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// The user's configuration (see the module documentation for the format).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The Python that runs `debugpy.adapter` (default `python3`).
    pub python: Option<PathBuf>,
    /// The gdb (14 or later) started as `gdb -i dap` (default `gdb`).
    pub gdb: Option<PathBuf>,
    /// delve (default `dlv`).
    pub dlv: Option<PathBuf>,
    /// lldb-dap (default: `lldb-dap` in `PATH`, else the newest versioned `lldb-dap-N`
    /// there, the name Debian's `lldb-N` packages give it). A bare name is looked up in
    /// `PATH`: lldb-dap must be started by its path for `runInTerminal` to work.
    pub lldb_dap: Option<PathBuf>,
    /// Adapters by name.
    #[serde(default)]
    pub adapters: BTreeMap<String, AdapterConfig>,
}

/// One configured adapter (or defaults for a preset of the same name).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterConfig {
    /// The program to start.
    pub command: Option<PathBuf>,
    /// Its arguments.
    #[serde(default)]
    pub args: Vec<String>,
    /// How to talk to it: `"stdio"` (default) or `"tcp"` (`{port}` in `args` becomes a free
    /// loopback port the adapter listens on).
    pub transport: Option<String>,
    /// `adapterID` in `initialize`.
    pub adapter_id: Option<String>,
    /// Whether the adapter may run commands through `runInTerminal` (default false).
    #[serde(default)]
    pub run_in_terminal: bool,
    /// Defaults for `launch` arguments.
    #[serde(default)]
    pub launch: Map<String, Value>,
    /// Defaults for `attach` arguments.
    #[serde(default)]
    pub attach: Map<String, Value>,
}

/// What the preset or configuration resolved to: how to start the adapter and talk to it.
#[derive(Clone, Debug)]
pub struct AdapterSpec {
    /// The name the agent used.
    pub name: String,
    /// The preset this is, if any.
    pub preset: Option<&'static str>,
    /// The command started behind the proxy.
    pub command: StdioCommand,
    /// Whether `command` is the preset's (not a configured `command`).
    pub preset_command: bool,
    /// `adapterID` in `initialize`.
    pub adapter_id: String,
    /// Whether the adapter listens on TCP (`{port}` in the arguments) instead of stdio.
    pub tcp: bool,
    /// Whether `runInTerminal` is allowed.
    pub run_in_terminal: bool,
    /// Launch defaults.
    pub launch: Map<String, Value>,
    /// Attach defaults.
    pub attach: Map<String, Value>,
}

impl Config {
    /// Reads and checks a configuration file.
    pub fn load(path: &Path) -> Result<Config, String> {
        let size = std::fs::metadata(path)
            .map_err(|e| format!("cannot read the configuration {}: {e}", path.display()))?
            .len();
        if size > MAX_CONFIG_BYTES {
            return Err(format!(
                "the configuration {} has {size} bytes; at most {MAX_CONFIG_BYTES} are read",
                path.display()
            ));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the configuration {}: {e}", path.display()))?;
        Config::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses and checks configuration text.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| e.to_string())?;
        for (name, a) in &config.adapters {
            if let Some(t) = &a.transport
                && t != "stdio"
                && t != "tcp"
            {
                return Err(format!(
                    "adapter `{name}`: transport `{t}` is not supported (\"stdio\" or \"tcp\")"
                ));
            }
            if a.command.is_none() && !PRESETS.contains(&name.as_str()) {
                return Err(format!(
                    "adapter `{name}` has no `command` (and is not a preset: {})",
                    PRESETS.join(", ")
                ));
            }
        }
        Ok(config)
    }

    /// The names `launch`/`attach` accept.
    pub fn adapter_names(&self) -> Vec<String> {
        let mut names: Vec<String> = PRESETS.iter().map(|s| (*s).to_owned()).collect();
        for name in self.adapters.keys() {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        names
    }

    /// Resolves `name` to a preset or a configured adapter.
    pub fn resolve(&self, name: &str) -> Result<AdapterSpec, String> {
        let preset = PRESETS.iter().copied().find(|p| *p == name);
        let configured = self.adapters.get(name);
        if preset.is_none() && configured.is_none() {
            return Err(format!(
                "unknown adapter `{}`: use a preset or an adapter of the configuration file ({})",
                crate::bound::cut_str(name, 100),
                self.adapter_names().join(", ")
            ));
        }
        let mut command = match preset {
            Some("debugpy") => {
                let mut c = StdioCommand::new(path_or(&self.python, "python3"));
                c.args = vec!["-m".into(), "debugpy.adapter".into()];
                c
            }
            Some("gdb") => {
                let mut c = StdioCommand::new(path_or(&self.gdb, "gdb"));
                c.args = vec!["-q".into(), "-i".into(), "dap".into()];
                c
            }
            Some("delve") => {
                // `dlv dap` speaks DAP on a TCP listener only.
                let mut c = StdioCommand::new(path_or(&self.dlv, "dlv"));
                c.args = vec!["dap".into(), "--listen".into(), "127.0.0.1:{port}".into()];
                c
            }
            // By its path: lldb-dap started by a bare name gives runInTerminal a launcher
            // path made of its working directory and that name.
            _ => {
                let path = std::env::var_os("PATH").unwrap_or_default();
                StdioCommand::new(match &self.lldb_dap {
                    Some(p) => in_path(p, &path),
                    None => find_lldb_dap(&path),
                })
            }
        };
        if let Some(c) = configured
            && let Some(program) = &c.command
        {
            command = StdioCommand::new(program.clone());
            command.args = c.args.iter().map(Into::into).collect();
        }
        let adapter_id = configured
            .and_then(|c| c.adapter_id.clone())
            .unwrap_or_else(|| match preset {
                Some("debugpy") => "debugpy".to_owned(),
                Some("delve") => "go".to_owned(),
                Some(p) => p.to_owned(),
                None => name.to_owned(),
            });
        let tcp = match configured.and_then(|c| c.transport.as_deref()) {
            Some(t) => t == "tcp",
            None => preset == Some("delve"),
        };
        let preset_command = configured.is_none_or(|c| c.command.is_none());
        Ok(AdapterSpec {
            name: name.to_owned(),
            preset,
            command,
            preset_command,
            adapter_id,
            tcp,
            run_in_terminal: configured.is_some_and(|c| c.run_in_terminal),
            launch: configured.map(|c| c.launch.clone()).unwrap_or_default(),
            attach: configured.map(|c| c.attach.clone()).unwrap_or_default(),
        })
    }
}

impl AdapterSpec {
    /// For an error starting the adapter: which configuration key names a preset's
    /// program (empty for a configured adapter, whose `command` the user wrote).
    pub fn hint(&self) -> String {
        if !self.preset_command {
            return String::new();
        }
        let key = match self.preset {
            Some("debugpy") => "python",
            Some("gdb") => "gdb",
            Some("delve") => "dlv",
            Some(_) => "lldb_dap",
            None => return String::new(),
        };
        format!(
            " (is {} installed? `{key} = \"/path/to/it\"` in the configuration file names it)",
            self.command.program.to_string_lossy()
        )
    }
}

fn path_or(path: &Option<PathBuf>, default: &str) -> PathBuf {
    path.clone().unwrap_or_else(|| PathBuf::from(default))
}

/// `program` as found in `path` (a `PATH` value) when it is a bare name; else as given.
fn in_path(program: &Path, path: &std::ffi::OsStr) -> PathBuf {
    if program.components().count() != 1 || program.is_absolute() {
        return program.to_path_buf();
    }
    std::env::split_paths(path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| program.to_path_buf())
}

/// The lldb-dap to start when the configuration names none: the first `lldb-dap` in
/// `path` (a `PATH` value), else the `lldb-dap-N` with the highest N there (Debian's
/// `lldb-22` installs `/usr/bin/lldb-dap-22` and no `lldb-dap`), else plain `lldb-dap`
/// (starting it then fails naming it).
fn find_lldb_dap(path: &std::ffi::OsStr) -> PathBuf {
    let plain = Path::new("lldb-dap");
    let found = in_path(plain, path);
    if found != plain {
        return found;
    }
    let mut best: Option<(u32, PathBuf)> = None;
    for dir in std::env::split_paths(path) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(version) = name
                .to_str()
                .and_then(|n| n.strip_prefix("lldb-dap-"))
                .and_then(|v| v.parse::<u32>().ok())
            else {
                continue;
            };
            // The first directory in PATH wins among equal versions.
            if best.as_ref().is_none_or(|(v, _)| version > *v) && entry.path().is_file() {
                best = Some((version, entry.path()));
            }
        }
    }
    best.map_or(found, |(_, p)| p)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn presets_resolve_and_unknown_names_are_refused() {
        let config = Config::parse("python = \"/opt/py\"\n[adapters.mine]\ncommand = \"/bin/mine\"\nargs = [\"--dap\"]\nrun_in_terminal = true\n[adapters.mine.launch]\nfoo = 1\n")
            .expect("a valid configuration");
        let debugpy = config.resolve("debugpy").expect("the debugpy preset");
        assert_eq!(debugpy.command.program, "/opt/py");
        assert_eq!(debugpy.command.args, ["-m", "debugpy.adapter"]);
        assert!(!debugpy.run_in_terminal);
        let mine = config.resolve("mine").expect("a configured adapter");
        assert_eq!(mine.command.program, "/bin/mine");
        assert!(mine.run_in_terminal);
        assert_eq!(mine.launch.get("foo"), Some(&Value::from(1)));
        let err = config.resolve("rm -rf").expect_err("not configured");
        assert!(err.contains("unknown adapter `rm -rf`"), "{err}");
        assert!(err.contains("mine"), "{err}");
    }

    #[test]
    fn lldb_dap_is_found_plain_or_by_its_newest_version() {
        let a = tempfile::tempdir().expect("a scratch directory");
        let b = tempfile::tempdir().expect("a scratch directory");
        let path = |dirs: &[&Path]| std::env::join_paths(dirs).expect("a PATH value");
        let touch = |p: PathBuf| {
            std::fs::write(&p, "").expect("a file");
            p
        };
        assert_eq!(
            find_lldb_dap(&path(&[a.path(), b.path()])),
            PathBuf::from("lldb-dap")
        );
        touch(a.path().join("lldb-dap-9"));
        let newest = touch(b.path().join("lldb-dap-22"));
        touch(b.path().join("lldb-dap-x"));
        std::fs::create_dir(a.path().join("lldb-dap-30")).expect("a directory");
        assert_eq!(find_lldb_dap(&path(&[a.path(), b.path()])), newest);
        let plain = touch(b.path().join("lldb-dap"));
        assert_eq!(find_lldb_dap(&path(&[a.path(), b.path()])), plain);
        // A bare name in the configuration is looked up too; a path is kept as written.
        let both = path(&[a.path(), b.path()]);
        assert_eq!(in_path(Path::new("lldb-dap-22"), &both), newest);
        assert_eq!(
            in_path(Path::new("lldb-dap-99"), &both),
            PathBuf::from("lldb-dap-99")
        );
        assert_eq!(
            in_path(Path::new("./lldb-dap-22"), &both),
            PathBuf::from("./lldb-dap-22")
        );
        let config = Config::parse("lldb_dap = \"/opt/lldb/bin/lldb-dap\"\n").expect("valid");
        let spec = config.resolve("lldb-dap").expect("the lldb-dap preset");
        assert_eq!(spec.command.program, "/opt/lldb/bin/lldb-dap");
        assert!(spec.command.args.is_empty() && !spec.tcp);
    }

    #[test]
    fn bad_configurations_say_what_is_wrong() {
        let err = Config::parse("[adapters.x]\nargs = []\n").expect_err("no command");
        assert!(err.contains("adapter `x` has no `command`"), "{err}");
        let err = Config::parse("[adapters.x]\ncommand = \"a\"\ntransport = \"pipe\"\n")
            .expect_err("pipe");
        assert!(err.contains("transport `pipe`"), "{err}");
        let err = Config::parse("pyhton = \"x\"\n").expect_err("a typo");
        assert!(err.contains("pyhton"), "{err}");
    }
}
