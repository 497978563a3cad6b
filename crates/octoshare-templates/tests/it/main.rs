//! Integration tests of the worker bootstrap script: linting, running it against stub commands
//! in all three formats, and its size.

mod bootstrap_lint;
mod bootstrap_run;
mod evaluate;
mod powershell;
mod sandbox;
mod shell_lint;
mod size;
