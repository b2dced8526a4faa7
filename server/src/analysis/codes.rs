//! Stable diagnostic codes. They are part of the public contract (README table, CI
//! annotations, suppression by users): never rename one, only add.

use super::severity::Severity;

macro_rules! codes {
    ($($variant:ident => $name:literal, $sev:ident, $doc:literal;)*) => {
        /// Every diagnostic code the engine emits.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant,)* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable code string shown to users.
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name,)* }
            }

            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev,)* }
            }

            /// One line saying what the code means (the README table is generated from this).
            pub fn description(self) -> &'static str {
                match self { $(Code::$variant => $doc,)* }
            }

            pub fn from_name(name: &str) -> Option<Code> {
                match name { $($name => Some(Code::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    // Stage a: Tera syntax.
    TeraSyntax => "tera-syntax", Error, "The template is not valid Tera (1.x) syntax.";
    // Stage b: rendering.
    UndefinedVariable => "undefined-variable", Error, "A template variable is used but defined nowhere: not in [vars], the environment or clnrm's defaults.";
    UnknownFunction => "unknown-function", Error, "A template calls a function, filter, test or macro that neither Tera nor clnrm provides.";
    FunctionError => "function-error", Error, "A template function or filter failed (e.g. env() of an unset variable, a missing argument).";
    TemplateNotFound => "template-not-found", Error, "An imported or included template does not exist inside the workspace.";
    RenderError => "render-error", Error, "The template failed to render for another reason.";
    // Stage c: TOML.
    TomlSyntax => "toml-syntax", Error, "The rendered text is not valid TOML.";
    TomlCompat => "toml-compat", Warning, "TOML syntax that clnrm's own parser rejects or reads differently.";
    // Stage d: schema.
    MissingKey => "missing-key", Error, "A key that clnrm's loader requires is missing.";
    InvalidType => "invalid-type", Error, "A value has the wrong type for its key.";
    InvalidValue => "invalid-value", Error, "A value is outside the allowed set or range.";
    UnknownKey => "unknown-key", Warning, "A key or table clnrm does not know; clnrm ignores it silently, so a typo disables a check.";
    // Stage e: semantic rules.
    MissingMetadata => "missing-metadata", Error, "Neither [meta] nor [test.metadata] gives the test a name.";
    NoTests => "no-tests", Error, "The file defines no [[scenario]] and no [[steps]].";
    EmptyValue => "empty-value", Error, "A name, command or other required value is blank.";
    IncompleteScenario => "incomplete-scenario", Error, "A scenario has nothing to run: no `run`, `service` or `steps`.";
    UndefinedService => "undefined-service", Error, "A scenario or step names a service that no [service.X]/[services.X] table defines.";
    DuplicateName => "duplicate-name", Error, "Two scenarios, steps or services share a name.";
    InvalidRegex => "invalid-regex", Error, "An expected-output pattern is not a valid regular expression.";
    InvalidGlob => "invalid-glob", Error, "A span-name pattern is not a valid glob.";
    InvalidDuration => "invalid-duration", Error, "A duration string or a min/max pair is invalid.";
    UndefinedSpan => "undefined-span", Warning, "A span expectation refers to a parent or span that no expectation defines.";
    OrderingCycle => "ordering-cycle", Error, "Ordering constraints (or service dependencies) form a cycle.";
    InvalidService => "invalid-service", Error, "A service definition clnrm rejects at load time (image, ports, volumes, env).";
    UnknownPlugin => "unknown-plugin", Warning, "A service plugin that `clnrm run` cannot start.";
    RunCompat => "run-compat", Information, "clnrm 1.3.0's `run` treats this differently from what the file says (ignored key, never evaluated expectation).";
    SecretValue => "secret-value", Warning, "A secret-looking env variable has a literal value instead of a `$VAR` reference.";
    NotImplemented => "not-implemented", Error, "A section clnrm 1.3.0 rejects as not implemented (any [performance] section).";
    // Engine limits.
    FileTooLarge => "file-too-large", Warning, "The file is too large to analyse fully.";
    InvalidEncoding => "invalid-encoding", Error, "The file is not valid UTF-8.";
    // Scenario runs (new codes go last: SARIF rule indices stay put) (source `clnrm-run`).
    RunPassed => "run-passed", Information, "The scenario's last run passed (shown on its header).";
    RunFailed => "run-failed", Error, "The scenario's last run failed, timed out or could not start (shown on its header).";
    ExpectationUnmet => "expectation-unmet", Error, "An expectation was not met by the last run: what was expected and what was observed.";
    // Workspace configuration (`.clnrm/config.toml`).
    ConfigInvalid => "config-invalid", Error, "`.clnrm/config.toml` cannot be used (syntax, unknown key, wrong type): the defaults apply.";
    ConfigOutOfRange => "config-out-of-range", Warning, "A `.clnrm/config.toml` value is outside its bound (e.g. `jobs` over 4 per CPU) and the bound is used.";
    // Engine limits, added later (new codes go last: SARIF rule indices stay put).
    RecursionLimit => "recursion-limit", Error, "Macros or includes nest deeper than one render allows (a template that calls or includes itself); the message names the chain.";
    IterationLimit => "iteration-limit", Error, "Loops run more iterations than one render allows.";
    ValueTooLarge => "value-too-large", Error, "A variable, or a filter's or function's result, grows past the size one render allows.";
    OutputTooLarge => "output-too-large", Error, "The template renders more bytes than one render allows.";
    RenderTimeout => "render-timeout", Error, "Rendering took longer than one render allows.";
    TooManyDiagnostics => "too-many-diagnostics", Warning, "A file has more findings than are reported; only the first ones are shown.";
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert_eq!(Code::from_name(code.as_str()), Some(*code));
        }
    }
}
