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
//! lldb_dap = "lldb-dap"                   # lldb-dap
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
    /// lldb-dap (default `lldb-dap`).
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
            _ => StdioCommand::new(path_or(&self.lldb_dap, "lldb-dap")),
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
        Ok(AdapterSpec {
            name: name.to_owned(),
            preset,
            command,
            adapter_id,
            tcp,
            run_in_terminal: configured.is_some_and(|c| c.run_in_terminal),
            launch: configured.map(|c| c.launch.clone()).unwrap_or_default(),
            attach: configured.map(|c| c.attach.clone()).unwrap_or_default(),
        })
    }
}

fn path_or(path: &Option<PathBuf>, default: &str) -> PathBuf {
    path.clone().unwrap_or_else(|| PathBuf::from(default))
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
