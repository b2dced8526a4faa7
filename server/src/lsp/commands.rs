//! Every `workspace/executeCommand` command: the advertised list and the names the
//! dispatcher (`handlers/requests/execute_command.rs`) matches on, in one place.

use crate::ide::actions::ScenarioAction;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `[uri, scenario]`: run one scenario now (a cached result is not reused).
    RunScenario,
    /// `[uri]`: run every scenario of a file.
    RunFile,
    /// `[uri, scenario]`: the markdown trace diff against the baseline.
    ShowTraceDiff,
    /// `[uri, scenario]`: record the last trace as the baseline.
    UpdateBaseline,
}

impl Command {
    pub const ALL: [Command; 4] = [
        Command::RunScenario,
        Command::RunFile,
        Command::ShowTraceDiff,
        Command::UpdateBaseline,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Command::RunScenario => "clnrm.runScenario",
            Command::RunFile => "clnrm.runFile",
            Command::ShowTraceDiff => "clnrm.showTraceDiff",
            Command::UpdateBaseline => "clnrm.updateBaseline",
        }
    }

    pub fn parse(id: &str) -> Option<Command> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }

    /// The command that carries out an engine scenario action.
    pub fn for_action(action: ScenarioAction) -> Command {
        match action {
            ScenarioAction::Run => Command::RunScenario,
            ScenarioAction::RecordBaseline => Command::UpdateBaseline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_parses_back_from_its_id() {
        for c in Command::ALL {
            assert_eq!(Command::parse(c.id()), Some(c));
        }
        assert_eq!(Command::parse("clnrm.nope"), None);
    }
}
