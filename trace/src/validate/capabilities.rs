//! Which capability gates each request, from dapkit-types' `traits::Request` constants.

use dapkit_types::messages as m;
use dapkit_types::traits::{Direction, Request};

/// A request's gating: its command, the capability that must be true before it is sent
/// (an adapter capability for requests to the adapter, a client capability for reverse
/// requests), and who sends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gate {
    /// The command.
    pub command: &'static str,
    /// The capability, where the schema names one.
    pub capability: Option<&'static str>,
    /// Who sends the request.
    pub direction: Direction,
}

macro_rules! gates {
    ($($(#[$cfg:meta])* $ty:ident),* $(,)?) => {
        /// Every request type dapkit-types knows, with its gating.
        pub const GATES: &[Gate] = &[$(
            $(#[$cfg])*
            Gate {
                command: <m::$ty as Request>::COMMAND,
                capability: <m::$ty as Request>::CAPABILITY,
                direction: <m::$ty as Request>::DIRECTION,
            },
        )*];
    };
}

gates!(
    CancelRequest,
    RunInTerminalRequest,
    StartDebuggingRequest,
    InitializeRequest,
    ConfigurationDoneRequest,
    LaunchRequest,
    AttachRequest,
    RestartRequest,
    DisconnectRequest,
    TerminateRequest,
    BreakpointLocationsRequest,
    SetBreakpointsRequest,
    SetFunctionBreakpointsRequest,
    SetExceptionBreakpointsRequest,
    DataBreakpointInfoRequest,
    SetDataBreakpointsRequest,
    SetInstructionBreakpointsRequest,
    ContinueRequest,
    NextRequest,
    StepInRequest,
    StepOutRequest,
    StepBackRequest,
    ReverseContinueRequest,
    RestartFrameRequest,
    GotoRequest,
    PauseRequest,
    StackTraceRequest,
    ScopesRequest,
    VariablesRequest,
    SetVariableRequest,
    SourceRequest,
    ThreadsRequest,
    TerminateThreadsRequest,
    ModulesRequest,
    LoadedSourcesRequest,
    EvaluateRequest,
    SetExpressionRequest,
    StepInTargetsRequest,
    GotoTargetsRequest,
    CompletionsRequest,
    ExceptionInfoRequest,
    ReadMemoryRequest,
    WriteMemoryRequest,
    DisassembleRequest,
    LocationsRequest,
    #[cfg(feature = "debugpy")]
    SetDebuggerPropertyRequest,
    #[cfg(feature = "debugpy")]
    SetPydevdSourceMapRequest,
    #[cfg(feature = "debugpy")]
    PydevdSystemInfoRequest,
    #[cfg(feature = "debugpy")]
    PydevdAuthorizeRequest,
    #[cfg(feature = "jupyter")]
    DumpCellRequest,
    #[cfg(feature = "jupyter")]
    DebugInfoRequest,
    #[cfg(feature = "jupyter")]
    InspectVariablesRequest,
    #[cfg(feature = "jupyter")]
    RichInspectVariablesRequest,
    #[cfg(feature = "jupyter")]
    CopyToGlobalsRequest,
);

/// The gating of a command, if dapkit-types knows it.
pub fn gate(command: &str) -> Option<&'static Gate> {
    GATES.iter().find(|g| g.command == command)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_request_has_its_gate() {
        let known = dapkit_types::Request::KNOWN;
        for name in known {
            assert!(gate(name).is_some(), "no gate for `{name}`");
        }
        assert_eq!(
            GATES.len(),
            known.len(),
            "GATES lists a request KNOWN does not"
        );
        let set_function = gate("setFunctionBreakpoints").map(|g| g.capability);
        assert_eq!(set_function, Some(Some("supportsFunctionBreakpoints")));
        let run = gate("runInTerminal");
        assert_eq!(run.map(|g| g.direction), Some(Direction::ToClient));
    }
}
