//! `filtergen manpages DIR` (hidden): one man page for filtergen and one per
//! visible command, as `man filtergen-report`.

use std::path::Path;

use clap::CommandFactory;

use super::Cli;
use crate::atomic;
use crate::error::Error;

pub(super) fn write(dir: &Path) -> Result<(), Error> {
    let root = Cli::command();
    let mut pages = vec![("filtergen".to_string(), root.clone())];
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("filtergen-{}", sub.get_name());
        pages.push((name.clone(), sub.clone().name(name).version(root.get_version().unwrap_or_default().to_string())));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    for (name, cmd) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut page).map_err(|e| Error::io(&path, e))?;
        atomic::write(&path, &page)?;
    }
    Ok(())
}
