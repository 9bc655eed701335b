//! Client and adapter sessions for DAP.
