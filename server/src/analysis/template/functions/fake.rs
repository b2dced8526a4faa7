//! Fake data: the word lists and fixed placeholders the `fake_*` functions draw from.

use super::rng::Rng;

/// Fake-data functions that pick one entry of a list.
pub(super) const FAKE_LISTS: &[(&str, &[&str])] = &[
    ("fake_first_name", FIRST),
    ("fake_last_name", LAST),
    ("fake_title", &["Mr.", "Mrs.", "Ms.", "Dr.", "Prof."]),
    ("fake_suffix", &["Jr.", "Sr.", "II", "III", "PhD"]),
    ("fake_domain", DOMAINS),
    (
        "fake_user_agent",
        &[
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0",
            "Mozilla/5.0 (Macintosh) Safari/605.1.15",
            "curl/8.5.0",
        ],
    ),
    (
        "fake_street",
        &[
            "Main Street",
            "Oak Avenue",
            "Pine Road",
            "Maple Lane",
            "Cedar Court",
        ],
    ),
    (
        "fake_city",
        &[
            "Springfield",
            "Riverton",
            "Fairview",
            "Franklin",
            "Greenville",
        ],
    ),
    (
        "fake_state",
        &["California", "Texas", "Oregon", "New York", "Colorado"],
    ),
    (
        "fake_country",
        &["United States", "Germany", "Japan", "Brazil", "Canada"],
    ),
    (
        "fake_company",
        &["Acme Corp", "Globex", "Initech", "Umbrella", "Hooli"],
    ),
    (
        "fake_company_suffix",
        &["Inc", "LLC", "Group", "Ltd", "GmbH"],
    ),
    (
        "fake_industry",
        &["Software", "Finance", "Healthcare", "Retail", "Energy"],
    ),
    (
        "fake_profession",
        &["Engineer", "Designer", "Analyst", "Manager", "Scientist"],
    ),
    ("fake_word", WORDS),
    ("fake_currency_code", &["USD", "EUR", "JPY", "GBP", "CHF"]),
    (
        "fake_currency_name",
        &["US Dollar", "Euro", "Yen", "Pound Sterling", "Swiss Franc"],
    ),
    ("fake_currency_symbol", &["$", "€", "¥", "£", "₣"]),
    ("fake_extension", EXTENSIONS),
    (
        "fake_mime_type",
        &["application/json", "text/plain", "image/png", "text/html"],
    ),
    ("fake_color", &["red", "green", "blue", "orange", "purple"]),
];

/// `fake(kind)` returns a fixed placeholder per kind, like clnrm.
pub(super) const FAKE_KINDS: &[(&str, &str)] = &[
    ("name", "John Doe"),
    ("first_name", "John"),
    ("last_name", "Doe"),
    ("email", "john.doe@example.com"),
    ("username", "johndoe"),
    ("password", "P@ssw0rd123"),
    ("phone", "+1-555-0100"),
    ("company", "Acme Corp"),
    ("job_title", "Engineer"),
    ("street", "123 Main St"),
    ("city", "Springfield"),
    ("state", "CA"),
    ("zip", "12345"),
    ("country", "United States"),
    ("ipv4", "192.168.1.1"),
    ("ipv6", "2001:db8::1"),
    ("domain", "example.com"),
    ("url", "https://example.com"),
    ("user_agent", "Mozilla/5.0"),
    ("uuid.v4", "00000000-0000-4000-8000-000000000000"),
    ("word", "lorem"),
    ("sentence", "Lorem ipsum dolor sit amet."),
    (
        "paragraph",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
    ),
    ("number", "42"),
    ("boolean", "true"),
    ("date", "2025-01-01"),
    ("datetime", "2025-01-01T00:00:00Z"),
];

pub(super) const FIRST: &[&str] = &["Alice", "Bob", "Carol", "David", "Erin", "Frank", "Grace"];
pub(super) const LAST: &[&str] = &["Smith", "Jones", "Garcia", "Miller", "Davis", "Lopez"];
pub(super) const DOMAINS: &[&str] = &["example.com", "example.org", "example.net", "test.io"];
pub(super) const WORDS: &[&str] = &[
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
];
pub(super) const EXTENSIONS: &[&str] = &["txt", "json", "toml", "log", "csv"];

pub(super) fn alnum(r: &mut Rng, n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    (0..n)
        .map(|_| char::from(CHARS[r.below(CHARS.len() as u64) as usize]))
        .collect()
}

pub(super) fn words(r: &mut Rng, n: usize) -> String {
    (0..n).map(|_| r.pick(WORDS)).collect::<Vec<_>>().join(" ")
}

pub(super) fn sentence(r: &mut Rng, n: usize) -> String {
    let w = words(r, n.max(1));
    let mut c = w.chars();
    match c.next() {
        Some(f) => format!("{}{}.", f.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}

pub(super) fn uuid(r: &mut Rng) -> String {
    let h = r.hex(32);
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}
