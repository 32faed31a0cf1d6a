//! Every `cargo xtask` command and its flags. `main.rs` dispatches; each command lives in its own file.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    about = "Build, check and ship the mcp-sidecar wheels"
)]
pub struct Xtask {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    Dist(Dist),
    Plan(Plan),
    Check(Check),
    Test(Test),
    Bench(Bench),
    Publish(Publish),
    GithubRelease(GithubRelease),
    VerifyRelease(VerifyRelease),
    FreezeCheck(FreezeCheck),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Builder {
    /// zig for cross targets, plain cargo for the host's own native target.
    Auto,
    Zig,
    Cross,
    Native,
}

/// Cross-build the sidecar and write wheels, sdist, SHA256SUMS and dist-manifest.json.
#[derive(Debug, clap::Args)]
pub struct Dist {
    /// Build only these target triples (repeatable); default: every configured target.
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,
    #[arg(long, value_enum, default_value_t = Builder::Auto)]
    pub builder: Builder,
    /// The release directory to write (`--out` is an older spelling).
    #[arg(
        long = "dist",
        alias = "out",
        value_name = "DIR",
        default_value = "dist"
    )]
    pub out: PathBuf,
    /// Print the plan (targets, builders, tags, paths) and build nothing.
    #[arg(long)]
    pub plan: bool,
    /// Machine-readable output on stdout: the plan with --plan, else the run's summary.
    #[arg(long)]
    pub json: bool,
    /// Skip the sdist (matrix jobs build wheels only).
    #[arg(long)]
    pub no_sdist: bool,
    /// Build nothing: gather the matrix jobs' wheels from PARTS (one folder per target, each
    /// with its SHA256SUMS and dist-manifest.json), add the sdist, and write the merged
    /// SHA256SUMS and dist-manifest.json into --dist.
    #[arg(long, value_name = "PARTS", conflicts_with_all = ["targets", "plan"])]
    pub assemble: Option<PathBuf>,
}

/// Print the release matrix (one entry per target) for the GitHub Actions workflow.
#[derive(Debug, clap::Args)]
pub struct Plan {
    /// `{"include": [...]}` on stdout, for the workflow's `fromJSON()`.
    #[arg(long)]
    pub json: bool,
}

/// Verify wheels, sdists and bare binaries against their tags and PyPI's upload rules.
#[derive(Debug, clap::Args)]
pub struct Check {
    /// Files or directories to check (default: dist/).
    pub paths: Vec<PathBuf>,
    /// Platform tag a bare binary must satisfy.
    #[arg(long, value_name = "TAG")]
    pub expect_tag: Option<String>,
    /// Print one JSON object: {clean, errors, warnings, artifacts: [{file, kind, size, binaries,
    /// findings: [{severity, kind, rule, file, member, message, expected}]}]}.
    #[arg(long)]
    pub json: bool,
    /// Print every finding kind (code, rule, severity, what it means) and exit.
    #[arg(long)]
    pub list_kinds: bool,
    /// Fail on warnings too (opinions such as a missing Requires-Python), not only on errors
    /// (what the index, pip or the target OS would refuse).
    #[arg(long)]
    pub strict: bool,
}

/// Run the whole test suite (what CI runs), after installing the system packages it needs.
#[derive(Debug, clap::Args)]
pub struct Test {
    /// Run only these suites (repeatable).
    #[arg(long = "only", value_name = "SUITE", value_enum)]
    pub only: Vec<Suite>,
    /// Skip these suites (repeatable).
    #[arg(long = "skip", value_name = "SUITE", value_enum)]
    pub skip: Vec<Suite>,
}

/// The test suites, in run order: cheap and fundamental first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum Suite {
    /// rustfmt, clippy, Python 3.7 syntax
    Lint,
    /// cargo test of the workspace
    Rust,
    /// pytest on the oldest and newest CPython
    Python,
    /// the official MCP conformance suite, every server scenario (Node 22, npm, cached)
    Conformance,
    /// resource subscriptions with the official Python SDK client
    Subscriptions,
    /// a real DCC host: Blender as a Python module (bpy) in call_mode="main"
    Blender,
    /// the real `cargo xtask dist`, installs, wine, reproducibility, interrupts
    Dist,
    /// our check against twine, check-wheel-contents and auditwheel over dist/
    Check,
    /// the GitHub workflow files, offline
    Workflows,
    /// assemble, github-release, publish and verify-release over dist/
    Release,
    /// PyInstaller and Nuitka freezes of the host wheel
    Freeze,
}

/// Measure the speed and size goals and print a report.
#[derive(Debug, clap::Args)]
pub struct Bench {
    /// Which benchmarks (repeatable); default: every quick one (all but dist-cold).
    #[arg(value_enum)]
    pub which: Vec<BenchName>,
    /// One JSON object per benchmark on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum BenchName {
    /// sidecar start, round trip and memory
    Sidecar,
    /// the sidecar against the official Python SDK's server, same client, same run
    McpPeer,
    /// `cargo xtask check` over dist/
    Check,
    /// a warm `cargo xtask dist` rerun and packing one wheel
    Dist,
    /// cold builds of every target, three ways: minutes of CPU, only when named
    DistCold,
}

/// Upload dist/ with twine after `check` and `twine check --strict` pass on every file.
#[derive(Debug, clap::Args)]
pub struct Publish {
    /// Upload endpoint (default: PyPI, https://upload.pypi.org/legacy/).
    #[arg(long, value_name = "URL")]
    pub repository_url: Option<String>,
    /// The index's simple API, asked which files it already holds (default: PyPI's for PyPI,
    /// else REPOSITORY_URL/simple/): identical files are skipped, different bytes refused.
    #[arg(long, value_name = "URL")]
    pub check_url: Option<String>,
    /// Run every check and say what would be uploaded; upload nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Upload each file's PEP 740 `<file>.publish.attestation` too (`twine upload
    /// --attestations`); refuse to start when any file lacks a valid one.
    #[arg(long)]
    pub attestations: bool,
    /// Go on when dist/ lacks a configured target's wheel or the sdist (saying what is missing).
    #[arg(long)]
    pub allow_partial: bool,
    /// The release directory.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    pub dist: PathBuf,
}

/// Create the GitHub Release (draft → upload → publish) with the `gh` CLI.
#[derive(Debug, clap::Args)]
pub struct GithubRelease {
    /// The release tag; must be `v` + the workspace version.
    #[arg(long, value_name = "vX.Y.Z")]
    pub tag: String,
    /// Print the assets, notes and `gh` commands (and write the SBOM assets); call nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Go on when dist/ lacks a configured target's wheel or the sdist (saying what is missing).
    #[arg(long)]
    pub allow_partial: bool,
    /// The release directory.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    pub dist: PathBuf,
}

/// Rebuild every file of a release the way its manifest records and compare with its SHA256SUMS.
#[derive(Debug, clap::Args)]
pub struct VerifyRelease {
    /// The release directory (only read; the rebuild goes to target/verify-release/).
    #[arg(long, value_name = "DIR", default_value = "dist")]
    pub dist: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FreezeTool {
    Pyinstaller,
    Nuitka,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FreezeMode {
    Onedir,
    Onefile,
}

/// Freeze scripts/freeze_app.py with PyInstaller or Nuitka and prove the sidecar still starts.
#[derive(Debug, clap::Args)]
pub struct FreezeCheck {
    #[arg(long, value_enum)]
    pub tool: FreezeTool,
    #[arg(long, value_enum, default_value_t = FreezeMode::Onedir)]
    pub mode: FreezeMode,
    /// The release directory holding this machine's wheel.
    #[arg(long, value_name = "DIR", default_value = "dist")]
    pub dist: PathBuf,
    /// Freeze without the package's hook/configuration (negative test: must fail).
    #[arg(long)]
    pub no_hook: bool,
    /// Keep target/freeze/venv-<tool> if it exists (dist/'s wheel is reinstalled either way).
    #[arg(long)]
    pub reuse_venv: bool,
}
