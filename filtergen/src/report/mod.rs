//! What a device did: one pass per capture (`gather`), native (`native`,
//! with `payload` and `iot`) or through tshark, read into observation rows
//! (`observe`), summarised into the report model (`model`,
//! with `period`, `services` and `geoip`), rendered as text or markdown
//! (`text`) and HTML (`html`), or drafted into a profile (`learn`). `eve`
//! reads Suricata's EVE logs into the same observations.

pub(crate) mod eve;
pub(crate) mod gather;
pub(crate) mod country;
pub(crate) mod geoip;
pub(crate) mod html;
mod iot;
pub(crate) mod learn;
pub(crate) mod model;
pub(crate) mod native;
pub(crate) mod observe;
mod payload;
pub(crate) mod period;
pub(crate) mod services;
pub(crate) mod text;
