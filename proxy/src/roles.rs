//! Who may send what: the controller sends anything; an observer sends only the requests
//! of [`OBSERVER_ALLOWED`] (reads that change nothing in the debuggee, plus its own
//! breakpoints, which the proxy merges with everyone else's).

/// The commands an observer may send upstream. `evaluate` is allowed only in the
/// [`OBSERVER_EVALUATE_CONTEXTS`]; the proxy answers an observer's `initialize`, `launch`,
/// `attach`, `configurationDone` and `disconnect` itself, and `dapkitProxy/takeControl`
/// is open to every client.
pub const OBSERVER_ALLOWED: &[&str] = &[
    "threads",
    "stackTrace",
    "scopes",
    "variables",
    "evaluate",
    "source",
    "loadedSources",
    "modules",
    "exceptionInfo",
    "disassemble",
    "readMemory",
    "completions",
    "breakpointLocations",
    "dataBreakpointInfo",
    "gotoTargets",
    "stepInTargets",
    "locations",
    "cancel",
    "setBreakpoints",
    "setFunctionBreakpoints",
    "setExceptionBreakpoints",
    "setDataBreakpoints",
];

/// The `evaluate` contexts an observer may use (a `repl` evaluation can run code that
/// changes the debuggee; an evaluation without a context is treated as `repl`).
pub const OBSERVER_EVALUATE_CONTEXTS: &[&str] = &["hover", "watch", "clipboard", "variables"];

/// Whether an observer may send `command` (with `evaluate`'s `context`).
pub fn observer_may_send(command: &str, evaluate_context: Option<&str>) -> bool {
    if command == "evaluate" {
        return evaluate_context.is_some_and(|c| OBSERVER_EVALUATE_CONTEXTS.contains(&c));
    }
    OBSERVER_ALLOWED.contains(&command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_changing_requests_are_refused() {
        for command in [
            "continue",
            "next",
            "stepIn",
            "pause",
            "terminate",
            "restart",
            "setVariable",
            "goto",
        ] {
            assert!(!observer_may_send(command, None), "{command}");
        }
        assert!(observer_may_send("stackTrace", None));
        assert!(observer_may_send("evaluate", Some("hover")));
        assert!(!observer_may_send("evaluate", Some("repl")));
        assert!(!observer_may_send("evaluate", None));
    }
}
