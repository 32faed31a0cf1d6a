//! Authenticode in the main job: `dist` of the Windows target with a throwaway certificate signs
//! the binary before packing (dist's own `check` verified the digest), `osslsigncode verify`
//! accepts the binary in the wheel, and the signature covers exactly the binary of the same run
//! without a certificate.

use anyhow::{ensure, Context, Result};

use super::{native_binary, run_dist, Ctx, WIN_TAG};
use crate::check::authenticode::{image_digest, strip_signature, DigestAlg};
use crate::sign::{self, throwaway::Throwaway};

pub fn signed_windows_wheel(ctx: &Ctx) -> Result<()> {
    let cert = Throwaway::make("dist")?;
    let out = ctx.fresh_dir("signed")?;
    let (out_arg, pkcs12) = (
        out.display().to_string(),
        cert.pkcs12().display().to_string(),
    );
    let env = [
        (sign::PKCS12_ENV, pkcs12.as_str()),
        (sign::PASSWORD_ENV, sign::throwaway::PASSWORD),
    ];
    let args = [
        "--target",
        "x86_64-pc-windows-msvc",
        "--no-sdist",
        "--dist",
        &out_arg,
    ];
    run_dist(ctx, &args, &env)?;
    let read = |dir: &std::path::Path| -> Result<Vec<u8>> {
        let wheel = dir.join(ctx.wheel_name(WIN_TAG));
        native_binary(
            &std::fs::read(&wheel).with_context(|| format!("reading {}", wheel.display()))?,
        )
    };
    // The same one-target invocation without a certificate (warm now): a target built alone may
    // differ from dist/'s all-target build, so only this run is the signed one's unsigned twin.
    let plain = ctx.fresh_dir("signed-unsigned")?;
    let plain_arg = plain.display().to_string();
    let plain_args = [&args[..4], &[plain_arg.as_str()]].concat();
    run_dist(ctx, &plain_args, &[])?;
    let signed = read(&out)?;
    let unsigned = read(&plain)?;
    ensure!(
        cert.verify(&signed)?,
        "osslsigncode verify refuses the signed wheel's binary"
    );
    ensure!(
        !cert.verify(&unsigned)?,
        "the unsigned build's binary verifies though no certificate was set"
    );
    let digest = |b: &[u8]| image_digest(b, DigestAlg::Sha256).map_err(anyhow::Error::msg);
    ensure!(
        digest(&signed)? == digest(&unsigned)?,
        "the signed binary's Authenticode image hash differs from the unsigned build's"
    );
    ensure!(
        strip_signature(&signed).map_err(anyhow::Error::msg)? == unsigned,
        "the signed binary minus its signature is not the unsigned build byte for byte"
    );
    println!(
        "    signed: +{} bytes ({} -> {}), osslsigncode verify ok, image hash = the unsigned build's",
        signed.len() - unsigned.len(),
        unsigned.len(),
        signed.len()
    );
    Ok(())
}
