//! [`Requests::start_up`]: the start of a session in the protocol's order — `initialize`
//! answered, then `initialized` sent, then the configuration requests up to
//! `configurationDone`, with `launch`/`attach` held back until both are in.

use super::error::StartupError;
use super::incoming::{Incoming, Requests};
use dapkit_types::Request;
use dapkit_types::messages::ConfigurationDoneRequest;
use dapkit_types::types::{Capabilities, InitializeRequestArguments};

/// A configured session, returned by [`Requests::start_up`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Started {
    /// The arguments of the client's `initialize`: its name, whether lines start at 1,
    /// which reverse requests it supports.
    pub client: InitializeRequestArguments,
    /// The `launch` or `attach` request, not answered yet: start the debuggee (the
    /// breakpoints are set by now), then answer it.
    pub launch: Incoming,
}

enum Phase {
    /// Before `initialize`.
    Uninitialized,
    /// `initialize` answered and `initialized` sent.
    Configuring(InitializeRequestArguments),
}

impl Requests {
    /// Runs the start of a session (see the [module docs](super#the-start-of-a-session)):
    ///
    /// - requests before `initialize` get an error response;
    /// - `initialize` is answered with `capabilities`, then `initialized` is sent;
    /// - `launch` or `attach` is held back (a second one gets an error response);
    /// - `configurationDone` is answered with success;
    /// - every other request goes to `configure`, which answers it (or drops it: an
    ///   error response).
    ///
    /// It returns once `launch`/`attach` and `configurationDone` have both arrived, in
    /// either order; or once `launch`/`attach` has arrived if `capabilities` lack
    /// `supportsConfigurationDoneRequest` (the client then sends no `configurationDone`).
    /// A `disconnect` or `terminate` before that ends it with
    /// [`StartupError::Disconnected`], carrying the request for you to answer.
    pub async fn start_up(
        &mut self,
        capabilities: Capabilities,
        mut configure: impl FnMut(Incoming),
    ) -> Result<Started, StartupError> {
        let wants_done = capabilities.supports_configuration_done_request == Some(true);
        let session = self.session().clone();
        let mut phase = Phase::Uninitialized;
        let mut launch: Option<Incoming> = None;
        let mut done = false;
        while let Some(req) = self.next().await {
            match (&phase, req.request()) {
                (_, Request::Disconnect(_) | Request::Terminate(_)) => {
                    return Err(StartupError::Disconnected(Box::new(req)));
                }
                (Phase::Uninitialized, Request::Initialize(init)) => {
                    let client = init.arguments.clone();
                    session
                        .respond_initialize(req, capabilities.clone())
                        .map_err(StartupError::Send)?;
                    phase = Phase::Configuring(client);
                }
                (Phase::Uninitialized, _) => {
                    let text = format!("`{}` before `initialize`", req.command());
                    let _ = session.respond_error(req, &text);
                }
                (Phase::Configuring(_), Request::Initialize(_)) => {
                    let _ = session.respond_error(req, "`initialize` was sent already");
                }
                (Phase::Configuring(_), Request::Launch(_) | Request::Attach(_)) => {
                    if launch.is_some() {
                        let text = format!("`{}` after `launch`/`attach`", req.command());
                        let _ = session.respond_error(req, &text);
                    } else {
                        launch = Some(req);
                    }
                }
                (Phase::Configuring(_), Request::ConfigurationDone(_)) => {
                    let _ = session.respond::<ConfigurationDoneRequest>(req, None);
                    done = true;
                }
                (Phase::Configuring(_), _) => configure(req),
            }
            if let Phase::Configuring(client) = &phase {
                if done || !wants_done {
                    if let Some(launch) = launch.take() {
                        return Ok(Started {
                            client: client.clone(),
                            launch,
                        });
                    }
                }
            }
        }
        Err(StartupError::Closed)
    }
}
