//! Transports for DAP sessions.
