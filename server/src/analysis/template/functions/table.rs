//! The function table: every clnrm function by name, and `toml_encode`'s encoder.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::args::{int, list, req, s, string, stringify};
use super::fake::{
    alnum, sentence, uuid, words, DOMAINS, EXTENSIONS, FAKE_KINDS, FIRST, LAST, WORDS,
};
use super::filters::{join_words, Case};
use super::rng::rng;
use super::scope::{rfc3339, with_scope, RANGE_BUDGET};
use super::{Args, R};

type FunctionFn = fn(&Args) -> R;

pub(super) const FUNCTIONS: &[(&str, FunctionFn)] = &[
    ("env", |a| {
        let name = string(a, "name")?;
        with_scope(|sc| match sc.env.get(&name) {
            Some(v) => s(v),
            None if sc.env_placeholders.contains(&name) => s(""),
            None => Err(tera::Error::msg(format!(
                "environment variable `{name}` is not set"
            ))),
        })
    }),
    ("get_env", |a| {
        let name = string(a, "name")?;
        with_scope(|sc| match (sc.env.get(&name), a.get("default")) {
            (Some(v), _) => s(v),
            (None, Some(d)) => Ok(d.clone()),
            (None, None) if sc.env_placeholders.contains(&name) => s(""),
            (None, None) => Err(tera::Error::msg(format!(
                "environment variable `{name}` is not set and no `default` is given"
            ))),
        })
    }),
    ("now", |a| {
        let now = with_scope(|sc| sc.now);
        if a.get("timestamp").and_then(Value::as_bool) == Some(true) {
            Ok(Value::from(now))
        } else {
            s(rfc3339(now))
        }
    }),
    ("get_random", |a| {
        let start = int(a, "start", 0)?;
        let end = int(a, "end", i64::MAX)?;
        if end <= start {
            return Err(tera::Error::msg("`end` must be greater than `start`"));
        }
        Ok(Value::from(rng(a)?.between(start, end - 1)))
    }),
    ("range", |a| {
        let start = int(a, "start", 0)?;
        let end = req(a, "end")?
            .as_i64()
            .ok_or_else(|| tera::Error::msg("`end` must be an integer"))?;
        let step = int(a, "step_by", 1)?;
        if step <= 0 {
            return Err(tera::Error::msg("`step_by` must be positive"));
        }
        if start > end {
            return Err(tera::Error::msg(
                "`start` must be less than or equal to `end`",
            ));
        }
        let count = (end - start).saturating_add(step - 1) / step;
        let left = with_scope(|sc| {
            sc.range_budget = sc.range_budget.saturating_sub(count);
            sc.range_budget
        });
        if count > 100_000 || left < 0 {
            return Err(tera::Error::msg(format!(
                "range() would create {count} elements, more than this editor check allows (100000 per call, {RANGE_BUDGET} per render)"
            )));
        }
        Ok(Value::Array(
            (0..count).map(|i| Value::from(start + i * step)).collect(),
        ))
    }),
    ("now_rfc3339", |_| s(rfc3339(with_scope(|sc| sc.now)))),
    ("now_unix", |_| Ok(Value::from(with_scope(|sc| sc.now)))),
    ("now_ms", |_| {
        Ok(Value::from(with_scope(|sc| sc.now).saturating_mul(1000)))
    }),
    ("now_plus", |a| {
        let secs = int(a, "seconds", 0)?;
        s(rfc3339(with_scope(|sc| sc.now).saturating_add(secs)))
    }),
    ("date_rfc3339", |a| {
        let off = int(a, "offset_seconds", 0)?;
        s(rfc3339(with_scope(|sc| sc.now).saturating_add(off)))
    }),
    ("sha256", |a| {
        s(hex::encode(Sha256::digest(string(a, "s")?)))
    }),
    ("toml_encode", |a| s(toml_encode(req(a, "value")?))),
    ("fake_uuid", |a| s(uuid(&mut rng(a)?))),
    ("uuid_v4", |a| s(uuid(&mut rng(a)?))),
    ("uuid_v7", |a| s(uuid(&mut rng(a)?))),
    ("fake_uuid_seeded", |a| {
        let seed = req(a, "seed")?
            .as_u64()
            .ok_or_else(|| tera::Error::msg("`seed` must be a non-negative integer"))?;
        let h = format!("{seed:032x}");
        s(format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        ))
    }),
    ("uuid_v5", |a| {
        let d = hex::encode(Sha256::digest(format!(
            "{}:{}",
            string(a, "ns")?,
            string(a, "name")?
        )));
        s(format!(
            "{}-{}-5{}-{}-{}",
            &d[0..8],
            &d[8..12],
            &d[13..16],
            &d[16..20],
            &d[20..32]
        ))
    }),
    ("ulid", |a| {
        let mut r = rng(a)?;
        const B32: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        let mut t = with_scope(|sc| sc.now).max(0) as u64 * 1000;
        let mut head = [b'0'; 10];
        for c in head.iter_mut().rev() {
            *c = B32[(t % 32) as usize];
            t /= 32;
        }
        let tail: String = (0..16)
            .map(|_| char::from(B32[r.below(32) as usize]))
            .collect();
        s(format!("{}{tail}", String::from_utf8_lossy(&head)))
    }),
    ("rand_hex", |a| {
        let n = int(a, "n", 16)?.clamp(0, 4096) as usize;
        s(rng(a)?.hex(n))
    }),
    ("trace_id", |a| s(rng(a)?.hex(32))),
    ("span_id", |a| s(rng(a)?.hex(16))),
    ("traceparent", |a| {
        let mut r = rng(a)?;
        let trace = a.get("trace_id").map_or_else(|| r.hex(32), stringify);
        let span = a.get("span_id").map_or_else(|| r.hex(16), stringify);
        let flags = int(a, "sampled", 1)?;
        s(format!("00-{trace}-{span}-{flags:02x}"))
    }),
    ("baggage", |a| {
        let map = req(a, "map")?
            .as_object()
            .ok_or_else(|| tera::Error::msg("`map` must be an object"))?;
        s(map
            .iter()
            .map(|(k, v)| format!("{k}={}", stringify(v)))
            .collect::<Vec<_>>()
            .join(","))
    }),
    ("seq", |a| {
        let name = string(a, "name")?;
        let start = int(a, "start", 0)?;
        let step = int(a, "step", 1)?;
        Ok(Value::from(with_scope(|sc| {
            let slot = sc.seq.entry(name).or_insert(start);
            let v = *slot;
            *slot = slot.saturating_add(step);
            v
        })))
    }),
    ("pick", |a| {
        let l = list(a, "list")?;
        if l.is_empty() {
            return Err(tera::Error::msg("`list` must not be empty"));
        }
        let i = rng(a)?.below(l.len() as u64) as usize;
        Ok(l.get(i).cloned().unwrap_or(Value::Null))
    }),
    ("weighted", |a| {
        let pairs = list(a, "pairs")?;
        let w: Vec<(Value, u64)> = pairs
            .iter()
            .filter_map(|p| {
                let p = p.as_array()?;
                Some((p.first()?.clone(), p.get(1)?.as_f64()?.max(0.0) as u64))
            })
            .collect();
        let total: u64 = w.iter().map(|(_, w)| w).sum();
        if total == 0 {
            return Err(tera::Error::msg(
                "`pairs` must be a non-empty list of [value, weight] with positive weights",
            ));
        }
        let mut x = rng(a)?.below(total);
        for (v, wt) in w {
            if x < wt {
                return Ok(v);
            }
            x -= wt;
        }
        Ok(Value::Null)
    }),
    ("shuffle", |a| {
        let mut l = list(a, "list")?.clone();
        let mut r = rng(a)?;
        for i in (1..l.len()).rev() {
            l.swap(i, r.below(i as u64 + 1) as usize);
        }
        Ok(Value::Array(l))
    }),
    ("sample", |a| {
        let mut l = list(a, "list")?.clone();
        let k = int(a, "k", 1)?;
        if k < 0 || k as usize > l.len() {
            return Err(tera::Error::msg(format!(
                "`k` ({k}) must be between 0 and the list length ({})",
                l.len()
            )));
        }
        let mut r = rng(a)?;
        for i in (1..l.len()).rev() {
            l.swap(i, r.below(i as u64 + 1) as usize);
        }
        l.truncate(k as usize);
        Ok(Value::Array(l))
    }),
    ("slug", |a| {
        s(join_words(&string(a, "s")?, "-", Case::Lower))
    }),
    ("kebab", |a| {
        s(join_words(&string(a, "s")?, "-", Case::Lower))
    }),
    ("snake", |a| {
        s(join_words(&string(a, "s")?, "_", Case::Lower))
    }),
    ("fake", |a| {
        let kind = string(a, "kind")?;
        s(FAKE_KINDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or("unknown_kind", |(_, v)| v))
    }),
    ("fake_kinds", |_| {
        Ok(Value::Array(
            FAKE_KINDS.iter().map(|(k, _)| Value::from(*k)).collect(),
        ))
    }),
    ("fake_int", |a| Ok(Value::from(rng(a)?.between(0, 999)))),
    ("fake_int_range", |a| {
        let (lo, hi) = (int(a, "min", 0)?, int(a, "max", 100)?);
        Ok(Value::from(rng(a)?.between(lo, hi)))
    }),
    ("fake_port", |a| {
        Ok(Value::from(rng(a)?.between(1024, 65535)))
    }),
    ("fake_float", |a| {
        Ok(Value::from(rng(a)?.between(0, 100_000) as f64 / 100.0))
    }),
    ("fake_latitude", |a| {
        Ok(Value::from(
            rng(a)?.between(-90_000, 90_000) as f64 / 1000.0,
        ))
    }),
    ("fake_longitude", |a| {
        Ok(Value::from(
            rng(a)?.between(-180_000, 180_000) as f64 / 1000.0,
        ))
    }),
    ("fake_bool", |a| {
        let ratio = int(a, "ratio", 50)?;
        Ok(Value::Bool(rng(a)?.between(0, 99) < ratio))
    }),
    ("fake_timestamp", |a| {
        let now = with_scope(|sc| sc.now);
        Ok(Value::from(now - rng(a)?.between(0, 365 * 86_400)))
    }),
    ("fake_datetime", |a| {
        let now = with_scope(|sc| sc.now);
        s(rfc3339(now - rng(a)?.between(0, 365 * 86_400)))
    }),
    ("fake_date", |a| {
        let now = with_scope(|sc| sc.now);
        s(rfc3339(now - rng(a)?.between(0, 365) * 86_400)[..10].to_string())
    }),
    ("fake_time", |a| {
        let t = rng(a)?.between(0, 86_399);
        s(format!("{:02}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60))
    }),
    ("fake_password", |a| {
        let (lo, hi) = (int(a, "min", 8)?, int(a, "max", 20)?);
        let mut r = rng(a)?;
        let n = r.between(lo.clamp(0, 1024), hi.clamp(0, 1024));
        s(alnum(&mut r, n as usize))
    }),
    ("fake_string", |a| {
        let n = int(a, "len", 10)?.clamp(0, 4096) as usize;
        s(alnum(&mut rng(a)?, n))
    }),
    ("fake_words", |a| {
        let n = int(a, "count", 3)?.clamp(0, 1024);
        s(words(&mut rng(a)?, n as usize))
    }),
    ("fake_sentence", |a| {
        let (lo, hi) = (int(a, "min", 4)?, int(a, "max", 10)?);
        let mut r = rng(a)?;
        let n = r.between(lo.clamp(0, 1024), hi.clamp(0, 1024)) as usize;
        s(sentence(&mut r, n))
    }),
    ("fake_paragraph", |a| {
        let (lo, hi) = (int(a, "min", 3)?, int(a, "max", 7)?);
        let mut r = rng(a)?;
        let n = r.between(lo.clamp(0, 256), hi.clamp(0, 256));
        s((0..n)
            .map(|_| {
                let k = r.between(4, 10) as usize;
                sentence(&mut r, k)
            })
            .collect::<Vec<_>>()
            .join(" "))
    }),
    ("fake_email", |a| {
        let mut r = rng(a)?;
        s(format!(
            "{}.{}@{}",
            r.pick(FIRST).to_lowercase(),
            r.pick(LAST).to_lowercase(),
            r.pick(DOMAINS)
        ))
    }),
    ("fake_username", |a| {
        let mut r = rng(a)?;
        s(format!("{}{}", r.pick(FIRST).to_lowercase(), r.below(1000)))
    }),
    ("fake_name", |a| {
        let mut r = rng(a)?;
        s(format!("{} {}", r.pick(FIRST), r.pick(LAST)))
    }),
    ("fake_url", |a| {
        let mut r = rng(a)?;
        s(format!("https://{}/{}", r.pick(DOMAINS), r.pick(WORDS)))
    }),
    ("fake_ipv4", |a| {
        let mut r = rng(a)?;
        s(format!(
            "{}.{}.{}.{}",
            r.between(1, 254),
            r.below(256),
            r.below(256),
            r.between(1, 254)
        ))
    }),
    ("fake_ipv6", |a| {
        let mut r = rng(a)?;
        s((0..8).map(|_| r.hex(4)).collect::<Vec<_>>().join(":"))
    }),
    ("fake_mac_address", |a| {
        let mut r = rng(a)?;
        s((0..6).map(|_| r.hex(2)).collect::<Vec<_>>().join(":"))
    }),
    ("fake_zip", |a| s(format!("{:05}", rng(a)?.below(100_000)))),
    ("fake_phone", |a| {
        let mut r = rng(a)?;
        s(format!(
            "+1-{:03}-{:03}-{:04}",
            r.between(200, 999),
            r.below(1000),
            r.below(10_000)
        ))
    }),
    ("fake_cell_phone", |a| {
        let mut r = rng(a)?;
        s(format!(
            "({:03}) {:03}-{:04}",
            r.between(200, 999),
            r.below(1000),
            r.below(10_000)
        ))
    }),
    ("fake_credit_card", |a| {
        let mut r = rng(a)?;
        s(format!("4{:015}", r.below(1_000_000_000_000_000)))
    }),
    ("fake_hex_color", |a| s(format!("#{}", rng(a)?.hex(6)))),
    ("fake_rgb_color", |a| {
        let mut r = rng(a)?;
        s(format!(
            "rgb({}, {}, {})",
            r.below(256),
            r.below(256),
            r.below(256)
        ))
    }),
    ("fake_semver", |a| {
        let mut r = rng(a)?;
        s(format!("{}.{}.{}", r.below(10), r.below(20), r.below(50)))
    }),
    ("fake_filename", |a| {
        let mut r = rng(a)?;
        s(format!("{}.{}", r.pick(WORDS), r.pick(EXTENSIONS)))
    }),
    ("fake_file_path", |a| {
        let mut r = rng(a)?;
        s(format!(
            "/{}/{}/{}.{}",
            r.pick(WORDS),
            r.pick(WORDS),
            r.pick(WORDS),
            r.pick(EXTENSIONS)
        ))
    }),
];

/// clnrm's `toml_encode`: a value as a TOML literal.
fn toml_encode(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let mut out = String::with_capacity(s.len() + 2);
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(toml_encode).collect::<Vec<_>>().join(",")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("\"{k}\"={}", toml_encode(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::render;

    #[test]
    fn functions_are_deterministic_and_typed() {
        let src = "{{ fake_name() }}|{{ fake_name() }}|{{ uuid_v4() }}|{{ now() }}|\
                   {{ now_rfc3339() }}|{{ get_random(start=0, end=10) }}|{{ trace_id(seed=7) }}|\
                   {{ fake_int() + 1 }}|{{ fake_bool() == true or true }}|{{ ulid() }}";
        let a = render(src).unwrap();
        assert_eq!(a, render(src).unwrap());
        let parts: Vec<&str> = a.split('|').collect();
        assert_ne!(parts[0], parts[1], "unseeded calls differ within a render");
        assert_eq!(parts[3], "2025-01-01T00:00:00Z");
        assert_eq!(parts[4], "2025-01-01T00:00:00Z");
        assert_eq!(parts[6].len(), 32);
        assert_eq!(
            render("{{ fake_name(seed=3) }}").unwrap(),
            render("{{ fake_name(seed=3) }}").unwrap()
        );
        assert_eq!(
            render("{% set i = fake_int() %}{% set b = fake_bool() %}{{ i is number }}{{ b is string }}{{ b == true or b == false }}")
                .unwrap(),
            "truefalsetrue"
        );
    }

    #[test]
    fn env_reads_only_the_snapshot() {
        assert_eq!(render(r#"{{ env(name="HOME") }}"#).unwrap(), "/home/u");
        assert!(render(r#"{{ env(name="PATH") }}"#).is_err());
        assert_eq!(
            render(r#"{{ get_env(name="NOPE", default="d") }}"#).unwrap(),
            "d"
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(
            render(r#"{{ sha256(s="a") | truncate(length=8, end="") }}"#).unwrap(),
            "ca978112"
        );
        assert_eq!(
            render(r#"{{ toml_encode(value=["a", 1, true]) }}"#).unwrap(),
            r#"["a",1,true]"#
        );
        assert_eq!(
            render(r#"{{ seq(name="a") }}{{ seq(name="a") }}"#).unwrap(),
            "01"
        );
        assert!(render("{{ range(end=100000000) | length }}").is_err());
        assert_eq!(
            render("{{ range(end=5, step_by=2) | join(sep=\",\") }}").unwrap(),
            "0,2,4"
        );
        assert!(render(
            "{% for i in range(end=2000) %}{% for j in range(end=2000) %}{% endfor %}{% endfor %}"
        )
        .is_err());
        assert_eq!(
            render(r#"{{ fake(kind="email") }}"#).unwrap(),
            "john.doe@example.com"
        );
        assert_eq!(render("{{ fake_kinds() | length }}").unwrap(), "27");
    }
}
