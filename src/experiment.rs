//! Experiments in the ranker: deterministic arm assignment, holdbacks, a kill switch and
//! exposure records. The library still makes no request of its own: the host passes the
//! experiment (from its remote config) to [`crate::HomeRanker::set_experiment`] and logs the
//! [`Exposure`] of a result when the page was actually shown.
//!
//! ```
//! # fn main() -> homerank::Result<()> {
//! use homerank::{Action, Experiment, HomePage, HomeRanker, RerankOptions, SessionEvent};
//! let mut ranker = HomeRanker::from_path("models/homerank-s.gguf")?;
//! let page = HomePage::from_json(&std::fs::read_to_string("www/example-page.json").unwrap())?;
//! ranker.set_experiment(Some(Experiment::from_json(r#"{
//!     "id": "home-rerank-1", "salt": "2026-12", "unitId": "listener-42",
//!     "arms": [{ "name": "control", "weight": 1, "holdback": true },
//!              { "name": "treatment", "weight": 1, "options": { "maxArtistRun": 2 } }]
//! }"#)?))?;
//! ranker.observe(&SessionEvent::new(&page.shelves[0].items[0].id, Action::Skip).with_ms_played(2_500.0))?;
//! let result = ranker.rerank(&page, &RerankOptions::default())?;
//! assert_eq!(result.experiment.as_ref().unwrap().arm, "treatment"); // bucket 8166
//! // When the page was shown (the core reads no clock: the host passes the time).
//! let exposure = result.exposure(1_764_000_000_000.0)?.expect("a live experiment");
//! assert_eq!(exposure.unit_hash, homerank::unit_hash("2026-12", "listener-42"));
//! # Ok(()) }
//! ```
//!
//! # Assignment
//!
//! ```text
//! hash   = MurmurHash3_x86_32(UTF-8 bytes of salt + "|" + unitId, seed 0)
//! bucket = hash % 10000                                   (0 ..= 9999)
//! arm i  gets buckets [end(i-1), end(i)), end(i) = round(10000 · (w0 + … + wi) / (w0 + … + wn)),
//!        end(-1) = 0 and the last arm ends at 10000
//! ```
//!
//! This is the scheme of Spotify's Confidence resolver and GrowthBook's SDKs (a hash of
//! `salt|unit` into 10,000 buckets, arms as contiguous bucket ranges by weight); the hash and
//! its seed are this library's own choice, so the arms match another system's only where that
//! system uses MurmurHash3_x86_32 with seed 0 in the same way. `salt` defaults to the experiment
//! `id`. Assignment is a pure function of the salt, the unit id and the weights: the same unit
//! gets the same arm on every device and after every reload. Changing the salt reshuffles every
//! unit; changing weights moves only the units whose bucket changes range.
//!
//! # What an arm does
//!
//! * `options`: they override the call's [`RerankOptions`] field by field, the arm winning (the
//!   arm is what is being tested); fields the arm does not set keep the call's value. `strict`
//!   is the caller's error handling, not a policy, and cannot be set by an arm.
//! * `holdback: true`: the page comes back exactly in the server's order (`backend` `"none"`,
//!   no scores, `fallback` null), whatever the session holds.
//! * `model`: the model the arm expects, either the full `modelId`
//!   (`name@sha256:<12 hex digits>`) or the name before `@`. A ranker holds one model, so an
//!   arm whose model is not the loaded one serves the server's order, with `fallback` saying so.
//! * `killed: true` on the experiment (the kill switch): every unit gets the server's order, the
//!   result's `experiment.killed` is true and [`Exposure::from_result`] gives nothing to log
//!   (no unit saw its arm's treatment).
//!
//! # The unit id stays on the device
//!
//! Results and exposures never carry `unitId`; they carry `unitHash`, the first 16 bytes of the
//! SHA-256 of `salt + "|" + unitId` in hex ([`unit_hash`]). It is pseudonymous, not anonymous:
//! whoever knows the salt and can guess unit ids can recompute it, which is what lets the host
//! join exposures to its own records. (The 32-bit bucket hash is not used for this: among
//! 100,000 units it collides about once.)

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::options::RerankOptions;
use crate::result::RerankResult;

/// Buckets units are hashed into.
pub const BUCKETS: u32 = 10_000;
/// Most arms an experiment may have.
pub const MAX_ARMS: usize = 100;
/// Longest `id`, `salt`, `unitId`, arm `name` or `model`, in bytes.
pub const MAX_EXPERIMENT_STRING: usize = 512;

/// An experiment the ranker runs (JSON: camelCase, unknown fields refused).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Experiment {
    /// The experiment's id, echoed in results and exposures. Non-empty.
    pub id: String,
    /// What the unit id is hashed with; `None`: the experiment `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// The unit assigned (a listener or device id). Non-empty; never leaves the ranker.
    pub unit_id: String,
    /// The arms, at least one, names unique.
    pub arms: Vec<Arm>,
    /// The kill switch: every unit gets the server's order.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub killed: bool,
}

/// One arm of an [`Experiment`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Arm {
    /// The arm's name, unique in the experiment. Non-empty.
    pub name: String,
    /// Relative share of units: finite and > 0 (weights need not sum to anything).
    pub weight: f64,
    /// Options that override the call's, field by field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<ArmOptions>,
    /// The model the arm expects (a `modelId` or the name before `@`); another loaded model
    /// serves the server's order with `fallback` set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The page comes back exactly in the server's order.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub holdback: bool,
}

/// The [`RerankOptions`] an arm sets; an absent field keeps the call's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArmOptions {
    /// [`RerankOptions::dedup`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup: Option<bool>,
    /// [`RerankOptions::reorder_shelves`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reorder_shelves: Option<bool>,
    /// [`RerankOptions::shelf_aggregate_top_k`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shelf_aggregate_top_k: Option<usize>,
    /// [`RerankOptions::max_artist_run`]: absent keeps the call's, `null` turns the rule off.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub max_artist_run: Option<Option<usize>>,
    /// [`RerankOptions::negative_feedback`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negative_feedback: Option<f32>,
}

/// A field that is present (its value possibly `null`).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> std::result::Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl ArmOptions {
    /// `base` with the fields this arm sets replaced.
    pub fn apply(&self, base: &RerankOptions) -> RerankOptions {
        RerankOptions {
            dedup: self.dedup.unwrap_or(base.dedup),
            reorder_shelves: self.reorder_shelves.unwrap_or(base.reorder_shelves),
            shelf_aggregate_top_k: self.shelf_aggregate_top_k.unwrap_or(base.shelf_aggregate_top_k),
            max_artist_run: self.max_artist_run.unwrap_or(base.max_artist_run),
            strict: base.strict,
            negative_feedback: self.negative_feedback.unwrap_or(base.negative_feedback),
        }
    }
}

/// Which arm a unit is in: what every result under an experiment carries (`experiment`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Assignment {
    /// The experiment's `id`.
    pub id: String,
    /// The unit's arm.
    pub arm: String,
    /// The unit's bucket, `0..10000`.
    pub bucket: u32,
    /// The pseudonymous unit ([`unit_hash`]); the unit id itself is never in a result.
    pub unit_hash: String,
    /// The kill switch was on: the page is the server's order whatever the arm.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub killed: bool,
}

/// What the host logs when a page reranked under an experiment was actually shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Exposure {
    /// The experiment's `id`.
    pub experiment: String,
    /// The unit's arm.
    pub arm: String,
    /// The pseudonymous unit ([`unit_hash`]).
    pub unit_hash: String,
    /// The ranker's model (`modelId` of the result).
    pub model_id: String,
    /// What scored the page (`backend` of the result; `none` for the server's order).
    pub backend: String,
    /// The page's `pageId`.
    pub page_id: String,
    /// When the page was shown, as the caller gives it (milliseconds; the JS package passes
    /// `Date.now()` by default). The core reads no clock.
    pub time_ms: f64,
}

impl Exposure {
    /// The record to log for `result`, shown at `time_ms`; `None` when the result ran under no
    /// experiment or under a killed one. Errors ([`Error::InvalidArgument`]) when `time_ms` is
    /// not a finite number.
    pub fn from_result(result: &RerankResult, time_ms: f64) -> Result<Option<Exposure>> {
        if !time_ms.is_finite() {
            return Err(Error::InvalidArgument(format!("exposure: timeMs must be a finite number, got {time_ms}")));
        }
        Ok(result.experiment.as_ref().filter(|a| !a.killed).map(|a| Exposure {
            experiment: a.id.clone(),
            arm: a.arm.clone(),
            unit_hash: a.unit_hash.clone(),
            model_id: result.model_id.clone(),
            backend: result.backend.clone(),
            page_id: result.page_id.clone(),
            time_ms,
        }))
    }
}

impl Experiment {
    /// Parses an experiment from JSON (camelCase; unknown fields are an error) and validates it.
    pub fn from_json(json: &str) -> Result<Self> {
        let exp: Experiment = serde_json::from_str(json).map_err(|e| Error::InvalidExperiment(e.to_string()))?;
        exp.validate()?;
        Ok(exp)
    }

    /// The salt the unit id is hashed with: `salt`, or the `id` without one.
    pub fn salt(&self) -> &str {
        self.salt.as_deref().unwrap_or(&self.id)
    }

    /// Refuses an empty or over-long `id`, `salt`, `unitId`, arm name or model; no arms or more
    /// than [`MAX_ARMS`]; a weight that is not finite or ≤ 0, or too small to get one of the
    /// 10,000 buckets; duplicate arm names; arm options a rerank would refuse
    /// ([`Error::InvalidExperiment`]).
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidExperiment(m));
        check_string(&self.id, "id", false)?;
        if let Some(salt) = &self.salt {
            check_string(salt, "salt", true)?;
        }
        check_string(&self.unit_id, "unitId", false)?;
        if self.arms.is_empty() {
            return bad("arms is empty; an experiment needs at least one arm".into());
        }
        if self.arms.len() > MAX_ARMS {
            return bad(format!("{} arms, at most {MAX_ARMS} are allowed", self.arms.len()));
        }
        for (i, arm) in self.arms.iter().enumerate() {
            check_string(&arm.name, &format!("arms[{i}].name"), false)?;
            if let Some(j) = self.arms[..i].iter().position(|a| a.name == arm.name) {
                return bad(format!("arms[{i}].name '{}' is also the name of arms[{j}]", arm.name));
            }
            if !(arm.weight.is_finite() && arm.weight > 0.0) {
                return bad(format!("arms[{i}].weight must be a finite number > 0, got {}", arm.weight));
            }
            if let Some(model) = &arm.model {
                check_string(model, &format!("arms[{i}].model"), false)?;
            }
            if let Some(options) = &arm.options {
                options
                    .apply(&RerankOptions::default())
                    .validate()
                    .map_err(|e| Error::InvalidExperiment(format!("arms[{i}].options: {}", strip_prefix(&e))))?;
            }
        }
        let total: f64 = self.arms.iter().map(|a| a.weight).sum();
        if !total.is_finite() {
            return bad("the weights sum to infinity; use smaller relative weights".into());
        }
        let ends = self.bucket_ends();
        for (i, arm) in self.arms.iter().enumerate() {
            let begin = if i == 0 { 0 } else { ends[i - 1] };
            if ends[i] == begin {
                return bad(format!(
                    "arms[{i}] ('{}') gets none of the {BUCKETS} buckets: its weight {} is under 1/{BUCKETS} of the total {total}",
                    arm.name, arm.weight
                ));
            }
        }
        Ok(())
    }

    /// Where each arm's bucket range ends (exclusive); the last is [`BUCKETS`].
    pub fn bucket_ends(&self) -> Vec<u32> {
        let total: f64 = self.arms.iter().map(|a| a.weight).sum();
        let mut cum = 0.0;
        let n = self.arms.len();
        self.arms
            .iter()
            .enumerate()
            .map(|(i, a)| {
                cum += a.weight;
                if i + 1 == n {
                    BUCKETS
                } else {
                    ((cum / total * BUCKETS as f64).round() as u32).min(BUCKETS)
                }
            })
            .collect()
    }

    /// The unit's bucket: MurmurHash3_x86_32 of `salt|unitId` modulo 10,000.
    pub fn bucket(&self) -> u32 {
        bucket(self.salt(), &self.unit_id)
    }

    /// The index of the unit's arm in `arms` (validate first: without arms this panics).
    pub fn arm_index(&self) -> usize {
        let b = self.bucket();
        self.bucket_ends().iter().position(|&end| b < end).expect("the last arm ends at BUCKETS")
    }

    /// The unit's arm (the experiment validated).
    pub fn arm(&self) -> &Arm {
        &self.arms[self.arm_index()]
    }

    /// The unit's assignment (the experiment validated).
    pub fn assignment(&self) -> Assignment {
        Assignment {
            id: self.id.clone(),
            arm: self.arm().name.clone(),
            bucket: self.bucket(),
            unit_hash: unit_hash(self.salt(), &self.unit_id),
            killed: self.killed,
        }
    }
}

impl Arm {
    /// Whether this arm can run on `model_id` (`name@sha256:…`): it names no model, or that
    /// model id, or its name.
    pub fn accepts_model(&self, model_id: &str) -> bool {
        match &self.model {
            None => true,
            Some(m) => m == model_id || model_id.split_once('@').is_some_and(|(name, _)| name == m),
        }
    }
}

fn check_string(s: &str, what: &str, may_be_empty: bool) -> Result<()> {
    if s.is_empty() && !may_be_empty {
        return Err(Error::InvalidExperiment(format!("{what} is empty")));
    }
    if s.len() > MAX_EXPERIMENT_STRING {
        return Err(Error::InvalidExperiment(format!(
            "{what} is {} bytes long, at most {MAX_EXPERIMENT_STRING} are allowed",
            s.len()
        )));
    }
    Ok(())
}

/// An options error's message without its "invalid options: " prefix.
fn strip_prefix(e: &Error) -> String {
    let text = e.to_string();
    text.strip_prefix("invalid options: ").map(str::to_owned).unwrap_or(text)
}

/// The bucket of `unit_id` under `salt`: MurmurHash3_x86_32 (seed 0) of the UTF-8 bytes of
/// `salt + "|" + unit_id`, modulo [`BUCKETS`].
pub fn bucket(salt: &str, unit_id: &str) -> u32 {
    murmur3_x86_32(salted(salt, unit_id).as_bytes(), 0) % BUCKETS
}

/// The pseudonymous unit of results and exposures: the first 16 bytes of the SHA-256 of the UTF-8
/// bytes of `salt + "|" + unit_id`, as 32 lowercase hex digits.
pub fn unit_hash(salt: &str, unit_id: &str) -> String {
    let digest = Sha256::digest(salted(salt, unit_id).as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

fn salted(salt: &str, unit_id: &str) -> String {
    let mut s = String::with_capacity(salt.len() + 1 + unit_id.len());
    s.push_str(salt);
    s.push('|');
    s.push_str(unit_id);
    s
}

/// MurmurHash3_x86_32 (Austin Appleby's reference `MurmurHash3_x86_32`, little-endian blocks).
pub fn murmur3_x86_32(data: &[u8], seed: u32) -> u32 {
    const C1: u32 = 0xcc9e_2d51;
    const C2: u32 = 0x1b87_3593;
    let mut h = seed;
    let mut blocks = data.chunks_exact(4);
    for block in blocks.by_ref() {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
        h = h.rotate_left(13).wrapping_mul(5).wrapping_add(0xe654_6b64);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        let mut k = 0u32;
        for (i, &b) in tail.iter().enumerate() {
            k |= (b as u32) << (8 * i);
        }
        k = k.wrapping_mul(C1).rotate_left(15).wrapping_mul(C2);
        h ^= k;
    }
    h ^= data.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn murmur3_matches_published_vectors() {
        // MurmurHash3_x86_32 test vectors (the reference implementation's outputs, as published
        // with the SMHasher sources and reproduced by e.g. Python's mmh3, unsigned).
        let cases: &[(&[u8], u32, u32)] = &[
            (b"", 0, 0),
            (b"", 1, 0x514E_28B7),
            (b"", 0xffff_ffff, 0x81F1_6F39),
            (b"\0\0\0\0", 0, 0x2362_F9DE),
            (b"\xff\xff\xff\xff", 0, 0x7629_3B50),
            (b"\x21\x43\x65\x87", 0, 0xF55B_516B),
            (b"\x21\x43\x65\x87", 0x5082_EDEE, 0x2362_F9DE),
            (b"\x21\x43\x65", 0, 0x7E4A_8634),
            (b"\x21\x43", 0, 0xA0F7_B07A),
            (b"\x21", 0, 0x7266_1CF4),
            (b"a", 0x9747_b28c, 0x7FA0_9EA6),
            (b"aa", 0x9747_b28c, 0x5D21_1726),
            (b"aaa", 0x9747_b28c, 0x283E_0130),
            (b"aaaa", 0x9747_b28c, 0x5A97_808A),
            (b"abc", 0x9747_b28c, 0xC84A_62DD),
            (b"abcd", 0x9747_b28c, 0xF047_8627),
            (b"Hello, world!", 0x9747_b28c, 0x2488_4CBA),
            (b"The quick brown fox jumps over the lazy dog", 0x9747_b28c, 0x2FA8_26CD),
            (b"The quick brown fox jumps over the lazy dog", 0, 0x2E4F_F723),
            (b"foo", 0, 0xF6A5_C420),
        ];
        for &(data, seed, want) in cases {
            assert_eq!(murmur3_x86_32(data, seed), want, "{:?} seed {seed:#x}", String::from_utf8_lossy(data));
        }
    }

    fn exp(weights: &[f64]) -> Experiment {
        Experiment {
            id: "e".into(),
            salt: None,
            unit_id: "u".into(),
            arms: weights
                .iter()
                .enumerate()
                .map(|(i, &w)| Arm { name: format!("a{i}"), weight: w, options: None, model: None, holdback: false })
                .collect(),
            killed: false,
        }
    }

    #[test]
    fn bucket_ranges_follow_the_weights() {
        assert_eq!(exp(&[1.0]).bucket_ends(), vec![10_000]);
        assert_eq!(exp(&[1.0, 1.0]).bucket_ends(), vec![5_000, 10_000]);
        assert_eq!(exp(&[50.0, 30.0, 20.0]).bucket_ends(), vec![5_000, 8_000, 10_000]);
        assert_eq!(exp(&[1.0, 1.0, 1.0]).bucket_ends(), vec![3_333, 6_667, 10_000]);
        // The documented formula, by hand: bucket = murmur3("salt|unit") % 10000.
        assert_eq!(bucket("s", "u"), murmur3_x86_32(b"s|u", 0) % 10_000);
        let e = Experiment { salt: Some("s".into()), ..exp(&[1.0, 1.0]) };
        assert_eq!(e.arm_index(), usize::from(bucket("s", "u") >= 5_000));
        // No salt: the id is the salt.
        assert_eq!(exp(&[1.0]).bucket(), bucket("e", "u"));
    }

    #[test]
    fn unit_hash_is_sha256_of_salt_bar_unit() {
        let h = unit_hash("s", "listener-1");
        assert_eq!(h.len(), 32);
        let full: String = Sha256::digest(b"s|listener-1").iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(h, full[..32]);
        assert_ne!(unit_hash("t", "listener-1"), h);
    }

    #[test]
    fn bad_experiments_are_typed_errors() {
        let long = "x".repeat(MAX_EXPERIMENT_STRING + 1);
        let cases: Vec<(Experiment, &str)> = vec![
            (exp(&[]), "arms is empty"),
            (exp(&[0.0, 1.0]), "arms[0].weight must be a finite number > 0, got 0"),
            (exp(&[1.0, -1.0]), "arms[1].weight"),
            (exp(&[f64::NAN]), "got NaN"),
            (exp(&[f64::INFINITY]), "got inf"),
            (exp(&[f64::MAX, f64::MAX]), "sum to infinity"),
            (exp(&[1.0, 1e-6]), "gets none of the 10000 buckets"),
            (exp(&vec![1.0; MAX_ARMS + 1]), "101 arms"),
            (Experiment { id: String::new(), ..exp(&[1.0]) }, "id is empty"),
            (Experiment { unit_id: String::new(), ..exp(&[1.0]) }, "unitId is empty"),
            (Experiment { unit_id: long.clone(), ..exp(&[1.0]) }, "unitId is 513 bytes long"),
            (Experiment { id: long.clone(), ..exp(&[1.0]) }, "id is 513 bytes long"),
            (Experiment { salt: Some(long.clone()), ..exp(&[1.0]) }, "salt is 513 bytes long"),
        ];
        for (e, text) in cases {
            let err = e.validate().unwrap_err();
            assert_eq!(err.code(), "INVALID_EXPERIMENT");
            assert!(err.to_string().contains(text), "{err} does not say {text}");
        }
        let mut dup = exp(&[1.0, 1.0]);
        dup.arms[1].name = "a0".into();
        assert!(dup.validate().unwrap_err().to_string().contains("arms[1].name 'a0' is also the name of arms[0]"));
        let mut empty_name = exp(&[1.0]);
        empty_name.arms[0].name = String::new();
        assert!(empty_name.validate().unwrap_err().to_string().contains("arms[0].name is empty"));
        let mut bad_opts = exp(&[1.0]);
        bad_opts.arms[0].options = Some(ArmOptions { shelf_aggregate_top_k: Some(0), ..Default::default() });
        assert!(bad_opts.validate().unwrap_err().to_string().contains("arms[0].options: shelfAggregateTopK"));
        // An empty salt is allowed (it is still a salt).
        assert!(Experiment { salt: Some(String::new()), ..exp(&[1.0]) }.validate().is_ok());
    }

    #[test]
    fn json_is_strict_and_arm_options_merge() {
        let e = Experiment::from_json(
            r#"{"id":"e","unitId":"u","arms":[{"name":"a","weight":1,"options":{"maxArtistRun":null,"dedup":false}}]}"#,
        )
        .unwrap();
        let o = e.arms[0].options.as_ref().unwrap();
        assert_eq!(o.max_artist_run, Some(None));
        let base = RerankOptions { max_artist_run: Some(2), strict: true, ..Default::default() };
        let merged = o.apply(&base);
        assert_eq!(merged, RerankOptions { max_artist_run: None, dedup: false, strict: true, ..Default::default() });
        // Absent keeps the call's value.
        assert_eq!(ArmOptions::default().apply(&base), base);
        for bad in [
            r#"{"id":"e","unitId":"u","arms":[{"name":"a","weight":1}],"typo":1}"#,
            r#"{"id":"e","unitId":"u","arms":[{"name":"a","weight":1,"options":{"strict":true}}]}"#,
            r#"{"id":"e","unitId":"u","arms":[{"name":"a","weight":"1"}]}"#,
            r#"{"id":"e","arms":[{"name":"a","weight":1}]}"#,
            r#"{"id":"e","unitId":"u","arms":[{"name":"a","weight":0}]}"#,
        ] {
            assert_eq!(Experiment::from_json(bad).unwrap_err().code(), "INVALID_EXPERIMENT", "{bad}");
        }
    }

    #[test]
    fn arm_model_matches_id_or_name() {
        let mut arm = exp(&[1.0]).arms.remove(0);
        assert!(arm.accepts_model("m@sha256:0123456789ab"));
        arm.model = Some("m".into());
        assert!(arm.accepts_model("m@sha256:0123456789ab"));
        assert!(!arm.accepts_model("n@sha256:0123456789ab"));
        arm.model = Some("m@sha256:0123456789ab".into());
        assert!(arm.accepts_model("m@sha256:0123456789ab"));
        assert!(!arm.accepts_model("m@sha256:ffffffffffff"));
    }
}
