//! Device profiles: the YAML schema and its loader (`load`), the typed model
//! every value is parsed into (`rules`), the protocol names a rule may use
//! (`protocols`) and the addresses DNS answers give host names (`resolve`).

pub(crate) mod load;
pub(crate) mod protocols;
pub(crate) mod resolve;
pub(crate) mod rules;

pub use load::load;
