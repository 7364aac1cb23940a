//! Progress on long operations, drawn on stderr only when it is a terminal (indicatif hides it
//! otherwise), so scripts and logs never see escape codes.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting `total` items.
pub fn bar(total: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(total).with_message(message);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A spinner for an operation of unknown length.
pub fn spinner(message: &'static str) -> ProgressBar {
    let spinner = ProgressBar::new_spinner().with_message(message);
    spinner.enable_steady_tick(std::time::Duration::from_millis(100));
    spinner
}
