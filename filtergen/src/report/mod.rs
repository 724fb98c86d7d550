//! What a device did: one tshark pass per capture (`gather`) read into
//! observation rows (`observe`), summarised into the report model (`model`,
//! with `period`, `services` and `geoip`), rendered as text or markdown
//! (`text`) and HTML (`html`), or drafted into a profile (`learn`).

pub(crate) mod gather;
pub(crate) mod geoip;
pub(crate) mod html;
pub(crate) mod learn;
pub(crate) mod model;
pub(crate) mod observe;
pub(crate) mod period;
pub(crate) mod services;
pub(crate) mod text;
