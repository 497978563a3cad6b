//! A temporary machine for running the bootstrap script: stub `apt-get`, `dpkg-query`, `dpkg`,
//! `curl`, `gpg`, `install`, `id`, `sudo`, `systemctl` and `Tentacle` that record their argv
//! and environment, and a root folder (`OCTOSHARE_ROOT`) for every path the script writes.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// Records the call (atomically numbered with mkdir, so pipeline members cannot collide).
const RECORD: &str = r#"#!/usr/bin/env bash
set -euo pipefail
sequence=0
until mkdir "$OCTOSHARE_TEST_CALLS/$(printf '%06d' "$sequence")" 2>/dev/null; do
  sequence=$((sequence + 1))
done
call_dir=$OCTOSHARE_TEST_CALLS/$(printf '%06d' "$sequence")
printf '%s\0' "$(basename "$0")" "$@" >"$call_dir/argv"
env -0 >"$call_dir/env"
"#;

const STUBS: [(&str, &str); 9] = [
    (
        "apt-get",
        r#"for argument in "$@"; do
  case $argument in
    tentacle) printf '%s' 8.1.2000 >"$OCTOSHARE_TEST_STATE/tentacle-version" ;;
    tentacle=*) printf '%s' "${argument#tentacle=}" >"$OCTOSHARE_TEST_STATE/tentacle-version" ;;
  esac
done
"#,
    ),
    (
        "dpkg-query",
        r#"if [[ -f $OCTOSHARE_TEST_STATE/tentacle-version ]]; then
  printf 'installed %s' "$(<"$OCTOSHARE_TEST_STATE/tentacle-version")"
else
  echo 'dpkg-query: no packages found matching tentacle' >&2
  exit 1
fi
"#,
    ),
    ("dpkg", "echo amd64\n"),
    (
        "curl",
        "echo '-----BEGIN PGP PUBLIC KEY BLOCK----- (test key)'\n",
    ),
    (
        "gpg",
        r#"while (($#)); do
  if [[ $1 == --output ]]; then
    cat >"$2"
  fi
  shift
done
"#,
    ),
    ("install", "exec /usr/bin/install \"$@\"\n"),
    ("id", "echo \"${OCTOSHARE_TEST_UID:-0}\"\n"),
    ("sudo", "echo 'sudo must not be called' >&2\nexit 97\n"),
    (
        "systemctl",
        "echo 'systemctl must not be called' >&2\nexit 97\n",
    ),
];

/// A stand-in for `/opt/octopus/tentacle/Tentacle` that keeps state as the real one does
/// (`Commands/*.cs` of OctopusTentacle): the instance and its configuration file, the Tentacle
/// certificate's thumbprint, and the trusted servers (address, server thumbprint, subscription
/// id) that `register-worker`, `poll-server` and `clear-trusted-servers` add, update and remove.
/// It fails as Tentacle fails: an unknown instance, no certificate, no API key, `poll-server
/// --reuse-server-thumbprint` with no trusted server. State lives in `$OCTOSHARE_TEST_STATE/tentacle`.
const TENTACLE: &str = r#"state=$OCTOSHARE_TEST_STATE/tentacle
mkdir -p "$state"
command=$1
shift
declare -A option=()
while (($#)); do
  case $1 in
    --if-blank | --force | --install | --start | --restart | --reuse-server-thumbprint) option[$1]=1 ;;
    --*) option[$1]=$2; shift ;;
    *) echo "Tentacle: unexpected argument $1" >&2; exit 2 ;;
  esac
  shift
done
die() {
  echo "Tentacle $command: $*" >&2
  exit 1
}
# https://host:port of an address (Tentacle: new Uri($"https://{uri.Host}:{port}")); the
# port option wins, then the address's own port, then 443.
canonical() {
  local address=$1 port=$2
  [[ $address =~ ^https?://(\[[^]]*\]|[^/:?#]+)(:([0-9]+))?([/?#].*)?$ ]] || die "invalid URI: $address"
  local host=${BASH_REMATCH[1],,}
  if [[ -z $port ]]; then
    port=${BASH_REMATCH[3]}
    if [[ -z $port ]]; then
      if [[ ${address,,} == http://* ]]; then port=80; else port=443; fi
    fi
  fi
  printf 'https://%s:%s' "$host" "$((10#$port))"
}
servers=$state/servers
touch "$servers"
# Adds or replaces (same server thumbprint and address) a trusted server at the end of the list.
add_or_update() {
  awk -F'\t' -v a="$1" -v t="$2" '!($1==a && $2==t)' "$servers" >"$servers.new"
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$servers.new"
  mv "$servers.new" "$servers"
}
if [[ $command == create-instance ]]; then
  [[ -n ${option[--instance]:-} && -n ${option[--config]:-} ]] || die "--instance and --config are required"
  mkdir -p "$(dirname "${option[--config]}")"
  : >"${option[--config]}"
  printf '%s' "${option[--config]}" >"$state/instance-${option[--instance]}"
  exit 0
fi
instance_file=$state/instance-${option[--instance]:-}
[[ -f $instance_file && -f $(<"$instance_file") ]] ||
  die "instance ${option[--instance]:-} of tentacle has not been configured"
case $command in
  new-certificate)
    if [[ ! -f $state/thumbprint || -z ${option[--if-blank]:-} ]]; then
      printf 'TENTACLE%08d' "$RANDOM" >"$state/thumbprint"
    fi
    ;;
  configure | service) ;;
  register-worker)
    [[ -f $state/thumbprint ]] || die "No certificate has been generated for this Tentacle. Please run the new-certificate command first."
    [[ -n ${option[--apiKey]:-} ]] || die "please specify an API key"
    [[ -n ${option[--workerpool]:-} ]] || die "Please specify a worker pool name, slug or Id"
    [[ ${option[--comms-style]:-} == TentacleActive ]] || die "expected --comms-style TentacleActive"
    if [[ -n ${option[--server-comms-address]:-} ]]; then
      address=$(canonical "${option[--server-comms-address]}" "${option[--server-comms-port]:-}") || exit 1
    else
      address=$(canonical "${option[--server]}" "${option[--server-comms-port]:-10943}") || exit 1
    fi
    server_host=$(canonical "${option[--server]}" 1) || exit 1
    server_host=${server_host#https://}
    server_thumbprint=SERVER-${server_host%:1}
    subscription=$(awk -F'\t' -v a="$address" '$1==a {print $3; exit}' "$servers")
    if [[ -z $subscription ]]; then
      subscription=poll://$(printf '%08d' "$RANDOM")/
    fi
    add_or_update "$address" "$server_thumbprint" "$subscription"
    printf '%s\t%s\t%s\t%s\n' "${option[--space]:-}" "${option[--workerpool]}" "${option[--name]:-}" "$subscription" >>"$state/registrations"
    ;;
  clear-trusted-servers)
    keep=()
    IFS=',' read -r -a keep <<<"${option[--keep]:-}"
    : >"$servers.new"
    while IFS=$'\t' read -r address server_thumbprint subscription; do
      for kept in "${keep[@]}"; do
        if [[ $(canonical "$kept" '') == "$address" ]]; then
          printf '%s\t%s\t%s\n' "$address" "$server_thumbprint" "$subscription" >>"$servers.new"
          break
        fi
      done
    done <"$servers"
    mv "$servers.new" "$servers"
    ;;
  poll-server)
    [[ -n ${option[--reuse-server-thumbprint]:-} ]] || die "only --reuse-server-thumbprint is modelled"
    [[ -n ${option[--server-comms-address]:-} ]] || die "You must specify either a WebSocketAddress or a ServerCommsAddress"
    [[ -s $servers ]] || die "Sequence contains no elements"
    IFS=$'\t' read -r _ server_thumbprint subscription <"$servers"
    address=$(canonical "${option[--server-comms-address]}" "${option[--server-comms-port]:-}") || exit 1
    add_or_update "$address" "$server_thumbprint" "$subscription"
    ;;
  *) die "unknown command" ;;
esac
"#;

/// PATH after the stubs: the usual system folders.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The host name the script sees (`$HOSTNAME`).
pub const HOSTNAME: &str = "test-worker-7";

/// A recorded call: argv (program name first) and environment.
#[derive(Debug, Clone)]
pub struct Call {
    pub argv: Vec<String>,
    pub environment: Vec<String>,
}

impl Call {
    pub fn program(&self) -> &str {
        &self.argv[0]
    }
}

/// A server the fake Tentacle trusts and polls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedServer {
    /// `https://host:port`.
    pub address: String,
    /// The Octopus Server's certificate thumbprint (the fake derives it from the server URL).
    pub thumbprint: String,
    /// The `poll://…/` subscription id.
    pub subscription: String,
}

/// What one run of a script did.
#[derive(Debug)]
pub struct Run {
    pub success: bool,
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub calls: Vec<Call>,
}

impl Run {
    /// argv of every call, with the members of the `curl | gpg` pipeline in a fixed order.
    pub fn argvs(&self) -> Vec<Vec<String>> {
        let mut argvs: Vec<Vec<String>> = self.calls.iter().map(|call| call.argv.clone()).collect();
        for index in 1..argvs.len() {
            if argvs[index - 1][0] == "gpg" && argvs[index][0] == "curl" {
                argvs.swap(index - 1, index);
            }
        }
        argvs
    }

    /// The calls of `Tentacle <command>`.
    pub fn tentacle_calls(&self, command: &str) -> Vec<&Call> {
        self.calls
            .iter()
            .filter(|call| {
                call.program() == "Tentacle"
                    && call.argv.get(1).map(String::as_str) == Some(command)
            })
            .collect()
    }

    /// Fails unless the run succeeded, showing its output.
    pub fn assert_success(&self) {
        assert!(
            self.success,
            "script failed ({:?})\nstdout:\n{}\nstderr:\n{}",
            self.exit_code, self.stdout, self.stderr
        );
    }
}

/// A temporary machine; see the module documentation.
pub struct Sandbox {
    directory: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let directory = tempfile::tempdir().expect("creating a temporary directory");
        let sandbox = Sandbox { directory };
        for folder in ["bin", "root", "calls", "state", "tentacle"] {
            fs::create_dir_all(sandbox.path(folder)).unwrap();
        }
        for (name, behaviour) in STUBS {
            write_executable(
                &sandbox.path("bin").join(name),
                &format!("{RECORD}{behaviour}"),
            );
        }
        write_executable(&sandbox.tentacle_binary(), &format!("{RECORD}{TENTACLE}"));
        sandbox
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.directory.path().join(relative)
    }

    /// `OCTOSHARE_ROOT`.
    pub fn root(&self) -> PathBuf {
        self.path("root")
    }

    /// `OCTOSHARE_ROOT` as a string, for expected arguments.
    pub fn root_text(&self) -> String {
        self.root().to_str().unwrap().to_owned()
    }

    pub fn tentacle_binary(&self) -> PathBuf {
        self.path("tentacle").join("Tentacle")
    }

    /// The fake Tentacle's trusted servers, in its order: `https://host:port` addresses.
    pub fn trusted_servers(&self) -> Vec<TrustedServer> {
        let text = fs::read_to_string(self.path("state/tentacle/servers")).unwrap_or_default();
        text.lines()
            .map(|line| {
                let fields: Vec<&str> = line.split('\t').collect();
                TrustedServer {
                    address: fields[0].to_owned(),
                    thumbprint: fields[1].to_owned(),
                    subscription: fields[2].to_owned(),
                }
            })
            .collect()
    }

    /// Puts a recording `octoshare` (it succeeds) on the script's `PATH`.
    pub fn fake_octoshare(&self) {
        write_executable(&self.path("bin").join("octoshare"), RECORD);
    }

    /// Writes `/etc/octoshare/api-key` under the root with `mode`.
    pub fn write_api_key_file(&self, key: &str, mode: u32) {
        let path = self.root().join("etc/octoshare/api-key");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("{key}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }

    /// Runs `script` with bash in a clean environment plus `environment`.
    pub fn run(&self, script: &str, environment: &[(&str, &str)]) -> Run {
        let calls_dir = self.path("calls");
        fs::remove_dir_all(&calls_dir).unwrap();
        fs::create_dir(&calls_dir).unwrap();
        let script_path = self.path("configure-worker.sh");
        fs::write(&script_path, script).unwrap();

        let path = format!("{}:{SYSTEM_PATH}", self.path("bin").display());
        let output = Command::new("/bin/bash")
            .arg(&script_path)
            .current_dir(self.directory.path())
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.directory.path())
            .env("HOSTNAME", HOSTNAME)
            .env("OCTOSHARE_ROOT", self.root())
            .env("OCTOSHARE_TENTACLE_BIN", self.tentacle_binary())
            .env("OCTOSHARE_TEST_CALLS", &calls_dir)
            .env("OCTOSHARE_TEST_STATE", self.path("state"))
            .envs(environment.iter().copied())
            .output()
            .expect("running bash");
        Run {
            success: output.status.success(),
            exit_code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            calls: read_calls(&calls_dir),
        }
    }
}

fn read_calls(calls_dir: &Path) -> Vec<Call> {
    let mut entries: Vec<PathBuf> = fs::read_dir(calls_dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    entries
        .into_iter()
        .map(|call_dir| Call {
            argv: split_nul(&fs::read(call_dir.join("argv")).unwrap()),
            environment: split_nul(&fs::read(call_dir.join("env")).unwrap()),
        })
        .collect()
}

fn split_nul(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|byte| *byte == 0)
        .map(|part| String::from_utf8(part.to_vec()).expect("UTF-8 argument"))
        .collect::<Vec<_>>()
        .split_last()
        .map(|(last, rest)| {
            assert!(last.is_empty(), "record not NUL-terminated");
            rest.to_vec()
        })
        .unwrap_or_default()
}

fn write_executable(path: &Path, contents: &str) {
    fs::write(path, contents).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}
