//! Traits that tie each message type to its command or event, its payload and its partner.
//!
//! A client session can then be generic over the request it sends:
//! `fn request<R: Request>(args: R::Arguments) -> R::Response`.

/// Which side of a debug session sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by the client (the editor) to the debug adapter.
    ToAdapter,
    /// A reverse request: sent by the debug adapter to the client (`runInTerminal`,
    /// `startDebugging`).
    ToClient,
}

/// A request message type (`InitializeRequest`, `LaunchRequest`, ...).
pub trait Request: serde::Serialize + serde::de::DeserializeOwned + Sized {
    /// The `command` this request carries.
    const COMMAND: &'static str;
    /// Who sends it.
    const DIRECTION: Direction;
    /// The capability that must be true before the sender sends this request, where the
    /// schema names one. For requests to the adapter it is an adapter capability, from the
    /// `initialize` response or a `capabilities` event (e.g.
    /// `supportsConfigurationDoneRequest`); for reverse requests
    /// ([`Direction::ToClient`]) it is a client capability, from the `initialize` request's
    /// arguments (`supportsRunInTerminalRequest`, `supportsStartDebuggingRequest`).
    const CAPABILITY: Option<&'static str>;
    /// The type of `arguments`.
    type Arguments;
    /// The success response that answers it.
    type Response: Response;
    /// A request with the given `seq` and arguments.
    fn from_arguments(seq: i32, arguments: Self::Arguments) -> Self;
    /// The arguments.
    fn arguments(&self) -> &Self::Arguments;
    /// The arguments, by value.
    fn into_arguments(self) -> Self::Arguments;
}

/// A success response message type (`InitializeResponse`, ...).
pub trait Response: serde::Serialize + serde::de::DeserializeOwned + Sized {
    /// The `command` of the request it answers.
    const COMMAND: &'static str;
    /// The type of `body`.
    type Body;
    /// A success response with the given `seq`, `request_seq` and body.
    fn from_body(seq: i32, request_seq: i32, body: Self::Body) -> Self;
    /// The body.
    fn body(&self) -> &Self::Body;
    /// The body, by value.
    fn into_body(self) -> Self::Body;
}

/// An event message type (`StoppedEvent`, ...).
pub trait Event: serde::Serialize + serde::de::DeserializeOwned + Sized {
    /// The `event` name.
    const EVENT: &'static str;
    /// The type of `body`.
    type Body;
    /// An event with the given `seq` and body.
    fn from_body(seq: i32, body: Self::Body) -> Self;
    /// The body.
    fn body(&self) -> &Self::Body;
    /// The body, by value.
    fn into_body(self) -> Self::Body;
}
