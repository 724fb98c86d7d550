//! Batch scripts rendered from a handlebars template. Every `{{value}}` is
//! shell-quoted by the template engine's escape function, so a template
//! cannot forget to quote; `{{{value}}}` gives the raw text.

use handlebars::Handlebars;
use serde::Serialize;

use crate::compile::delivery::ModeFilter;
use crate::error::Error;
use crate::emit::shell;

/// The built-in template (`filtergen/templates/batch.sh.hbs`).
pub const BUILTIN: &str = include_str!("../../templates/batch.sh.hbs");

/// What a template can use.
#[derive(Serialize)]
pub struct ScriptData {
    pub profile: String,
    pub description: String,
    pub mode: String,
    /// The display filter, or its `${macro}` when over the argument limit.
    pub filter: String,
    /// `.clean.pcapng` for mode clean.
    pub suffix: String,
    /// The Wireshark profile holding the macro, empty when the filter is inline.
    pub wireshark_profile: String,
}

impl ScriptData {
    pub fn new(filter: &ModeFilter, description: &str, wireshark_profile: &str) -> ScriptData {
        ScriptData {
            profile: filter.profile.clone(),
            description: description.to_string(),
            mode: filter.mode.to_string(),
            filter: filter.argument(),
            suffix: format!(".{}.pcapng", filter.mode),
            wireshark_profile: if filter.fits_argument() { String::new() } else { wireshark_profile.to_string() },
        }
    }
}

pub fn render(template: &str, data: &ScriptData) -> Result<String, Error> {
    let mut engine = Handlebars::new();
    engine.set_strict_mode(true);
    engine.register_escape_fn(shell::quote);
    engine.register_template_string("script", template).map_err(|e| Error::Template(e.to_string()))?;
    engine.render("script", data).map_err(|e| Error::Template(e.to_string()))
}
