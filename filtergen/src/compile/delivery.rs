//! How a display filter reaches tshark: inline as one argument when it fits
//! the kernel's 128 KiB per-argument limit, else as a `${macro}` defined in a
//! Wireshark configuration profile (`tshark -C PROFILE`).

use crate::error::Error;
use crate::profile::resolve::Resolved;
use crate::profile::rules::{Mode, Profile};
use crate::compile::dfilter;

/// Linux MAX_ARG_STRLEN (128 KiB) including the terminating NUL.
pub const ARG_LIMIT: usize = 128 * 1024 - 1;

/// The Wireshark profile used when a filter must travel as a macro and the
/// user named none.
pub const DEFAULT_WIRESHARK_PROFILE: &str = "phonehome";

/// One mode's compiled display filter.
#[derive(Clone, Debug)]
pub struct ModeFilter {
    pub profile: String,
    pub mode: Mode,
    pub text: String,
}

impl ModeFilter {
    pub fn compile(profile: &Profile, mode: Mode, resolved: &Resolved) -> Result<ModeFilter, Error> {
        Ok(ModeFilter { profile: profile.name.0.clone(), mode, text: dfilter::compile(profile, mode, resolved)? })
    }

    /// Every mode the profile has (none without a device).
    pub fn all(profile: &Profile, resolved: &Resolved) -> Result<Vec<ModeFilter>, Error> {
        if profile.device.is_none() {
            return Ok(Vec::new());
        }
        Mode::ALL.iter().map(|&m| ModeFilter::compile(profile, m, resolved)).collect()
    }

    pub fn fits_argument(&self) -> bool {
        self.text.len() <= ARG_LIMIT
    }

    /// `phonehome_roborock_tuya_clean`: macro names take letters, digits and `_`.
    pub fn macro_name(&self) -> String {
        let profile: String = self.profile.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        format!("phonehome_{profile}_{}", self.mode)
    }

    /// What to pass to `-Y`: the filter itself, or its macro when too long.
    pub fn argument(&self) -> String {
        if self.fits_argument() {
            self.text.clone()
        } else {
            format!("${{{}}}", self.macro_name())
        }
    }

    /// The label used for buttons and saved filters: `roborock-tuya clean`.
    pub fn label(&self) -> String {
        format!("{} {}", self.profile, self.mode)
    }
}
