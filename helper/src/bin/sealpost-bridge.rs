//! `sealpost-bridge`: what Windows starts at each user's sign-in (the MSI's `Run` entry) to run
//! the Outlook bridge without a console window. A GUI-subsystem program, so Windows opens no
//! window for it; it starts `sealpost-helper bridge --autostart` from its own folder with no
//! console either, and waits for it. The helper decides whether to serve (IT's
//! `bridge_autostart`), so this stays a launcher and nothing more.
#![cfg_attr(windows, windows_subsystem = "windows")]

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let helper = match std::env::current_exe() {
        Ok(exe) => exe.with_file_name(if cfg!(windows) {
            "sealpost-helper.exe"
        } else {
            "sealpost-helper"
        }),
        Err(_) => return ExitCode::FAILURE,
    };
    let mut command = Command::new(helper);
    command.args(["bridge", "--autostart"]);
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt;
        /// CREATE_NO_WINDOW: the console program gets no console window.
        const CREATE_NO_WINDOW: u32 = 0x0800_0000;
        command.creation_flags(CREATE_NO_WINDOW);
    }
    match command.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
