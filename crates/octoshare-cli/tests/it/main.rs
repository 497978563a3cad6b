//! Integration tests of the step binaries (`octoshare-discover`, `octoshare-wait`,
//! `octoshare-share`): each runs the real binary against its own emulator.

mod discover;
mod documents;
mod render_lines;
mod share;
mod wait;
