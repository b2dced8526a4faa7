//! The client's `clnrm` settings (initializationOptions, workspace/configuration,
//! didChangeConfiguration), as the editor extensions send them.

use serde_json::{json, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct ClientSettings {
    /// Run a file's scenarios when it is saved.
    pub run_on_save: bool,
    /// The client's word on workspace trust: an untrusted workspace runs nothing.
    /// Clients without a notion of trust (Neovim, Helix) don't send it: trusted.
    /// Anything but JSON `true` counts as `false` (fails closed).
    pub trusted: Option<bool>,
    /// The client has spoken (initializationOptions, a configuration reply or the
    /// knowledge that none will come): until then nothing runs.
    pub known: bool,
    /// `[executor]` keys the client overrides, in the config file's shape.
    pub overlay: Value,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            run_on_save: true,
            trusted: None,
            known: false,
            overlay: Value::Null,
        }
    }
}

impl ClientSettings {
    /// Read the settings object; `{ "clnrm": {…} }` and the bare section are both accepted.
    /// Missing or ill-typed keys keep their defaults.
    pub fn from_json(v: &Value) -> Self {
        let v = v.get("clnrm").unwrap_or(v);
        let mut s = Self {
            known: true,
            ..Self::default()
        };
        if let Some(b) = v.get("runOnSave").and_then(Value::as_bool) {
            s.run_on_save = b;
        }
        // `"false"`, `0`, `null`: a wrongly typed answer must not open the door.
        if let Some(t) = v.get("trusted") {
            s.trusted = Some(*t == Value::Bool(true));
        }
        let mut executor = serde_json::Map::new();
        let exec = v.get("executor");
        // `workers: 0` leaves the configured `[executor] jobs` (else the CPU count) in charge.
        if let Some(n) = exec
            .and_then(|e| e.get("workers"))
            .and_then(Value::as_u64)
            .filter(|n| *n > 0)
        {
            executor.insert("jobs".into(), json!(n));
        }
        if let Some(b) = exec
            .and_then(|e| e.get("backend"))
            .and_then(Value::as_str)
            .filter(|b| ["auto", "local", "docker", "podman"].contains(b))
        {
            executor.insert("backend".into(), json!(b));
        }
        if !executor.is_empty() {
            s.overlay = json!({ "executor": executor });
        }
        s
    }

    /// Settings that arrive later keep the earlier word on trust unless they say
    /// otherwise: a reply without `trusted` must not lift a restriction.
    pub fn then(self, newer: ClientSettings) -> ClientSettings {
        ClientSettings {
            trusted: newer.trusted.or(self.trusted),
            known: newer.known || self.known,
            ..newer
        }
    }

    /// The client's trust is known even though it sent nothing (it has no way to).
    pub fn known(self) -> ClientSettings {
        ClientSettings {
            known: true,
            ..self
        }
    }

    /// Whether anything may run (commands included): only once the client's word on
    /// trust is known, and it is not "untrusted".
    pub fn trusted(&self) -> bool {
        self.known && self.trusted != Some(false)
    }

    /// The client said the workspace is not trusted (▶ Run lenses are left out).
    pub fn untrusted(&self) -> bool {
        self.known && self.trusted == Some(false)
    }

    /// Why nothing may run, for logs and command errors.
    pub fn refusal(&self) -> &'static str {
        if self.known {
            "the workspace is not trusted: clnrm runs nothing in it"
        } else {
            "the client's settings have not arrived yet: clnrm runs nothing until it knows whether the workspace is trusted"
        }
    }

    /// Whether saves start runs.
    pub fn runs_on_save(&self) -> bool {
        self.run_on_save && self.trusted()
    }

    pub fn overlay(&self) -> Option<&Value> {
        (!self.overlay.is_null()).then_some(&self.overlay)
    }

    /// Worker count the client asks for (`None`: keep the configured one).
    pub fn workers(&self) -> Option<usize> {
        self.overlay
            .pointer("/executor/jobs")
            .and_then(Value::as_u64)
            .and_then(|n| usize::try_from(n).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_extensions_send() {
        let vscode = json!({ "runOnSave": true, "executor": { "workers": 4, "backend": "docker" }, "trusted": false, "logLevel": "info" });
        let s = ClientSettings::from_json(&vscode);
        assert!(!s.trusted());
        assert!(!s.runs_on_save(), "untrusted never runs");
        // A later reply without `trusted` keeps the restriction.
        let later = s
            .clone()
            .then(ClientSettings::from_json(&json!({ "runOnSave": true })));
        assert!(!later.trusted() && later.run_on_save);
        assert_eq!(s.workers(), Some(4));
        assert_eq!(s.overlay["executor"]["backend"], "docker");

        let helix = json!({ "clnrm": { "runOnSave": false, "executor": { "workers": 0, "backend": "bogus" } } });
        let s = ClientSettings::from_json(&helix);
        assert!(s.trusted() && !s.run_on_save);
        assert_eq!(s.workers(), None);
        // Neither `workers: 0` nor a bogus backend overrides `.clnrm/config.toml`.
        assert_eq!(s.overlay(), None);

        let none = ClientSettings::from_json(&Value::Null);
        assert!(none.runs_on_save());
        assert_eq!(none.overlay(), None);
    }

    #[test]
    fn trust_fails_closed() {
        for bad in [
            json!("false"),
            json!("true"),
            json!(0),
            json!(1),
            Value::Null,
            json!({}),
        ] {
            let s = ClientSettings::from_json(&json!({ "trusted": bad }));
            assert!(!s.trusted() && !s.runs_on_save(), "{bad}");
        }
        assert!(ClientSettings::from_json(&json!({ "trusted": true })).trusted());
        // Nothing heard yet: nothing runs; a client that cannot say is trusted once known.
        let unknown = ClientSettings::default();
        assert!(!unknown.trusted() && !unknown.runs_on_save());
        assert!(unknown.clone().known().runs_on_save());
        // Knowing stays known; a later word without `trusted` keeps the earlier one.
        let told = unknown.then(ClientSettings::from_json(&json!({ "trusted": "yes" })));
        assert!(told.known && !told.trusted());
        let later = told.then(ClientSettings::from_json(&json!({ "runOnSave": true })));
        assert!(!later.trusted());
    }
}
